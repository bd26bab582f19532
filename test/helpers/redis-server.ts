// Starts a real redis-server on a free port in a temp dir, for tests that need their own settings.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis } from '../../src/adapters/redis.js';
import { freePort } from '../../src/adapters/free-port.js';

export { freePort };

export interface TestRedis {
  port: number;
  host: string;
  process: ChildProcess;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}

export async function startRedis(args: string[] = [], fixedPort?: number): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-redis-'));
  const port = fixedPort ?? (await freePort());
  const child = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const c = await connectRedis({ host: '127.0.0.1', port }, { connectTimeoutMs: 1000 });
      await c.close();
      break;
    } catch (error) {
      // A server with requirepass answers, so it is up.
      if ((error as { code?: string }).code === 'TARGET_AUTH_FAILED') break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopped = false;
  return {
    port,
    host: '127.0.0.1',
    process: child,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill('SIGCONT');
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
