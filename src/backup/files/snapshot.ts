// Snapshots of a directory (user uploads), deduplicated by content: every file's chunks go to the
// set's blob store, which keeps each distinct chunk once, and a snapshot is a manifest listing every
// entry (path, type, size, mode, mtime, SHA-256, chunks). The manifest is written last, atomically,
// so an interrupted snapshot is never listed; its blobs are collected by the next expiry.
//
//   files/<set>/snapshots/<id>.json.zst   one manifest per snapshot (id = UTC start time + "U")
//   files/<set>/blobs/..                  see blob-store.ts
//   files/<set>/repository.lock           one snapshot or expiry of the set at a time
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readlink, stat, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { DrydockError } from '../../errors.js';
import { fsyncDir } from '../fsync.js';
import { acquireLock } from '../lock.js';
import type { Repository } from '../repository.js';
import { planAgeRetention, type AgePlan } from './age-retention.js';
import {
  BlobWriter,
  deleteBlobs,
  hasBlob,
  listBlobs,
  openBlobStore,
  readDocument,
  writeDocument,
  type BlobStore,
} from './blob-store.js';
import { storeFile, writeStoredFile } from './file-io.js';
import { storageError } from './storage-error.js';
import {
  canReuse,
  isSafeRelativePath,
  referencedBlobs,
  selectEntries,
  snapshotTime,
  timeStamp,
  unreferencedBlobs,
  type SnapshotEntry,
} from './snapshot-plan.js';

export interface SnapshotStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Bytes of file content in the snapshot. */
  bytes: number;
  /** Files read this time (new or changed), and files whose chunks were reused without reading. */
  readFiles: number;
  readBytes: number;
  reusedFiles: number;
  newBlobs: number;
  newStoredBytes: number;
  /** Special files (sockets, fifos, devices) left out. */
  skipped: string[];
  /** Paths of the files read this time (new or changed), up to 1000. */
  readPaths: string[];
}

export interface SnapshotManifest {
  format: 'drydock-files-snapshot';
  version: 1;
  id: string;
  set: string;
  source: string;
  startedAt: string;
  finishedAt: string;
  entries: SnapshotEntry[];
  stats: SnapshotStats;
}

export function snapshotsDir(store: BlobStore): string {
  return join(store.root, 'snapshots');
}

function manifestPath(store: BlobStore, id: string): string {
  return join(snapshotsDir(store), `${id}.json.zst`);
}

/** Snapshot ids of a set, oldest first. */
export function listSnapshotIds(store: BlobStore): string[] {
  const dir = snapshotsDir(store);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json.zst'))
    .map((n) => n.slice(0, -'.json.zst'.length))
    .sort();
}

export function readSnapshot(store: BlobStore, id: string): SnapshotManifest {
  return readDocument<SnapshotManifest>(store, manifestPath(store, id), `snapshot ${id} (${id}.json.zst)`);
}

/** A repository view rooted at the set's folder, so the shared lock helper locks this set only. */
function lockScope(store: BlobStore): Repository {
  return { ...store.repo, root: store.root };
}

function newSnapshotId(store: BlobStore, at: Date): string {
  const stamp = timeStamp(at);
  let id = `${stamp}U`;
  for (let n = 1; existsSync(manifestPath(store, id)); n++) id = `${stamp}U${n}`;
  return id;
}

interface WalkItem {
  rel: string;
  abs: string;
}

/** Every entry under root, parents before children, names sorted. */
async function* walk(root: string, rel = ''): AsyncGenerator<WalkItem> {
  const names = (await readdir(rel ? join(root, rel) : root)).sort();
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    yield { rel: r, abs: join(root, r) };
  }
}

export interface TakeSnapshotOptions {
  set?: string;
  source: string;
  at: Date;
  rehash?: boolean;
  signal?: AbortSignal | undefined;
  log?: (line: string) => void;
}

