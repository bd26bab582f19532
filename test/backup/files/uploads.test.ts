// User upload snapshots on real files: deduplication, restore (content, modes, mtimes, symlinks),
// retention with blob collection, damage reported by name, encryption, and the task itself.
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, CHUNK_SIZE, listBlobs, openBlobStore } from '../../../src/backup/files/blob-store.js';
import { checkFileBackups } from '../../../src/backup/files/files-integrity.js';
import { expireSnapshots, listSnapshotIds, restoreSnapshot, takeSnapshot } from '../../../src/backup/files/snapshot.js';
import { storeUsage } from '../../../src/backup/files/usage.js';
import { openRepository, type Repository } from '../../../src/backup/repository.js';
import { userUploadsBackupTask } from '../../../src/tasks/backup/files-backup.js';
import { testContext, testPolicy } from '../../helpers/context.js';

let work: string;
const day = 86_400_000;

function newRepo(name: string, encryptionKey?: string): Repository {
  return openRepository(
    { path: join(work, name), compression: 'zstd', level: 1, processes: 1, encryptionKey },
    { create: true },
  );
}

/** An uploads folder: nested folders, an empty file, a 9 MiB file (3 chunks), two files with the same content, a symlink, odd modes. */
function makeUploads(dir: string): void {
  mkdirSync(join(dir, 'listings/42'), { recursive: true });
  mkdirSync(join(dir, 'avatars'), { recursive: true });
  mkdirSync(join(dir, 'empty-folder'));
  writeFileSync(join(dir, 'listings/42/photo1.jpg'), randomBytes(300_000));
  writeFileSync(join(dir, 'listings/42/video.mp4'), randomBytes(2 * CHUNK_SIZE + 1000));
  const same = randomBytes(50_000);
  writeFileSync(join(dir, 'avatars/u1.png'), same);
  writeFileSync(join(dir, 'avatars/u2.png'), same);
  writeFileSync(join(dir, 'avatars/empty.txt'), '');
  writeFileSync(join(dir, 'notes.txt'), 'hello '.repeat(10_000));
  chmodSync(join(dir, 'notes.txt'), 0o600);
  chmodSync(join(dir, 'avatars'), 0o750);
  symlinkSync('listings/42/photo1.jpg', join(dir, 'cover.jpg'));
  const old = new Date('2025-01-02T03:04:05Z');
  for (const f of [
    'listings/42/photo1.jpg',
    'listings/42/video.mp4',
    'avatars/u1.png',
    'avatars/u2.png',
    'avatars/empty.txt',
    'notes.txt',
  ])
    utimesSync(join(dir, f), old, old);
}

