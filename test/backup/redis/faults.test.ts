// Faults for Redis backups: kill -9 in the middle of a backup (nothing listed, the next backup
// succeeds, takes the stale lock over and removes the partial folder) and a full repository disk.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/adapters/redis.js';
import { checkRedisBackups } from '../../../src/backup/redis/rdb-integrity.js';
import { runRedisBackup } from '../../../src/backup/redis/rdb-backup.js';
import { listRedisBackups } from '../../../src/backup/redis/rdb-store.js';
import { restoreTestRedisBackup } from '../../../src/backup/redis/rdb-restore-test.js';
import { openRepository } from '../../../src/backup/repository.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';

const PROJECT = join(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'drydock-redis-faults-'));
let redis: TestRedis;
let mounted: string | undefined;

beforeAll(async () => {
  // The diskless delay holds the transfer for 2 s: long enough to kill the backup in the middle.
  redis = await startRedis(['--repl-diskless-sync-delay', '2', '--enable-debug-command', 'yes']);
  const conn = await connectRedis({ host: '127.0.0.1', port: redis.port });
  await conn.command(['DEBUG', 'POPULATE', '20000', 'key', '64']);
  await conn.close();
});

afterAll(async () => {
  await redis?.stop();
  if (mounted) execFileSync('umount', [mounted]);
  rmSync(work, { recursive: true, force: true });
});

describe('Redis backup faults', () => {
  it('kill -9 mid-backup lists nothing; the next backup succeeds and clears the partial folder', async () => {
    const repoPath = join(work, 'repo');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT, 'test/backup/redis/fixtures/backup-child.ts'), String(redis.port), repoPath],
      { stdio: 'ignore', cwd: PROJECT },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const folders = join(repoPath, 'redis', 'backups');
    const deadline = Date.now() + 30_000;
    let killed = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if (existsSync(folders) && readdirSync(folders).length > 0) {
        child.kill('SIGKILL');
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await exited;
    expect(killed).toBe(true);
    const repo = openRepository({ path: repoPath, compression: 'zstd', level: 1, processes: 1 });
    expect(listRedisBackups(repo)).toEqual([]);
    const partial = readdirSync(folders);
    expect(partial).toHaveLength(1);

    const record = await runRedisBackup({ repository: repo.settings, target: { host: '127.0.0.1', port: redis.port } });
    expect(readdirSync(folders)).toEqual([record.id]);
    expect(listRedisBackups(repo).map((r) => r.id)).toEqual([record.id]);
    const test = await restoreTestRedisBackup(repo, record);
    expect(test.restored['0']).toEqual({ keys: 20000, expires: 0 });
    expect(test.ok).toBe(true);
  });

  it('a full repository disk fails with a clear message and leaves the kept backup intact', async () => {
    const small = join(work, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    mounted = small;
    const other = await startRedis(['--repl-diskless-sync-delay', '0', '--enable-debug-command', 'yes']);
    try {
      const settings = { path: join(small, 'repo'), compression: 'zstd' as const, level: 1, processes: 1 };
      const kept = await runRedisBackup({ repository: settings, target: { host: '127.0.0.1', port: other.port } });
      const conn = await connectRedis({ host: '127.0.0.1', port: other.port });
      // Random values barely compress: about 6 MiB stored for a 2 MiB disk.
      for (let i = 0; i < 8; i++) await conn.command(['SET', `r${i}`, randomBytes(1024 * 1024).toString('base64')]);
      await conn.close();
      await expect(
        runRedisBackup({ repository: settings, target: { host: '127.0.0.1', port: other.port } }),
      ).rejects.toThrow(/backup repository .* is full: the Redis backup was not kept/);
      const repo = openRepository(settings);
      expect(listRedisBackups(repo).map((r) => r.id)).toEqual([kept.id]);
      expect(readdirSync(join(small, 'repo', 'redis', 'backups'))).toEqual([kept.id]);
      expect(checkRedisBackups(repo).problems).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});