export async function takeSnapshot(repo: Repository, options: TakeSnapshotOptions): Promise<SnapshotManifest> {
  const store = openBlobStore(repo, options.set ?? 'uploads');
  let rootStat;
  try {
    rootStat = await stat(options.source);
  } catch (error) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `the directory to back up, ${options.source}, cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      {
        hint: 'check backup.files.user_uploads.path',
      },
    );
  }
  if (!rootStat.isDirectory())
    throw new DrydockError('CONFIG_INVALID', `${options.source} is not a directory`, {
      hint: 'check backup.files.user_uploads.path',
    });
  mkdirSync(snapshotsDir(store), { recursive: true });
  const release = acquireLock(lockScope(store), `a snapshot of ${options.source}`);
  try {
    const previousId = listSnapshotIds(store).at(-1);
    let previous: Map<string, SnapshotEntry> = new Map();
    let previousStartedMs = 0;
    if (previousId) {
      try {
        const p = readSnapshot(store, previousId);
        previous = new Map(p.entries.map((e) => [e.path, e]));
        previousStartedMs = Date.parse(p.startedAt);
      } catch (error) {
        options.log?.(`previous snapshot unreadable, every file is read again: ${(error as Error).message}`);
      }
    }
    const id = newSnapshotId(store, options.at);
    const writer = new BlobWriter(store);
    const entries: SnapshotEntry[] = [];
    const stats: SnapshotStats = {
      files: 0,
      dirs: 0,
      symlinks: 0,
      bytes: 0,
      readFiles: 0,
      readBytes: 0,
      reusedFiles: 0,
      newBlobs: 0,
      newStoredBytes: 0,
      skipped: [],
      readPaths: [],
    };
    const dirsToVisit: string[] = [''];
    while (dirsToVisit.length) {
      const dir = dirsToVisit.shift()!;
      const children: string[] = [];
      for await (const item of walk(options.source, dir)) {
        options.signal?.throwIfAborted();
        let st;
        try {
          st = await lstat(item.abs);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted while we walked
          throw error;
        }
        const base = { path: item.rel, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
        if (st.isDirectory()) {
          entries.push({ ...base, type: 'dir', size: 0 });
          stats.dirs++;
          children.push(item.rel);
        } else if (st.isSymbolicLink()) {
          entries.push({ ...base, type: 'symlink', size: 0, target: await readlink(item.abs) });
          stats.symlinks++;
        } else if (st.isFile()) {
          const prev = previous.get(item.rel);
          const reuse = canReuse(
            prev,
            { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
            {
              rehash: options.rehash ?? false,
              blobsPresent: (prev?.chunks ?? []).every((c) => hasBlob(store, c)),
              previousStartedMs,
            },
          );
          if (reuse && prev) {
            entries.push({
              ...base,
              type: 'file',
              size: prev.size,
              ino: st.ino,
              sha256: prev.sha256!,
              chunks: prev.chunks!,
            });
            stats.reusedFiles++;
          } else {
            let stored;
            try {
              stored = await storeFile(writer, item.abs, options.signal);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
              throw error;
            }
            entries.push({
              ...base,
              type: 'file',
              size: stored.size,
              ino: st.ino,
              sha256: stored.sha256,
              chunks: stored.chunks,
            });
            stats.readFiles++;
            stats.readBytes += stored.size;
            if (stats.readPaths.length < 1000) stats.readPaths.push(item.rel);
          }
          stats.files++;
          stats.bytes += entries[entries.length - 1]!.size;
        } else {
          stats.skipped.push(item.rel);
        }
      }
      dirsToVisit.unshift(...children);
    }
    writer.sync();
    stats.newBlobs = writer.newBlobs;
    stats.newStoredBytes = writer.newStoredBytes;
    const manifest: SnapshotManifest = {
      format: 'drydock-files-snapshot',
      version: 1,
      id,
      set: options.set ?? 'uploads',
      source: options.source,
      startedAt: options.at.toISOString(),
      finishedAt: new Date().toISOString(),
      entries,
      stats,
    };
    writeDocument(store, manifestPath(store, id), manifest);
    options.log?.(
      `snapshot ${id}: ${stats.files} file(s), ${stats.bytes} bytes; read ${stats.readFiles} file(s), reused ${stats.reusedFiles}; ${stats.newBlobs} new blob(s), ${stats.newStoredBytes} bytes stored`,
    );
    return manifest;
  } catch (error) {
    throw storageError(
      error,
      repo.root,
      `the snapshot of ${options.source}`,
      'free space in the repository or shorten backup.files.user_uploads.retention',
    );
  } finally {
    release();
  }
}

export interface SnapshotExpiry {
  plan: AgePlan;
  removedSnapshots: string[];
  removedBlobs: number;
  freedBytes: number;
}

/**
 * Deletes snapshots past retention (always keeping the newest), then every blob no kept snapshot
 * references. If any kept manifest cannot be read, no blob is deleted: what it references is unknown.
 */
export function expireSnapshots(
  repo: Repository,
  now: Date,
  keepMs: number,
  options: { set?: string; dryRun?: boolean } = {},
): SnapshotExpiry {
  const store = openBlobStore(repo, options.set ?? 'uploads');
  const ids = listSnapshotIds(store);
  const plan = planAgeRetention(
    ids.map((id) => ({ id, at: snapshotTime(id) })),
    now,
    keepMs,
  );
  if (options.dryRun) return { plan, removedSnapshots: [], removedBlobs: 0, freedBytes: 0 };
  mkdirSync(snapshotsDir(store), { recursive: true });
  const release = acquireLock(lockScope(store), 'snapshot expiry');
  try {
    for (const id of plan.expire) rmSync(manifestPath(store, id), { force: true });
    if (plan.expire.length) fsyncDir(snapshotsDir(store));
    const kept = plan.keep.map((id) => {
      try {
        return readSnapshot(store, id).entries;
      } catch (error) {
        throw new DrydockError('VALIDATION_FAILED', `blob collection skipped: ${(error as Error).message}`, {
          details: { snapshot: id },
        });
      }
    });
    const doomed = unreferencedBlobs(listBlobs(store), referencedBlobs(kept));
    const freedBytes = deleteBlobs(store, doomed);
    return { plan, removedSnapshots: plan.expire, removedBlobs: doomed.length, freedBytes };
  } finally {
    release();
  }
}

export interface RestoreSnapshotResult {
  snapshot: string;
  to: string;
  files: number;
  bytes: number;
  durationMs: number;
}

/**
 * Restores a snapshot (or the paths under `paths`) into `to`, which must be absent or empty. Every
 * chunk is checked against its name and every file against its SHA-256; modes and mtimes are set.
 */
export async function restoreSnapshot(
  repo: Repository,
  id: string,
  to: string,
  options: { set?: string; paths?: string[] } = {},
): Promise<RestoreSnapshotResult> {
  const t0 = Date.now();
  const store = openBlobStore(repo, options.set ?? 'uploads');
  if (!listSnapshotIds(store).includes(id))
    throw new DrydockError('CONFIG_INVALID', `no snapshot ${id}`, { hint: 'list them with listUploadsSnapshots' });
  if (existsSync(to) && readdirSync(to).length > 0)
    throw new DrydockError('CONFIG_INVALID', `${to} is not empty; restore into a new or empty directory`);
  let manifest: SnapshotManifest;
  try {
    manifest = readSnapshot(store, id);
  } catch (error) {
    throw new DrydockError('VALIDATION_FAILED', (error as Error).message);
  }
  const entries = selectEntries(manifest.entries, options.paths);
  for (const e of entries)
    if (!isSafeRelativePath(e.path))
      throw new DrydockError('VALIDATION_FAILED', `snapshot ${id} holds an unsafe path ${JSON.stringify(e.path)}`);
  await mkdir(to, { recursive: true });
  let files = 0;
  let bytes = 0;
  for (const e of entries) {
    const abs = join(to, e.path);
    if (e.type === 'dir') {
      await mkdir(abs, { recursive: true, mode: 0o700 });
    } else if (e.type === 'symlink') {
      await mkdir(join(abs, '..'), { recursive: true });
      await symlink(e.target!, abs);
    } else {
      await mkdir(join(abs, '..'), { recursive: true });
      const handle = await open(abs, 'wx', 0o600);
      try {
        await writeStoredFile(
          store,
          { chunks: e.chunks ?? [], sha256: e.sha256 ?? '', size: e.size },
          async (chunk) => {
            let done = 0;
            while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
          },
          `snapshot ${id}: ${e.path}`,
        );
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(abs, e.mode);
      await utimes(abs, e.mtimeMs / 1000, e.mtimeMs / 1000);
      files++;
      bytes += e.size;
    }
  }
  // Folders last, deepest first: a read-only folder mode must not stop the files going in.
  for (const e of [...entries].reverse()) {
    if (e.type !== 'dir') continue;
    const abs = join(to, e.path);
    await chmod(abs, e.mode);
    await utimes(abs, e.mtimeMs / 1000, e.mtimeMs / 1000);
  }
  return { snapshot: id, to, files, bytes, durationMs: Date.now() - t0 };
}
