// Pure decisions of file snapshots: which files may reuse the previous snapshot's chunks without
// being read, which blobs no kept snapshot references, where a snapshot entry may be restored.
import { DrydockError } from '../../errors.js';
export interface SnapshotEntry {
  /** Relative to the snapshot's source, "/"-separated, never "..". */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  mtimeMs: number;
  size: number;
  /** Inode at snapshot time, to notice a file replaced by another of the same size and mtime. */
  ino?: number;
  /** SHA-256 of the whole file content (files). */
  sha256?: string;
  /** Blob names of the file's chunks, in order (files). */
  chunks?: string[];
  /** Link target (symlinks). */
  target?: string;
}

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * A file whose size, mtime and inode are those recorded by the previous snapshot is taken as
 * unchanged and reuses its chunks (restic's rule), unless: a rehash was asked for, one of its blobs is
 * gone, or it was modified within the second before the previous snapshot started, when a write in
 * the same mtime tick could have gone unseen.
 */
export function canReuse(
  previous: SnapshotEntry | undefined,
  now: FileStat,
  options: { rehash: boolean; blobsPresent: boolean; previousStartedMs: number },
): boolean {
  if (options.rehash || !options.blobsPresent) return false;
  if (!previous || previous.type !== 'file' || !previous.chunks || previous.sha256 === undefined) return false;
  if (previous.size !== now.size || previous.mtimeMs !== now.mtimeMs || previous.ino !== now.ino) return false;
  return previous.mtimeMs < options.previousStartedMs - 1000;
}

/** Blobs that no kept snapshot or version references: the garbage collection's list. */
export function unreferencedBlobs(all: Iterable<string>, referenced: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const name of all) if (!referenced.has(name)) out.push(name);
  return out;
}

/** Every blob a set of entries references. */
export function referencedBlobs(entryLists: Iterable<ReadonlyArray<{ chunks?: string[] | undefined }>>): Set<string> {
  const out = new Set<string>();
  for (const entries of entryLists) for (const e of entries) for (const c of e.chunks ?? []) out.add(c);
  return out;
}

/** True for a relative, "/"-separated path with no "..", "." or empty segment. */
export function isSafeRelativePath(path: string): boolean {
  if (!path || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false;
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Entries under any of `prefixes` (a path or a folder of the snapshot); all when none is given. */
export function selectEntries<T extends { path: string }>(
  entries: readonly T[],
  prefixes: readonly string[] | undefined,
): T[] {
  if (!prefixes || prefixes.length === 0) return [...entries];
  const clean = prefixes.map((p) => p.replace(/^\/+|\/+$/g, ''));
  return entries.filter((e) =>
    clean.some((p) => p === '' || e.path === p || e.path.startsWith(`${p}/`) || p.startsWith(`${e.path}/`)),
  );
}

/** "20261127-023000U" → its time; ids are made from the UTC time the snapshot started. */
export function snapshotTime(id: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(id);
  if (!m) throw new DrydockError('USAGE', `not a snapshot id: ${id}`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

export function timeStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
}

/**
 * Pure: the files a post-backup restore check restores: files read this time first (new or changed,
 * the ones whose blobs were just written), then others spread evenly over the snapshot, within a
 * count and a byte budget.
 */
export function restoreSample(
  entries: readonly SnapshotEntry[],
  readPaths: ReadonlySet<string>,
  maxFiles: number,
  maxBytes: number,
): string[] {
  const files = entries.filter((e) => e.type === 'file');
  const fresh = files.filter((e) => readPaths.has(e.path));
  const rest = files.filter((e) => !readPaths.has(e.path));
  const step = rest.length > maxFiles ? rest.length / maxFiles : 1;
  const spread: SnapshotEntry[] = [];
  for (let i = 0; i < rest.length && spread.length < maxFiles; i += step) spread.push(rest[Math.floor(i)]!);
  const out: string[] = [];
  let bytes = 0;
  for (const e of [...fresh, ...spread]) {
    if (out.length >= maxFiles) break;
    if (bytes + e.size > maxBytes && out.length > 0) continue;
    out.push(e.path);
    bytes += e.size;
  }
  return out;
}
