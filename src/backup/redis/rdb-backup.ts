// One Redis backup: INFO keyspace, a full snapshot over the replication protocol streamed into the
// repository part by part (compressed, checksummed, encrypted when the repository is), INFO
// keyspace again, then the catalog entry, written last. A failure leaves no listed backup.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectRedis, redisConnectTimeoutMs, redisTargetName, type RedisTargetConfig } from '../../adapters/redis.js';
import { DrydockError } from '../../errors.js';
import { resolveSecret } from '../../policy/secrets.js';
import { recordAttempt } from '../history.js';
import { acquireLock } from '../lock.js';
import { openRepository, type Repository, type RepositorySettings } from '../repository.js';
import { readRdbSnapshot } from './psync.js';
import {
  newRedisBackupId,
  parseKeyspace,
  RDB_FILE,
  RdbWriter,
  redisBackupDir,
  redisLockScope,
  unlistedRedisFolders,
  writeRedisCatalogEntry,
  type Keyspace,
  type RedisBackupRecord,
} from './rdb-store.js';

export interface RedisBackupOptions {
  repository: RepositorySettings;
  target: RedisTargetConfig;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  log?: (line: string) => void;
  now?: () => Date;
}

async function keyspaceOf(target: RedisTargetConfig, env: NodeJS.ProcessEnv | undefined): Promise<Keyspace> {
  const conn = await connectRedis(target, env ? { env } : {});
  try {
    return parseKeyspace(await conn.info('keyspace'));
  } finally {
    await conn.close();
  }
}

function storageError(error: unknown, repo: Repository): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DrydockError(
      'EXEC_FAILED',
      `the backup repository ${repo.root} is full: the Redis backup was not kept`,
      {
        hint: 'free space in the repository or shorten cache.backup.retention',
        cause: error,
      },
    );
  }
  return error;
}

/** Deletes folders of interrupted Redis backups; the caller holds the Redis lock. */
export function removeRedisPartials(repo: Repository): string[] {
  const partials = unlistedRedisFolders(repo);
  for (const id of partials) rmSync(redisBackupDir(repo, id), { recursive: true, force: true });
  return partials;
}

export async function runRedisBackup(options: RedisBackupOptions): Promise<RedisBackupRecord> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  const repo = openRepository(options.repository, { create: true });
  const release = acquireLock(redisLockScope(repo), 'a Redis backup');
  const started = now();
  const t0 = Date.now();
  const id = newRedisBackupId(repo, started);
  const dir = redisBackupDir(repo, id);
  let writer: RdbWriter | undefined;
  try {
    const removed = removeRedisPartials(repo);
    if (removed.length) log(`removed interrupted Redis backup folder(s): ${removed.join(', ')}`);
    const target = options.target;
    const name = redisTargetName(target);
    const keyspaceBefore = await keyspaceOf(target, options.env);
    const password = resolveSecret(target.password, 'targets.redis.password', options.env);
    mkdirSync(dir, { recursive: true });
    writer = new RdbWriter(join(dir, RDB_FILE), repo.settings.level, repo.key);
    const w = writer;
    const snapshot = await readRdbSnapshot(
      {
        host: target.host,
        port: target.port,
        username: target.username,
        password,
        connectTimeoutMs: redisConnectTimeoutMs(target),
      },
      { onData: (chunk) => w.write(chunk), signal: options.signal, log },
    );
    const stored = writer.finish();
    writer = undefined;
    const keyspaceAfter = await keyspaceOf(target, options.env);
    const record: RedisBackupRecord = {
      format: 'drydock-redis-backup',
      version: 1,
      id,
      target: name,
      startedAt: started.toISOString(),
      stoppedAt: now().toISOString(),
      durationMs: Date.now() - t0,
      replid: snapshot.replid,
      offset: snapshot.offset,
      transfer: snapshot.transfer,
      rdbVersion: stored.rdbVersion,
      rdbBytes: stored.rawBytes,
      rdbSha256: stored.rawSha256,
      storedSize: stored.storedSize,
      parts: stored.parts,
      keyspaceBefore,
      keyspaceAfter,
      compression: { type: 'zstd', level: repo.settings.level },
      encrypted: repo.key !== undefined,
    };
    writeRedisCatalogEntry(repo, record);
    log(`stored ${record.rdbBytes} bytes of RDB as ${record.storedSize} bytes in ${record.parts.length} part(s)`);
    recordAttempt(repo, { at: record.stoppedAt, kind: 'redis', ok: true, id, storedSize: record.storedSize });
    return record;
  } catch (error) {
    writer?.abort();
    rmSync(dir, { recursive: true, force: true });
    const reported = storageError(error, repo);
    recordAttempt(repo, {
      at: now().toISOString(),
      kind: 'redis',
      ok: false,
      error: (reported as Error)?.message ?? String(reported),
    });
    throw reported;
  } finally {
    release();
  }
}
