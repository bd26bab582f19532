// Redis backups against real servers: throwaway redis-servers (password, several databases, keys
// with a TTL, diskless and disk-based transfers) and the shared local Redis, which keeps nothing on
// disk. Each backup is restore-tested by loading it into another throwaway redis-server.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/adapters/redis.js';
import { duration } from '../../helpers/phrases.js';
import { readAttempts } from '../../../src/backup/history.js';
import { checkRedisBackups } from '../../../src/backup/redis/rdb-integrity.js';
import { expireRedisBackups } from '../../../src/backup/redis/rdb-expire.js';
import { runRedisBackup } from '../../../src/backup/redis/rdb-backup.js';
import {
  listRedisBackups,
  RDB_FILE,
  redisBackupDir,
  type RedisBackupRecord,
} from '../../../src/backup/redis/rdb-store.js';
import { restoreTestRedisBackup } from '../../../src/backup/redis/rdb-restore-test.js';
import { openRepository, type Repository, type RepositorySettings } from '../../../src/backup/repository.js';
import type { ImplementedTask } from '../../../src/engine/types.js';
import { testApp } from '../../helpers/app.js';
import { cacheBackupTask } from '../../../src/tasks/backup/redis-backup.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';

const PASSWORD = 'pw-S3cret with spaces & $ymbols';
let work: string;
let diskless: TestRedis;
let diskBased: TestRedis;

function repoSettings(name: string, extra: Partial<RepositorySettings> = {}): RepositorySettings {
  return { path: join(work, name), compression: 'zstd', level: 1, processes: 1, ...extra };
}

async function fill(port: number, password?: string): Promise<void> {
  const env = { REDIS_TEST_PW: password ?? '' };
  const conn = await connectRedis(
    { host: '127.0.0.1', port, ...(password ? { password: { env: 'REDIS_TEST_PW' } } : {}) },
    { env },
  );
  try {
    // db0: 5000 plain keys and 20 with a long TTL; db3: 120 hashes; db7: a list, a set, a sorted set, a stream.
    for (let i = 0; i < 5000; i += 500) {
      const args = ['MSET'];
      for (let j = i; j < i + 500; j++) args.push(`k:${j}`, `value-${j}-${'x'.repeat(j % 50)}`);
      await conn.command(args);
    }
    for (let i = 0; i < 20; i++) await conn.command(['SET', `ttl:${i}`, 'v', 'EX', '3600']);
    await conn.command(['SELECT', '3']);
    for (let i = 0; i < 120; i++) await conn.command(['HSET', `h:${i}`, 'a', String(i), 'b', 'text'.repeat(i % 20)]);
    await conn.command(['SELECT', '7']);
    await conn.command(['RPUSH', 'list', 'a', 'b', 'c']);
    await conn.command(['SADD', 'set', '1', '2', '3']);
    await conn.command(['ZADD', 'zset', '1', 'one', '2.5', 'two']);
    await conn.command(['XADD', 'stream', '*', 'field', 'value']);
  } finally {
    await conn.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drydock-redis-bk-'));
  [diskless, diskBased] = await Promise.all([
    startRedis(['--requirepass', PASSWORD, '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0']),
    startRedis(['--repl-diskless-sync', 'no']),
  ]);
  await Promise.all([fill(diskless.port, PASSWORD), fill(diskBased.port)]);
});