/** path → [type, mode, size, mtime, content hash or link target] for every entry of a tree. */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (readdirSync(root, { recursive: true }) as string[]).sort()) {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(abs)}`;
    else if (st.isDirectory()) out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
    else
      out[rel] =
        `file ${(st.mode & 0o7777).toString(8)} ${st.size} ${Math.round(st.mtimeMs)} ${readFileSync(abs).toString('base64').slice(0, 40)}`;
  }
  return out;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'drydock-files-bk-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('upload snapshots', () => {
  it('stores identical content once, restores the tree exactly, and stores only what changed next time', async () => {
    const src = join(work, 'uploads-a');
    makeUploads(src);
    const repo = newRepo('repo-a');
    const t0 = new Date('2026-11-20T02:30:00Z');
    const s1 = await takeSnapshot(repo, { source: src, at: t0 });
    expect(s1.stats).toMatchObject({ files: 6, dirs: 4, symlinks: 1, readFiles: 6, reusedFiles: 0 });
    // photo, 3 video chunks, one avatar blob for two files, notes; the empty file has no chunk.
    expect(s1.stats.newBlobs).toBe(6);
    const store = openBlobStore(repo, 'uploads');
    expect(listBlobs(store)).toHaveLength(6);

    const out1 = join(work, 'restore-a1');
    const r1 = await restoreSnapshot(repo, s1.id, out1);
    expect(r1.files).toBe(6);
    expect(describeTree(out1)).toEqual(describeTree(src));

    // Change one file, append to the big one, add one, delete one.
    writeFileSync(join(src, 'notes.txt'), 'changed');
    appendFileSync(join(src, 'listings/42/video.mp4'), randomBytes(100));
    writeFileSync(join(src, 'avatars/u3.png'), readFileSync(join(src, 'avatars/u1.png')));
    rmSync(join(src, 'listings/42/photo1.jpg'));
    const s2 = await takeSnapshot(repo, { source: src, at: new Date(t0.getTime() + day) });
    expect(s2.stats).toMatchObject({ files: 6, readFiles: 3, reusedFiles: 3 });
    // notes.txt's new content and the video's last chunk; u3 has u1's content, already stored.
    expect(s2.stats.newBlobs).toBe(2);

    const out2 = join(work, 'restore-a2');
    await restoreSnapshot(repo, s2.id, out2);
    expect(describeTree(out2)).toEqual(describeTree(src));
    // The first snapshot still restores what was there then.
    const out1b = join(work, 'restore-a1b');
    await restoreSnapshot(repo, s1.id, out1b, { paths: ['listings/42'] });
    expect(
      readFileSync(join(out1b, 'listings/42/photo1.jpg')).equals(readFileSync(join(out1, 'listings/42/photo1.jpg'))),
    ).toBe(true);
    expect(existsSync(join(out1b, 'notes.txt'))).toBe(false);

    const usage = storeUsage(store, [s1.id, s2.id]);
    expect(usage.ratio).toBeGreaterThan(1.8);
    await expect(restoreSnapshot(repo, s1.id, out1)).rejects.toThrow(/not empty/);
    expect(checkFileBackups(repo).problems).toEqual([]);
  });

  it('expires snapshots past 90 days, collects only the blobs no kept snapshot uses, and skips collection when a kept manifest is damaged', async () => {
    const src = join(work, 'uploads-b');
    mkdirSync(src);
    const repo = newRepo('repo-b');
    const store = openBlobStore(repo, 'uploads');
    const now = new Date('2026-11-27T02:30:00Z');
    writeFileSync(join(src, 'kept.bin'), randomBytes(10_000));
    writeFileSync(join(src, 'gone.bin'), randomBytes(10_000));
    const old = await takeSnapshot(repo, { source: src, at: new Date(now.getTime() - 120 * day) });
    const goneBlob = old.entries.find((e) => e.path === 'gone.bin')!.chunks![0]!;
    const keptBlob = old.entries.find((e) => e.path === 'kept.bin')!.chunks![0]!;
    rmSync(join(src, 'gone.bin'));
    const mid = await takeSnapshot(repo, { source: src, at: new Date(now.getTime() - 30 * day) });
    const last = await takeSnapshot(repo, { source: src, at: now });
    const r = expireSnapshots(repo, now, 90 * day);
    expect(r.removedSnapshots).toEqual([old.id]);
    expect(r.removedBlobs).toBe(1);
    expect(existsSync(blobPath(store, goneBlob))).toBe(false);
    expect(existsSync(blobPath(store, keptBlob))).toBe(true);
    expect(listSnapshotIds(store)).toEqual([mid.id, last.id]);
    await restoreSnapshot(repo, mid.id, join(work, 'restore-b'));
    expect(readFileSync(join(work, 'restore-b/kept.bin')).equals(readFileSync(join(src, 'kept.bin')))).toBe(true);

    // An orphan blob (an interrupted snapshot) and a damaged kept manifest: nothing is collected.
    writeFileSync(join(src, 'orphan.bin'), randomBytes(1000));
    const orphanSnap = await takeSnapshot(repo, { source: src, at: new Date(now.getTime() + 1000) });
    rmSync(join(store.root, 'snapshots', `${orphanSnap.id}.json.zst`));
    const manifest = join(store.root, 'snapshots', `${mid.id}.json.zst`);
    const bytes = readFileSync(manifest);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(manifest, bytes);
    const before = listBlobs(store).length;
    expect(() => expireSnapshots(repo, now, 90 * day)).toThrow(new RegExp(`blob collection skipped.*${mid.id}`));
    expect(listBlobs(store)).toHaveLength(before);
  });

  it('reports a flipped byte, a truncated blob, a deleted blob and a damaged manifest by name; restore refuses the damaged file', async () => {
    const src = join(work, 'uploads-c');
    mkdirSync(src);
    for (const name of ['a', 'b', 'c', 'd']) writeFileSync(join(src, `${name}.bin`), randomBytes(20_000));
    const repo = newRepo('repo-c');
    const store = openBlobStore(repo, 'uploads');
    const s = await takeSnapshot(repo, { source: src, at: new Date('2026-11-27T02:30:00Z') });
    const s2 = await takeSnapshot(repo, { source: src, at: new Date('2026-11-28T02:30:00Z') });
    const blobOf = (p: string) => s.entries.find((e) => e.path === p)!.chunks![0]!;
    const flip = blobPath(store, blobOf('a.bin'));
    const b = readFileSync(flip);
    b[Math.floor(b.length / 2)]! ^= 0x10;
    writeFileSync(flip, b);
    truncateSync(blobPath(store, blobOf('b.bin')), 100);
    rmSync(blobPath(store, blobOf('c.bin')));
    const m2 = join(store.root, 'snapshots', `${s2.id}.json.zst`);
    writeFileSync(m2, readFileSync(m2).subarray(0, 30));
    const problems = checkFileBackups(repo).problems;
    const text = problems.map((p) => `${p.backup} ${p.file} ${p.problem}`);
    expect(problems).toHaveLength(4);
    expect(text.find((t) => t.includes(blobOf('a.bin')))).toMatch(/damaged.*a\.bin/);
    expect(text.find((t) => t.includes(blobOf('b.bin')))).toMatch(/damaged.*b\.bin/);
    expect(text.find((t) => t.includes(blobOf('c.bin')))).toMatch(/missing.*c\.bin/);
    expect(text.find((t) => t.includes(`${s2.id}.json.zst`))).toMatch(/damaged/);
    await expect(restoreSnapshot(repo, s.id, join(work, 'restore-c'))).rejects.toThrow(
      /a\.bin: blob [0-9a-f]{64} is damaged/,
    );
  });

  it('in an encrypted repository names blobs by HMAC and stores no plaintext', async () => {
    const src = join(work, 'uploads-d');
    mkdirSync(src);
    const secret = 'PLAINTEXT-MARKER-'.repeat(100);
    writeFileSync(join(src, 'doc.txt'), secret);
    const repo = newRepo('repo-d', 'f'.repeat(64));
    const s = await takeSnapshot(repo, { source: src, at: new Date('2026-11-27T02:30:00Z') });
    const store = openBlobStore(repo, 'uploads');
    const [blob] = listBlobs(store);
    expect(blob).not.toBe(s.entries[0]!.sha256);
    for (const f of readdirSync(join(repo.root, 'files'), { recursive: true }) as string[]) {
      const abs = join(repo.root, 'files', f);
      if (statSync(abs).isFile()) expect(readFileSync(abs).toString('latin1')).not.toContain('PLAINTEXT-MARKER');
    }
    await restoreSnapshot(repo, s.id, join(work, 'restore-d'));
    expect(readFileSync(join(work, 'restore-d/doc.txt'), 'utf8')).toBe(secret);
    expect(checkFileBackups(repo).problems).toEqual([]);
  });
});

describe('backup.files.user_uploads task', () => {
  it('snapshots the configured directory, validates it and reports figures; a missing directory fails clearly', async () => {
    const src = join(work, 'uploads-e');
    makeUploads(src);
    const policy = testPolicy({
      backup: { repository: { path: join(work, 'repo-e') }, files: { user_uploads: { path: src } } },
    });
    const ctx = testContext(policy, 'backup.files.user_uploads');
    const manifest = await userUploadsBackupTask.execute(ctx);
    expect(manifest.stats.files).toBe(6);
    const validation = await userUploadsBackupTask.validate(ctx, manifest);
    expect(validation.ok, JSON.stringify(validation.checks)).toBe(true);
    expect(validation.checks.find((c) => c.name === 'sample restore')?.detail).toMatch(
      /^6 file\(s\), \d+ bytes restored and matched/,
    );
    expect(ctx.figures['uploads_backup.files']).toEqual({ value: 6, unit: 'files' });
    expect(ctx.findStep('expire upload snapshots')?.ok).toBe(true);
    expect(userUploadsBackupTask.schedule(policy)).toMatchObject({ kind: 'cron' });

    const missing = testPolicy({
      backup: { repository: { path: join(work, 'repo-e') }, files: { user_uploads: { path: join(work, 'nope') } } },
    });
    await expect(userUploadsBackupTask.execute(testContext(missing))).rejects.toThrow(/nope, cannot be read: ENOENT/);
    const history = readFileSync(join(work, 'repo-e', 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; ok: boolean });
    expect(history.map((h) => [h.kind, h.ok])).toEqual([
      ['files.user_uploads', true],
      ['files.user_uploads', false],
    ]);
    expect(relative(work, src)).toBe('uploads-e');
  });
});
