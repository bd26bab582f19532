// Asynchronous WAL archiving and prefetch, on pgBackRest's model (archive-async): a spool folder of
// status files, one background process that pushes (or fetches) several files in parallel on
// worker threads, and a foreground `wal push|get` that only checks the spool.
//
// Push. The foreground's answer to PostgreSQL is 0 only when `<spool>/<name>.ok` exists, and the
// pusher writes that file only after the segment is fsynced in the repository (pushWal). The pusher
// reads pg_wal/archive_status/*.ready itself, so it pushes the segments PostgreSQL will ask about
// next, several at a time, before it asks. A crash of the pusher, the foreground or the machine can
// only lose an `.ok` (the segment is pushed again: an identical push is a no-op) or a half-written
// temporary object (never listed); it can never make PostgreSQL remove a segment the repository does
// not hold. `.ok` files stay while the segment's `.ready` file exists (PostgreSQL may ask again after
// a crash) and are removed by the pusher once PostgreSQL has marked the segment done.
//
// Get. The foreground takes `<spool>/<name>` when the prefetcher already fetched and verified it
// (a rename within pg_wal), else fetches it itself; either way it then tells the prefetcher which
// file recovery is at (`<spool>/want`), and the prefetcher keeps the next N segments ready.
// The one child this module starts is the detached background pusher/prefetcher, which must outlive
// the short `wal push|get` that starts it; exec.ts supervises and reaps its children, so it cannot.
// eslint-disable-next-line @typescript-eslint/no-restricted-imports
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  watch,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WalArgs } from './cli.js';
import type { Job, WorkerReply } from './worker.js';

