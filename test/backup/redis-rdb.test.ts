import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupRedis, expireRedisBackups, listRedisBackups, readRedisBackup, restoreTestRedis } from '../../src/backup/redis-rdb.js';
import { openRepository } from '../../src/backup/repository.js';
import { startRedis, type TestRedis } from '../tasks/cache/redis-server.js';

describe('Redis RDB backup over the replication protocol', () => {
  let redis: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'drydock-redis-bk-'));
  const repo = openRepository({ path: join(dir, 'repo'), compression: 'zstd', level: 1, processes: 1 }, { create: true });
  beforeAll(async () => {
    // A Redis that keeps nothing on disk (save '' in the helper) and requires a password.
    redis = await startRedis(['--requirepass', 's3cret']);
    const { createClient } = await import('@redis/client');
    const client = createClient({ socket: { host: '127.0.0.1', port: redis.port }, password: 's3cret' });
    await client.connect();
    for (let i = 0; i < 500; i++) await client.set(`listing:${i}`, `value-${i}-${'x'.repeat(i % 50)}`);
    await client.select(2);
    for (let i = 0; i < 40; i++) await client.hSet(`session:${i}`, { user: String(i), at: '2026-11-26' });
    await client.close();
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes a checksummed snapshot and the restore test loads it with the same key counts', async () => {
    const record = await backupRedis(repo, { host: '127.0.0.1', port: redis.port, password: 's3cret' });
    expect(record.keyspace).toEqual({ db0: 500, db2: 40 });
    expect(record.rdbBytes).toBeGreaterThan(1000);
    expect(readRedisBackup(repo, record).subarray(0, 5).toString()).toBe('REDIS');
    const test = await restoreTestRedis(repo, record);
    expect(test.keyspace).toEqual({ db0: 500, db2: 40 });
    expect(test.problems).toEqual([]);
    expect(listRedisBackups(repo).map((r) => r.id)).toEqual([record.id]);
  });

  it('a wrong password is a clear error; a damaged backup is named', async () => {
    await expect(backupRedis(repo, { host: '127.0.0.1', port: redis.port, password: 'nope' })).rejects.toThrow(/answered AUTH with/);
    const [record] = listRedisBackups(repo);
    const path = join(repo.root, 'redis', `${record!.id}.rdb.zst`);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 1;
    writeFileSync(path, bytes);
    expect(() => readRedisBackup(repo, record!)).toThrow(new RegExp(`Redis backup ${record!.id}: .*damaged`));
  });

  it('expires backups past 7 days but keeps the newest', () => {
    const later = new Date(Date.now() + 8 * 86_400_000);
    expect(expireRedisBackups(repo, later, 7 * 86_400_000)).toEqual([]);
  });
});
