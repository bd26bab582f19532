// Pure decisions of the file backups.
import { describe, expect, it } from 'vitest';
import {
  canReuse,
  isSafeRelativePath,
  referencedBlobs,
  restoreSample,
  selectEntries,
  snapshotTime,
  unreferencedBlobs,
  type SnapshotEntry,
} from '../../../src/backup/files/snapshot-plan.js';
import {
  decideConfigVersion,
  keptConfigVersions,
  type ConfigVersion,
} from '../../../src/backup/files/config-versions.js';

const prev: SnapshotEntry = {
  path: 'a.jpg',
  type: 'file',
  mode: 0o644,
  mtimeMs: 1_000_000,
  size: 10,
  ino: 7,
  sha256: 'ff',
  chunks: ['c1'],
};
const opts = { rehash: false, blobsPresent: true, previousStartedMs: 2_000_000 };

describe('reusing unchanged files', () => {
  it('reuses a file with the same size, mtime and inode', () => {
    expect(canReuse(prev, { size: 10, mtimeMs: 1_000_000, ino: 7 }, opts)).toBe(true);
  });
  it('reads it again when anything differs, a blob is gone or a rehash is asked', () => {
    expect(canReuse(prev, { size: 11, mtimeMs: 1_000_000, ino: 7 }, opts)).toBe(false);
    expect(canReuse(prev, { size: 10, mtimeMs: 1_000_001, ino: 7 }, opts)).toBe(false);
    expect(canReuse(prev, { size: 10, mtimeMs: 1_000_000, ino: 8 }, opts)).toBe(false);
    expect(canReuse(prev, { size: 10, mtimeMs: 1_000_000, ino: 7 }, { ...opts, blobsPresent: false })).toBe(false);
    expect(canReuse(prev, { size: 10, mtimeMs: 1_000_000, ino: 7 }, { ...opts, rehash: true })).toBe(false);
    expect(canReuse(undefined, { size: 10, mtimeMs: 1_000_000, ino: 7 }, opts)).toBe(false);
    expect(canReuse({ ...prev, type: 'symlink' }, { size: 10, mtimeMs: 1_000_000, ino: 7 }, opts)).toBe(false);
  });
  it('reads a file modified within a second of the previous snapshot start (same mtime tick)', () => {
    expect(canReuse(prev, { size: 10, mtimeMs: 1_000_000, ino: 7 }, { ...opts, previousStartedMs: 1_000_500 })).toBe(
      false,
    );
  });
});

describe('garbage collection', () => {
  it('lists blobs no kept snapshot references', () => {
    const kept = referencedBlobs([[{ chunks: ['a', 'b'] }, {}], [{ chunks: ['b', 'c'] }]]);
    expect([...kept].sort()).toEqual(['a', 'b', 'c']);
    expect(unreferencedBlobs(['a', 'b', 'c', 'd', 'e'], kept)).toEqual(['d', 'e']);
  });
});

describe('restore paths', () => {
  it('accepts only relative paths without . or ..', () => {
    for (const ok of ['a', 'a/b.jpg', '.hidden', 'x/..y']) expect(isSafeRelativePath(ok), ok).toBe(true);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a/./b', 'a\\b'])
      expect(isSafeRelativePath(bad), bad).toBe(false);
  });
  it('selects entries under the given paths, with their parent folders', () => {
    const entries = ['u', 'u/1', 'u/1/a.jpg', 'u/2', 'u/2/b.jpg', 'u/10.jpg'].map((path) => ({ path }));
    expect(selectEntries(entries, ['u/1']).map((e) => e.path)).toEqual(['u', 'u/1', 'u/1/a.jpg']);
    expect(selectEntries(entries, undefined)).toHaveLength(6);
  });
  it('reads the time from a snapshot id', () => {
    expect(snapshotTime('20261127-023000U')).toBe('2026-11-27T02:30:00Z');
    expect(snapshotTime('20261127-023000U2')).toBe('2026-11-27T02:30:00Z');
  });
});

describe('configuration versions', () => {
  const v = (version: number, sha256: string): ConfigVersion => ({
    version,
    sha256,
    at: '',
    size: 1,
    mode: 0o644,
    mtimeMs: 0,
    chunks: [],
  });
  it('stores a first version, nothing when unchanged, the next number when changed', () => {
    expect(decideConfigVersion([], 'aa')).toEqual({ store: true, version: 1 });
    expect(decideConfigVersion([v(1, 'aa')], 'aa')).toEqual({ store: false, version: 1 });
    expect(decideConfigVersion([v(1, 'aa'), v(2, 'bb')], 'aa')).toEqual({ store: true, version: 3 });
  });
  it('keeps every version with versioning, only the newest without', () => {
    expect(keptConfigVersions([v(1, 'a'), v(2, 'b')], true)).toHaveLength(2);
    expect(keptConfigVersions([v(1, 'a'), v(2, 'b')], false).map((x) => x.version)).toEqual([2]);
  });
});

describe('sample restore after a snapshot', () => {
  const file = (path: string, size: number): SnapshotEntry => ({ path, type: 'file', mode: 0o644, mtimeMs: 0, size });
  const entries = [
    { ...file('d', 0), type: 'dir' as const },
    ...Array.from({ length: 100 }, (_, i) => file(`d/f${i}`, 10)),
  ];
  it('takes the files read this time first, then spreads over the rest', () => {
    const sample = restoreSample(entries, new Set(['d/f50', 'd/f99']), 5, 1000);
    expect(sample.slice(0, 2)).toEqual(['d/f50', 'd/f99']);
    expect(sample).toHaveLength(5);
    // The other 98 files, 5 taken evenly: every 19.6th.
    expect(sample.slice(2)).toEqual(['d/f0', 'd/f19', 'd/f39']);
  });
  it('keeps within the byte budget but always restores at least one file', () => {
    expect(restoreSample([file('big', 10_000), file('small', 10)], new Set(), 10, 100)).toEqual(['big']);
    expect(restoreSample([file('a', 60), file('b', 60), file('c', 30)], new Set(), 10, 100)).toEqual(['a', 'c']);
    expect(restoreSample([], new Set(), 10, 100)).toEqual([]);
  });
});
