// A throwaway redis-server that loads one RDB: its own temp dir, a free port on 127.0.0.1, no
// persistence of its own. Used by the restore test; always stopped and its folder deleted.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { spawnProcess } from '../../adapters/exec.js';
import { connectRedis, type RedisConnection } from '../../adapters/redis.js';
import { DrydockError } from '../../errors.js';
import { freePort } from '../../adapters/free-port.js';

export { freePort };

export interface ScratchRedis {
  port: number;
  conn: RedisConnection;
  /** Milliseconds from spawn to the end of loading. */
  loadMs: number;
  stop(): Promise<void>;
}

export interface ScratchRedisOptions {
  /** The folder holding dump.rdb; deleted by stop(). */
  dir: string;
  redisServer?: string;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts redis-server on `dir/dump.rdb` and waits until it has loaded it. */
export async function startScratchRedis(options: ScratchRedisOptions): Promise<ScratchRedis> {
  const port = await freePort();
  const bin = options.redisServer ?? 'redis-server';
  const t0 = Date.now();
  const { child } = spawnProcess(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      options.dir,
      '--dbfilename',
      'dump.rdb',
      '--save',
      '',
      '--appendonly',
      'no',
      '--logfile',
      '',
    ],
    // The server lives until stop(); the wrapper's timeout is only a backstop against a leak.
    { stdio: ['ignore', 'pipe', 'pipe'], timeoutMs: 24 * 3600_000, detached: false },
  );
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    }
    rmSync(options.dir, { recursive: true, force: true });
  };
  const deadline = t0 + (options.timeoutMs ?? 120_000);
  let conn: RedisConnection | undefined;
  try {
    for (;;) {
      if (spawnError)
        throw new DrydockError(
          'EXEC_FAILED',
          `cannot start ${bin}: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}`,
          { hint: 'install redis-server (Debian package redis-server)' },
        );
      if (child.exitCode !== null || child.signalCode !== null) {
        const lines = output.trim().split('\n').slice(-5).join(' | ');
        throw new DrydockError(
          'VALIDATION_FAILED',
          `the scratch redis-server could not load the RDB and exited: ${lines || `exit ${child.exitCode ?? child.signalCode}`}`,
        );
      }
      if (options.signal?.aborted) throw new DrydockError('ABORTED', 'restore test aborted');
      if (Date.now() > deadline)
        throw new DrydockError(
          'EXEC_FAILED',
          `the scratch redis-server on port ${port} did not finish loading in time`,
        );
      try {
        conn ??= await connectRedis({ host: '127.0.0.1', port }, { connectTimeoutMs: 1000, commandTimeoutMs: 10_000 });
        const persistence = await conn.info('persistence');
        if (persistence.loading === '0') break;
      } catch (error) {
        if (error instanceof DrydockError && error.code !== 'TARGET_UNREACHABLE') throw error;
        if (conn) {
          await conn.close().catch(() => {});
          conn = undefined;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    await conn?.close().catch(() => {});
    await stop();
    throw error;
  }
  const c = conn;
  return {
    port,
    conn: c,
    loadMs: Date.now() - t0,
    async stop() {
      await c.close().catch(() => {});
      await stop();
    },
  };
}
