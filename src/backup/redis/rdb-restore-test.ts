// The Redis restore test: read a backup back from the repository (every part checked), write it as
// dump.rdb in a temp folder, load it into a throwaway redis-server and compare the key count of every
// database with what was recorded at backup time. The server is stopped and the folder deleted
// whatever happens.
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DrydockError } from '../../errors.js';
import type { Repository } from '../repository.js';
import { compareKeyCounts, type DbComparison } from './key-counts.js';
import { parseKeyspace, readRedisBackup, type Keyspace, type RedisBackupRecord } from './rdb-store.js';
import { startScratchRedis } from './scratch-redis.js';

export interface RedisRestoreTestResult {
  backup: string;
  ok: boolean;
  restored: Keyspace;
  databases: DbComparison[];
  /** Time to read, verify and write the RDB, and for redis-server to load it. */
  readMs: number;
  loadMs: number;
  rdbBytes: number;
}

export interface RedisRestoreTestOptions {
  redisServer?: string;
  /** Parent folder for the scratch folder (default: the system temp dir). */
  scratchParent?: string;
  signal?: AbortSignal | undefined;
  log?: (line: string) => void;
}

export async function restoreTestRedisBackup(
  repo: Repository,
  record: RedisBackupRecord,
  options: RedisRestoreTestOptions = {},
): Promise<RedisRestoreTestResult> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(options.scratchParent ?? tmpdir(), 'drydock-redis-restore-'));
  try {
    const t0 = Date.now();
    const fd = openSync(join(dir, 'dump.rdb'), 'w', 0o600);
    try {
      readRedisBackup(repo, record, (chunk) => {
        let done = 0;
        while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
      });
    } catch (error) {
      throw new DrydockError(
        'VALIDATION_FAILED',
        `Redis backup ${record.id} cannot be read back: ${(error as Error).message}`,
        { cause: error, details: { backup: record.id } },
      );
    } finally {
      closeSync(fd);
    }
    const readMs = Date.now() - t0;
    log(`read and verified ${record.parts.length} part(s), ${record.rdbBytes} bytes, in ${readMs} ms`);
    const server = await startScratchRedis({ dir, redisServer: options.redisServer, signal: options.signal });
    try {
      const restored = parseKeyspace(await server.conn.info('keyspace'));
      const databases = compareKeyCounts(record.keyspaceBefore, record.keyspaceAfter, restored);
      log(`loaded into a scratch redis-server on port ${server.port} in ${server.loadMs} ms`);
      return {
        backup: record.id,
        ok: databases.every((d) => d.ok),
        restored,
        databases,
        readMs,
        loadMs: server.loadMs,
        rdbBytes: record.rdbBytes,
      };
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a backup's RDB, verified, to `to` (a new file), for a manual restore: stop Redis, put the
 * file in its `dir` as its `dbfilename`, start it (with appendonly no, or Redis loads the AOF instead).
 */
export function restoreRedisBackupToFile(repo: Repository, record: RedisBackupRecord, to: string): { bytes: number } {
  const tmp = `${to}.drydock-restore-${process.pid}`;
  const fd = openSync(tmp, 'wx', 0o600);
  let bytes = 0;
  try {
    readRedisBackup(repo, record, (chunk) => {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
      bytes += chunk.length;
    });
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new DrydockError(
      'VALIDATION_FAILED',
      `Redis backup ${record.id} cannot be read back: ${(error as Error).message}`,
      { cause: error },
    );
  }
  closeSync(fd);
  if (existsSync(to)) {
    rmSync(tmp, { force: true });
    throw new DrydockError('CONFIG_INVALID', `${to} exists; choose a new file name`);
  }
  renameSync(tmp, to);
  return { bytes };
}
