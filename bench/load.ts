// A fixed background load for the backup benches (`--load`): one CPU burner per core and one
// writer that rewrites 256 MiB with fsync in a loop, so "loaded" figures mean the same thing from
// one run to the next. Every figure is printed with the load average next to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

export interface Load {
  stop(): void;
}

/** Starts the burners (detached process groups, killed by stop()). */
export function startLoad(dir: string): Load {
  const children: ChildProcess[] = [];
  for (let i = 0; i < cpus().length; i++)
    children.push(
      spawn(process.execPath, ['-e', 'for (;;) Math.sqrt(Math.random())'], { stdio: 'ignore', detached: true }),
    );
  const file = join(dir, 'load-io.bin');
  children.push(
    spawn('bash', ['-c', `while :; do dd if=/dev/zero of=${file} bs=1M count=256 conv=fsync status=none; done`], {
      stdio: 'ignore',
      detached: true,
    }),
  );
  return {
    stop() {
      for (const child of children) {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      rmSync(file, { force: true });
    },
  };
}

/** `--load` on the command line or BENCH_LOAD=1. */
export function loadRequested(): boolean {
  return process.argv.includes('--load') || process.env.BENCH_LOAD === '1';
}
