// Faults for upload snapshots: kill -9 in the middle of a snapshot (nothing listed, the repository
// stays readable, the next snapshot succeeds and expiry collects the orphans) and a full repository
// disk (a clear error, nothing kept harmed).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listBlobs, openBlobStore } from '../../../src/backup/files/blob-store.js';
import { checkFileBackups } from '../../../src/backup/files/files-integrity.js';
import { expireSnapshots, listSnapshotIds, restoreSnapshot, takeSnapshot } from '../../../src/backup/files/snapshot.js';
import { openRepository } from '../../../src/backup/repository.js';

const PROJECT = join(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'drydock-files-faults-'));
let mounted: string | undefined;

afterAll(() => {
  if (mounted) execFileSync('umount', [mounted]);
  rmSync(work, { recursive: true, force: true });
});

describe('kill -9 in the middle of a snapshot', () => {
  it('lists nothing partial, and the next snapshot succeeds, takes the stale lock over and the orphans are collected', async () => {
    const src = join(work, 'uploads');
    mkdirSync(src);
    for (let i = 0; i < 40; i++)
      writeFileSync(join(src, `f${String(i).padStart(2, '0')}.bin`), randomBytes(3 * 1024 * 1024));
    const repoPath = join(work, 'repo');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT, 'test/backup/files/fixtures/snapshot-child.ts'), src, repoPath],
      { stdio: 'ignore', cwd: PROJECT },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const blobsDir = join(repoPath, 'files', 'uploads', 'blobs');
    const deadline = Date.now() + 30_000;
    let killed = false;
    while (Date.now() < deadline) {
      const count = existsSync(blobsDir) ? readdirSync(blobsDir).length : 0;
      if (count >= 3) {
        child.kill('SIGKILL');
        killed = true;
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await exited;
    expect(killed).toBe(true);

    const repo = openRepository({ path: repoPath, compression: 'zstd', level: 1, processes: 1 });
    const store = openBlobStore(repo, 'uploads');
    expect(listSnapshotIds(store)).toEqual([]);
    expect(existsSync(join(store.root, 'repository.lock'))).toBe(true);
    const orphans = listBlobs(store).length;
    expect(orphans).toBeGreaterThan(0);
    expect(orphans).toBeLessThan(40);
    expect(checkFileBackups(repo).problems).toEqual([]);

    const s = await takeSnapshot(repo, { source: src, at: new Date() });
    expect(s.stats.files).toBe(40);
    // The blobs the killed run finished are reused by content.
    expect(s.stats.newBlobs).toBeLessThanOrEqual(40 - orphans);
    const out = join(work, 'restored');
    await restoreSnapshot(repo, s.id, out);
    expect(readFileSync(join(out, 'f07.bin')).equals(readFileSync(join(src, 'f07.bin')))).toBe(true);

    // A second killed run's orphans are collected by the next expiry.
    writeFileSync(join(src, 'extra.bin'), randomBytes(1000));
    const before = listBlobs(store).length;
    const child2 = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT, 'test/backup/files/fixtures/snapshot-child.ts'), src, repoPath],
      { stdio: 'ignore', cwd: PROJECT },
    );
    await new Promise<void>((resolve) => child2.once('exit', () => resolve()));
    const [, second] = listSnapshotIds(store);
    rmSync(join(store.root, 'snapshots', `${second}.json.zst`)); // as if killed before its manifest
    expect(listBlobs(store).length).toBe(before + 1);
    const r = expireSnapshots(repo, new Date(), 90 * 86_400_000);
    expect(r.removedBlobs).toBe(1);
    expect(checkFileBackups(repo).problems).toEqual([]);
  });
});

describe('a full repository disk', () => {
  it('fails with a clear message and leaves the kept snapshot restorable', async () => {
    const small = join(work, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    mounted = small;
    const repo = openRepository(
      { path: join(small, 'repo'), compression: 'zstd', level: 1, processes: 1 },
      { create: true },
    );
    const src = join(work, 'uploads-full');
    mkdirSync(src);
    writeFileSync(join(src, 'small.bin'), randomBytes(100_000));
    const kept = await takeSnapshot(repo, { source: src, at: new Date('2026-11-26T02:30:00Z') });
    writeFileSync(join(src, 'big.bin'), randomBytes(6 * 1024 * 1024));
    await expect(takeSnapshot(repo, { source: src, at: new Date('2026-11-27T02:30:00Z') })).rejects.toThrow(
      /backup repository .* is full: the snapshot of .* was not kept/,
    );
    const store = openBlobStore(repo, 'uploads');
    expect(listSnapshotIds(store)).toEqual([kept.id]);
    const out = join(work, 'restored-full');
    await restoreSnapshot(repo, kept.id, out);
    expect(readFileSync(join(out, 'small.bin')).equals(readFileSync(join(src, 'small.bin')))).toBe(true);
    expect(checkFileBackups(repo).problems).toEqual([]);
    // No half-written temp file is left taking the space.
    const leftovers = (readdirSync(store.blobs, { recursive: true }) as string[]).filter((n) => n.includes('.tmp-'));
    expect(leftovers).toEqual([]);
  });
});