/** How long the foreground push waits for its segment's `.ok` before failing (PostgreSQL retries). */
export const ASYNC_PUSH_TIMEOUT_MS = 120_000;
/** A background process with nothing to do exits after this long. */
export const IDLE_EXIT_MS = 10_000;
const POLL_MS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<dir>/<name>.pid` for this process; false when a live process holds it. */
export function takeLock(dir: string, name: string): boolean {
  const path = join(dir, `${name}.pid`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8').trim() || '0');
      if (pid > 0 && pidAlive(pid)) return false;
      // A stale lock (its process is gone): remove it and try again.
      rmSync(path, { force: true });
    }
  }
  return false;
}

function lockHolderAlive(dir: string, name: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim() || '0');
    return pid > 0 && pidAlive(pid);
  } catch {
    return false;
  }
}

function releaseLock(dir: string, name: string): void {
  try {
    if (readFileSync(join(dir, `${name}.pid`), 'utf8').trim() === String(process.pid))
      unlinkSync(join(dir, `${name}.pid`));
  } catch {
    /* already gone */
  }
}

/** Starts the background process (detached: PostgreSQL waits only for the foreground command). */
function startDaemon(role: 'pusher' | 'prefetcher', args: WalArgs, extra: Record<string, string>): ChildProcess {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'daemon.js');
  const child = spawn(process.execPath, [script, JSON.stringify({ role, args, ...extra })], {
    detached: true,
    stdio: 'ignore',
    cwd: process.cwd(),
  });
  child.unref();
  return child;
}

function writeStatus(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function spoolDir(args: WalArgs): string {
  const dir = resolve(args.spool!);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** archive_command with --async: 0 once the pusher acknowledged the segment, 1 otherwise. */
export async function pushAsync(args: WalArgs, stderr: NodeJS.WritableStream): Promise<number> {
  const spool = spoolDir(args);
  const name = args.second;
  const ok = join(spool, `${name}.ok`);
  const error = join(spool, `${name}.error`);
  const pgWal = dirname(resolve(args.first));
  const deadline = Date.now() + ASYNC_PUSH_TIMEOUT_MS;
  let starts = 0;
  let child: { exited: boolean } | undefined;
  for (;;) {
    if (existsSync(ok)) return 0;
    if (existsSync(error)) {
      const message = readFileSync(error, 'utf8');
      rmSync(error, { force: true });
      stderr.write(`drydock wal push ${name} (async): ${message}\n`);
      return 1;
    }
    if (!lockHolderAlive(spool, 'pusher') && (!child || child.exited)) {
      if (starts >= 3) {
        stderr.write(`drydock wal push ${name} (async): the background pusher stopped without pushing it\n`);
        return 1;
      }
      const state = { exited: false };
      startDaemon('pusher', args, { pgWal }).on('exit', () => (state.exited = true));
      child = state;
      starts++;
    }
    if (Date.now() > deadline) {
      stderr.write(
        `drydock wal push ${name} (async): not acknowledged within ${ASYNC_PUSH_TIMEOUT_MS / 1000} s; PostgreSQL will retry\n`,
      );
      return 1;
    }
    await sleep(POLL_MS);
  }
}

/** restore_command with --prefetch: the prefetched file when there is one, else a direct fetch. */
export async function getWithPrefetch(args: WalArgs, name: string, dest: string): Promise<boolean> {
  const spool = spoolDir(args);
  const ready = join(spool, name);
  let done = false;
  if (existsSync(ready)) {
    try {
      renameSync(ready, dest);
      done = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EXDEV') {
        copyFileSync(ready, dest);
        rmSync(ready, { force: true });
        done = true;
      } else if (code !== 'ENOENT') throw error;
    }
  }
  // Tell the prefetcher (starting it if needed) where recovery is before fetching, so it warms up
  // and fetches the next segments while this process fetches this one.
  if (/^[0-9A-F]{24}$/.test(name)) {
    writeStatus(join(spool, 'want'), name);
    if (!lockHolderAlive(spool, 'prefetcher')) startDaemon('prefetcher', args, {});
  }
  if (!done) {
    const { getWal } = await import('../wal-archive.js');
    const { openWalRepository } = await import('./cli.js');
    if (!getWal(await openWalRepository(args, false), name, dest)) return false;
  }
  return true;
}

/** The `count` segment names after `name` on its timeline (16 MiB segments). */
export function nextSegments(name: string, count: number): string[] {
  const tli = name.slice(0, 8);
  let log = parseInt(name.slice(8, 16), 16);
  let seg = parseInt(name.slice(16, 24), 16);
  const out: string[] = [];
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  for (let i = 0; i < count; i++) {
    seg += 1;
    if (seg > 0xff) {
      seg = 0;
      log += 1;
    }
    out.push(tli + hex(log) + hex(seg));
  }
  return out;
}

class Pool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting = new Map<number, (reply: WorkerReply) => void>();
  private nextId = 1;

  constructor(args: WalArgs, size: number) {
    const url = new URL('./worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData: args });
      worker.on('message', (reply: WorkerReply) => {
        this.idle.push(worker);
        const resolveReply = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        resolveReply?.(reply);
      });
      worker.on('error', () => process.exit(1));
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get free(): number {
    return this.idle.length;
  }

  run(job: Job): Promise<WorkerReply> {
    const worker = this.idle.pop()!;
    const id = this.nextId++;
    return new Promise((resolveReply) => {
      this.waiting.set(id, resolveReply);
      worker.postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The background pusher: pushes every `.ready` segment, `processes` at a time, oldest first. */
export async function runPusher(args: WalArgs, pgWal: string): Promise<void> {
  const spool = spoolDir(args);
  if (!takeLock(spool, 'pusher')) return;
  const pool = new Pool(args, args.processes);
  const inFlight = new Set<string>();
  const retryAfter = new Map<string, number>();
  let lastWork = Date.now();
  const statusDir = join(pgWal, 'archive_status');
  // Woken as soon as PostgreSQL marks a segment ready, so the push starts while PostgreSQL is still
  // starting the archive_command for it; the 50 ms poll is only the fallback.
  let wake: (() => void) | undefined;
  const watcher = watch(statusDir, () => wake?.());
  watcher.on('error', () => undefined);
  const nap = (msTimeout: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, msTimeout);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  try {
    for (;;) {
      const ready = readdirSync(statusDir)
        .filter((f) => f.endsWith('.ready'))
        .map((f) => f.slice(0, -6))
        .sort();
      const readySet = new Set(ready);
      // Acknowledgements PostgreSQL no longer needs (the segment is marked done).
      for (const f of readdirSync(spool))
        if (f.endsWith('.ok') && !readySet.has(f.slice(0, -3))) rmSync(join(spool, f), { force: true });
      const now = Date.now();
      const todo = ready.filter(
        (n) => !inFlight.has(n) && !existsSync(join(spool, `${n}.ok`)) && (retryAfter.get(n) ?? 0) <= now,
      );
      for (const name of todo) {
        if (pool.free === 0) break;
        inFlight.add(name);
        lastWork = Date.now();
        void pool.run({ op: 'push', path: join(pgWal, name), name }).then((reply) => {
          inFlight.delete(name);
          wake?.();
          lastWork = Date.now();
          if (reply.error) {
            retryAfter.set(name, Date.now() + 1000);
            writeStatus(join(spool, `${name}.error`), reply.error);
          } else {
            retryAfter.delete(name);
            rmSync(join(spool, `${name}.error`), { force: true });
            writeStatus(join(spool, `${name}.ok`), `${reply.outcome}\n`);
          }
        });
      }
      if (inFlight.size === 0 && todo.length === 0 && Date.now() - lastWork > IDLE_EXIT_MS) return;
      await nap(50);
    }
  } finally {
    watcher.close();
    await pool.close();
    releaseLock(spool, 'pusher');
  }
}

/** The background prefetcher: keeps the `prefetch` segments after the one recovery is at in the spool. */
export async function runPrefetcher(args: WalArgs): Promise<void> {
  const spool = spoolDir(args);
  if (!takeLock(spool, 'prefetcher')) return;
  const pool = new Pool(args, args.processes);
  const inFlight = new Set<string>();
  const missingUntil = new Map<string, number>();
  // Files this prefetcher put in the spool; one that vanished was taken by recovery (the shell's
  // `mv` in the restore_command takes prefetched files without telling anyone), so recovery is there.
  const fetched = new Set<string>();
  // name → when asked; kept (and its file kept) until recovery takes the file or 60 s pass.
  const requests = new Map<string, number>();
  let want = '';
  let lastChange = Date.now();
  try {
    for (;;) {
      let current = want;
      try {
        current = readFileSync(join(spool, 'want'), 'utf8').trim();
      } catch {
        /* not written yet */
      }
      for (const name of fetched) {
        if (existsSync(join(spool, name))) continue;
        fetched.delete(name);
        requests.delete(name);
        if (/^[0-9A-F]{24}$/.test(name) && name > current) current = name;
      }
      for (const [name, since] of requests) if (Date.now() - since > 60_000) requests.delete(name);
      // Recovery only moves forward (a later timeline's names sort after the earlier one's).
      if (current > want) {
        want = current;
        lastChange = Date.now();
      }
      // Files asked for by `drydock-wal-ack get` (NAME.want): fetched first, or marked missing.
      // A request stays pending until recovery takes its file, it is found missing, or 60 s pass
      // (both workers may be busy when it arrives).
      for (const f of readdirSync(spool)) {
        if (!f.endsWith('.want')) continue;
        const name = f.slice(0, -5);
        rmSync(join(spool, f), { force: true });
        requests.set(name, Date.now());
        lastChange = Date.now();
        if (/^[0-9A-F]{24}$/.test(name) && name > want) want = name;
      }
      const now = Date.now();
      const window = want ? nextSegments(want, args.prefetch) : [];
      const keep = new Set([...window, want, ...requests.keys()]);
      for (const f of readdirSync(spool)) {
        if (/^[0-9A-F]{24}$/.test(f) && !keep.has(f)) {
          rmSync(join(spool, f), { force: true });
          fetched.delete(f);
        }
      }
      for (const [name, until] of missingUntil) {
        if (until > now) continue;
        missingUntil.delete(name);
        rmSync(join(spool, `${name}.missing`), { force: true });
      }
      for (const name of [...requests.keys(), ...window]) {
        if (pool.free === 0) break;
        if (missingUntil.has(name)) requests.delete(name);
        if (inFlight.has(name) || existsSync(join(spool, name)) || missingUntil.has(name)) continue;
        inFlight.add(name);
        void pool.run({ op: 'get', name, dest: join(spool, name) }).then((reply) => {
          inFlight.delete(name);
          // Missing (the end of the archive) or damaged: marked, and left to `wal get`, which
          // fetches it itself and reports damage as a recovery stop.
          if (reply.error || reply.outcome === 'missing') {
            requests.delete(name);
            missingUntil.set(name, Date.now() + 1000);
            writeStatus(join(spool, `${name}.missing`), reply.error ?? 'not archived');
          } else fetched.add(name);
        });
      }
      if (inFlight.size === 0 && Date.now() - lastChange > IDLE_EXIT_MS) return;
      await sleep(inFlight.size > 0 ? 2 : 20);
    }
  } finally {
    await pool.close();
    releaseLock(spool, 'prefetcher');
  }
}
