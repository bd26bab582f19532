// The Redis and file backup commands, through commander, against a real repository and a throwaway
// redis-server.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/adapters/redis.js';
import { registerFilesBackupCommands } from '../../../src/backup/files/cli.js';
import { openBlobStore, listBlobs, blobPath } from '../../../src/backup/files/blob-store.js';
import { openRepository } from '../../../src/backup/repository.js';
import type { Policy } from '../../../src/policy/schema.js';
import { cacheBackupTask } from '../../../src/tasks/backup/redis-backup.js';
import { configurationBackupTask, userUploadsBackupTask } from '../../../src/tasks/backup/files-backup.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';

let work: string;
let redis: TestRedis;
let policy: Policy;

async function cli(...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command('drydock').exitOverride();
  registerFilesBackupCommands(program.command('backup'), () => policy, { out: (t) => lines.push(t) });
  await program.parseAsync(['node', 'drydock', 'backup', ...args]);
  return lines;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drydock-files-cli-'));
  redis = await startRedis(['--repl-diskless-sync-delay', '0']);
  const conn = await connectRedis({ host: '127.0.0.1', port: redis.port });
  await conn.command(['MSET', 'a', '1', 'b', '2', 'c', '3']);
  await conn.close();
  mkdirSync(join(work, 'uploads'));
  writeFileSync(join(work, 'uploads', 'one.txt'), 'one');
  writeFileSync(join(work, 'app.yml'), 'v: 1\n');
  policy = testPolicy({
    targets: { redis: { host: '127.0.0.1', port: redis.port } },
    backup: {
      repository: { path: join(work, 'repo') },
      files: { user_uploads: { path: join(work, 'uploads') }, configuration: { paths: [join(work, 'app.yml')] } },
    },
  });
});

afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('backup commands', () => {
  it('list, restore and verify every kind, and report damage with a failing exit code', async () => {
    const redisRecord = await cacheBackupTask.execute(testContext(policy));
    const snapshot = await userUploadsBackupTask.execute(testContext(policy));
    await configurationBackupTask.execute(testContext(policy));
    writeFileSync(join(work, 'app.yml'), 'v: 2\n');
    await configurationBackupTask.execute(testContext(policy));

    expect(await cli('config', 'versions')).toEqual([
      expect.stringMatching(/app\.yml {2}v1 /),
      expect.stringMatching(/app\.yml {2}v2 /),
    ]);
    expect((await cli('config', 'restore', join(work, 'app.yml'), '1'))[0]).toMatch(/restored .*app\.yml version 1/);
    expect(readFileSync(join(work, 'app.yml'), 'utf8')).toBe('v: 1\n');

    expect((await cli('uploads', 'list'))[0]).toContain(snapshot.id);
    expect((await cli('uploads', 'restore', snapshot.id, '--to', join(work, 'out')))[0]).toMatch(/restored 1 file/);
    expect(readFileSync(join(work, 'out', 'one.txt'), 'utf8')).toBe('one');

    expect((await cli('redis', 'list'))[0]).toMatch(new RegExp(`${redisRecord.id} .*db0=3`));
    await cli('redis', 'restore', redisRecord.id, '--to', join(work, 'dump.rdb'));
    expect(readFileSync(join(work, 'dump.rdb')).subarray(0, 5).toString()).toBe('REDIS');
    expect(await cli('redis', 'test')).toEqual([
      'ok   db0: 3 key(s) restored, expected 3',
      expect.stringMatching(/restore test passed/),
    ]);

    expect((await cli('verify-files')).at(-1)).toMatch(
      /1 Redis backup\(s\), 1 upload snapshot\(s\), 1 configuration file history\(ies\), \d+ blob\(s\): all good/,
    );
    // Every command also prints one JSON document with --json.
    const json = async (...args: string[]) => {
      const out = await cli(...args, '--json');
      expect(out).toHaveLength(1);
      return JSON.parse(out[0]!) as Record<string, unknown> & Array<Record<string, unknown>>;
    };
    expect((await json('config', 'versions')).map((v) => v.version)).toEqual([1, 2]);
    expect(await json('config', 'restore', join(work, 'app.yml'), '2')).toMatchObject({ version: 2 });
    expect((await json('uploads', 'list'))[0]).toMatchObject({ id: snapshot.id, files: 1 });
    expect(await json('uploads', 'restore', snapshot.id, '--to', join(work, 'out-json'))).toMatchObject({ files: 1 });
    expect((await json('redis', 'list'))[0]).toMatchObject({ id: redisRecord.id });
    expect(await json('redis', 'restore', redisRecord.id, '--to', join(work, 'dump-json.rdb'))).toMatchObject({
      id: redisRecord.id,
    });
    expect(await json('redis', 'test')).toMatchObject({ backup: redisRecord.id, ok: true });
    expect(await json('verify-files')).toMatchObject({ problems: [] });

    const store = openBlobStore(
      openRepository({ path: join(work, 'repo'), compression: 'zstd', level: 1, processes: 1 }),
      'uploads',
    );
    rmSync(blobPath(store, listBlobs(store)[0]!));
    process.exitCode = 0;
    const out = await cli('verify-files');
    expect(out[0]).toMatch(/^DAMAGED files\/uploads blobs\/.* is missing; used by .*one\.txt/);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
  });
});