afterAll(async () => {
  await Promise.all([diskless?.stop(), diskBased?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** A task that restore-tests one given backup, so the engine's retry decision can be watched. */
function restoreTask(repo: Repository, record: RedisBackupRecord): ImplementedTask {
  return {
    id: 't.redis-restore-test',
    title: 'restore-test one Redis backup',
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: () => ({ kind: 'manual', text: 'manual' }),
    resources: () => [],
    execute: async (ctx) => restoreTestRedisBackup(repo, record, { signal: ctx.signal }),
    validate: async () => ({ ok: true, checks: [] }),
  };
}

describe('cache.backup task', () => {
  it('backs up a password-protected Redis (diskless transfer), restore-tests it with exact key counts, and never shows the password', async () => {
    process.env.DRYDOCK_TEST_REDIS_PW = PASSWORD;
    const policy = testPolicy({
      targets: { redis: { host: '127.0.0.1', port: diskless.port, password: { env: 'DRYDOCK_TEST_REDIS_PW' } } },
      backup: { repository: { path: join(work, 'task-repo') } },
    });
    const ctx = testContext(policy, 'cache.backup');
    const record = await cacheBackupTask.execute(ctx);
    expect(record.transfer).toBe('diskless');
    expect(record.keyspaceBefore).toEqual({
      '0': { keys: 5020, expires: 20 },
      '3': { keys: 120, expires: 0 },
      '7': { keys: 4, expires: 0 },
    });
    expect(record.rdbVersion).toBeGreaterThanOrEqual(9);
    expect(record.storedSize).toBeGreaterThan(0);
    const validation = await cacheBackupTask.validate(ctx, record);
    expect(validation.ok, JSON.stringify(validation.checks)).toBe(true);
    expect(validation.checks.map((c) => c.detail)).toEqual(
      expect.arrayContaining([
        'db0: 5020 key(s) restored, expected 5000-5020',
        'db3: 120 key(s) restored, expected 120',
      ]),
    );
    const everything = JSON.stringify({
      steps: ctx.steps.map((s) => [s.name, s.output, JSON.stringify(s.error ?? '')]),
      summaries: ctx.summaries,
      validation,
      record,
    });
    expect(everything).not.toContain(PASSWORD);
    const repoText =
      readFileSync(join(work, 'task-repo', 'redis', 'catalog', `${record.id}.json`), 'utf8') +
      readFileSync(join(work, 'task-repo', 'history.jsonl'), 'utf8');
    expect(repoText).not.toContain(PASSWORD);
    expect(cacheBackupTask.schedule(policy)).toMatchObject({ kind: 'cron' });
  });

  it('takes a disk-based transfer ($<length> form) from a server with repl-diskless-sync no', async () => {
    const settings = repoSettings('disk-repo');
    const record = await runRedisBackup({ repository: settings, target: { host: '127.0.0.1', port: diskBased.port } });
    expect(record.transfer).toBe('disk');
    const test = await restoreTestRedisBackup(openRepository(settings), record);
    expect(test.ok, JSON.stringify(test.databases)).toBe(true);
    expect(test.restored['7']).toEqual({ keys: 4, expires: 0 });
  });

  it('works against the local Redis that runs with --save "" (nothing on disk)', async () => {
    const conn = await connectRedis({ host: '127.0.0.1', port: 6379 });
    const prefix = `drydock-test:rdb:${process.pid}:`;
    try {
      const save = (await conn.command(['CONFIG', 'GET', 'save'])) as unknown;
      expect(Array.isArray(save) ? save[1] : (save as Record<string, string>).save).toBe('');
      await conn.command(['MSET', ...Array.from({ length: 200 }, (_, i) => [`${prefix}${i}`, 'v']).flat()]);
      const settings = repoSettings('local-repo');
      const record = await runRedisBackup({ repository: settings, target: { host: '127.0.0.1', port: 6379 } });
      expect(record.rdbBytes).toBeGreaterThan(200 * 10);
      const test = await restoreTestRedisBackup(openRepository(settings), record);
      // Other tests share this server, so the count may move; ours are in it.
      expect(test.restored['0']?.keys ?? 0).toBeGreaterThanOrEqual(200);
    } finally {
      await conn.command(['DEL', ...Array.from({ length: 200 }, (_, i) => `${prefix}${i}`)]);
      await conn.close();
    }
  });
});

describe('encryption and least privilege', () => {
  it('stores the RDB encrypted in an encrypted repository and restore-tests it', async () => {
    const settings = repoSettings('enc-repo', { encryptionKey: 'a passphrase for the repository' });
    const record = await runRedisBackup({ repository: settings, target: { host: '127.0.0.1', port: diskBased.port } });
    expect(record.encrypted).toBe(true);
    const stored = readFileSync(join(redisBackupDir(openRepository(settings), record.id), RDB_FILE));
    // A zstd frame starts with 28 b5 2f fd; an encrypted one with a random IV.
    expect(stored.subarray(0, 4).toString('hex')).not.toBe('28b52ffd');
    const test = await restoreTestRedisBackup(openRepository(settings), record);
    expect(test.ok).toBe(true);
  });

  it('a user without the replication commands gets a hint naming them; with them the backup works', async () => {
    const server = await startRedis(['--repl-diskless-sync-delay', '0']);
    try {
      const admin = await connectRedis({ host: '127.0.0.1', port: server.port });
      await admin.command(['ACL', 'SETUSER', 'reader', 'on', '>reader-pw', '~*', '+info']);
      await admin.command(['ACL', 'SETUSER', 'backup', 'on', '>backup-pw', '+info', '+psync', '+replconf', '+sync']);
      await admin.command(['SET', 'x', '1']);
      await admin.close();
      const env = { R_PW: 'reader-pw', B_PW: 'backup-pw' };
      const error = await runRedisBackup({
        repository: repoSettings('acl-repo'),
        target: { host: '127.0.0.1', port: server.port, username: 'reader', password: { env: 'R_PW' } },
        env,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'TARGET_AUTH_FAILED',
        hint: expect.stringContaining('+psync +replconf +sync'),
      });
      const record = await runRedisBackup({
        repository: repoSettings('acl-repo'),
        target: { host: '127.0.0.1', port: server.port, username: 'backup', password: { env: 'B_PW' } },
        env,
      });
      expect(record.keyspaceAfter).toEqual({ '0': { keys: 1, expires: 0 } });
    } finally {
      await server.stop();
    }
  });
});

describe('failures', () => {
  it('a wrong password fails with TARGET_AUTH_FAILED, lists nothing and records a failed attempt', async () => {
    const settings = repoSettings('auth-repo');
    const error = await runRedisBackup({
      repository: settings,
      target: { host: '127.0.0.1', port: diskless.port, password: { env: 'WRONG_PW' } },
      env: { WRONG_PW: 'nope' },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_AUTH_FAILED' });
    const repo = openRepository(settings);
    expect(listRedisBackups(repo)).toEqual([]);
    expect(readAttempts(repo)).toEqual([expect.objectContaining({ kind: 'redis', ok: false })]);
  });

  it('an unreachable server fails naming host:port', async () => {
    const error = await runRedisBackup({
      repository: repoSettings('down-repo'),
      target: { host: '127.0.0.1', port: 1, connect_timeout: duration('1 second') },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_UNREACHABLE' });
    expect((error as Error).message).toContain('127.0.0.1:1');
  });

  it('a flipped byte, a truncated file and a deleted file are each reported by name, and the restore test refuses them', async () => {
    const settings = repoSettings('damage-repo', { level: 3 });
    const target = { host: '127.0.0.1', port: diskBased.port };
    const records: RedisBackupRecord[] = [];
    for (let i = 0; i < 3; i++) records.push(await runRedisBackup({ repository: settings, target }));
    const repo = openRepository(settings);
    expect(checkRedisBackups(repo).problems).toEqual([]);
    const [flip, cut, gone] = records.map((r) => join(redisBackupDir(repo, r.id), RDB_FILE));
    const bytes = readFileSync(flip!);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(flip!, bytes);
    truncateSync(cut!, Math.floor(readFileSync(cut!).length / 2));
    rmSync(gone!);
    const problems = checkRedisBackups(repo).problems;
    expect(problems.map((p) => p.backup).sort()).toEqual(records.map((r) => `redis/${r.id}`).sort());
    expect(problems.find((p) => p.backup === `redis/${records[0]!.id}`)!.problem).toMatch(/part 0 is damaged/);
    expect(problems.find((p) => p.backup === `redis/${records[1]!.id}`)!.problem).toMatch(/part 0 is truncated/);
    expect(problems.find((p) => p.backup === `redis/${records[2]!.id}`)!.problem).toMatch(/missing/);
    await expect(restoreTestRedisBackup(repo, records[0]!)).rejects.toThrow(new RegExp(`${records[0]!.id}.*damaged`));
    // Run by the engine, the damaged part fails the run once: trying again cannot repair it.
    const app = await testApp({ engine: { retry: { attempts: 3 } } }, { tasks: [restoreTask(repo, records[0]!)] });
    try {
      const run = await app.engine.run('t.redis-restore-test', { trigger: 'manual' });
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/part 0 is damaged/);
      expect(await app.store.claimDueRetries(new Date(Date.now() + 86_400_000), 'x')).toEqual([]);
      const kinds = (await app.store.listActivity({ taskId: 't.redis-restore-test' })).map((a) => a.kind);
      expect(kinds).toContain('run.not_retried');
    } finally {
      await app.dispose();
    }
  });
});

describe('retention and interrupted backups', () => {
  it('expires backups past 7 days but keeps the newest, and a new backup clears an interrupted folder', async () => {
    const settings = repoSettings('retention-repo');
    const target = { host: '127.0.0.1', port: diskBased.port };
    const day = 86_400_000;
    const t = Date.parse('2026-11-01T02:00:00Z');
    for (const d of [0, 5, 9]) await runRedisBackup({ repository: settings, target, now: () => new Date(t + d * day) });
    const repo = openRepository(settings);
    // A backup killed mid-transfer leaves a folder with no catalog entry.
    const partial = redisBackupDir(repo, '20261111-000000R');
    mkdirSync(partial, { recursive: true });
    appendFileSync(join(partial, RDB_FILE), 'partial');
    expect(listRedisBackups(repo)).toHaveLength(3);
    const result = expireRedisBackups(repo, new Date(t + 13 * day), 7 * day);
    expect(result.removed).toEqual(['20261101-020000R', '20261106-020000R']);
    expect(result.removedPartials).toEqual(['20261111-000000R']);
    expect(existsSync(partial)).toBe(false);
    expect(listRedisBackups(repo).map((r) => r.id)).toEqual(['20261110-020000R']);
    expect(checkRedisBackups(repo).problems).toEqual([]);
  });
});
