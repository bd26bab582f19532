// A full disk at the very start of a backup (taking the repository lock) fails as cleanly as a full
// disk later on: a message naming the repository, no empty lock file left to look stale, and an
// entry in history.jsonl (room for it is kept by the repository's reserve file).
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { readAttempts } from '../../src/backup/history.js';
import { openRepository } from '../../src/backup/repository.js';
import { describeError } from '../../src/errors.js';
import { makeTempDir } from '../helpers/pg-cluster.js';

/** Writes zeros until the file system says ENOSPC. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  // Then byte by byte, so not even a partial page is left.
  const fd2 = openSync(path, 'a');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd2);
  }
}

describe('a full disk when the backup takes the repository lock', () => {
  let work: string | undefined;
  let mounted = false;
  afterAll(() => {
    if (mounted && work) execFileSync('umount', [join(work, 'small')]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fails cleanly, leaves no empty lock and is recorded in history.jsonl', async () => {
    work = makeTempDir('drydock-bk-lock-');
    const small = join(work, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    mounted = true;
    const repository = { path: join(small, 'repo'), compression: 'zstd' as const, level: 1, processes: 1 };
    openRepository(repository, { create: true });
    fill(join(small, 'filler'));

    const error = await runPostgresBackup({
      kind: 'full',
      repository,
      // Never reached: the lock comes first.
      connection: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' },
      dataDirectory: join(work, 'nowhere'),
      database: 'postgres',
      verifyTables: [],
      archiveTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(describeError(error)).toMatch(
      new RegExp(`the backup repository ${repository.path} is out of disk space; no backup was started`),
    );
    expect(existsSync(join(repository.path, 'repository.lock'))).toBe(false);
    const attempts = readAttempts(openRepository(repository));
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ kind: 'full', ok: false });
    expect(attempts[0]!.error).toMatch(/ENOSPC/);
  });
});
