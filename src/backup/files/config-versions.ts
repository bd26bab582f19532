// Versioned configuration files: each run stores a new version of a file only when its content
// changed since its newest version. Content goes to the "config" blob store (so two files, or two
// versions, with the same content share their blobs); each file has a version history:
//
//   files/config/history/<first 32 hex of SHA-256 of the path>.json.zst   ConfigHistory
//   files/config/blobs/..                                                 see blob-store.ts
//
// A history is rewritten atomically after the new version's blobs are durable.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DrydockError } from '../../errors.js';
import { fsyncDir } from '../fsync.js';
import { acquireLock } from '../lock.js';
import type { Repository } from '../repository.js';
import {
  BlobWriter,
  deleteBlobs,
  listBlobs,
  openBlobStore,
  readDocument,
  writeDocument,
  type BlobStore,
} from './blob-store.js';
import { storeFile, writeStoredFile } from './file-io.js';
import { storageError } from './storage-error.js';
import { referencedBlobs, unreferencedBlobs } from './snapshot-plan.js';

export interface ConfigVersion {
  version: number;
  /** When this version was stored. */
  at: string;
  size: number;
  mode: number;
  mtimeMs: number;
  sha256: string;
  chunks: string[];
}

export interface ConfigHistory {
  format: 'drydock-config-history';
  path: string;
  versions: ConfigVersion[];
}

export type ConfigFileStatus = 'new' | 'unchanged' | 'missing';

export interface ConfigFileResult {
  path: string;
  status: ConfigFileStatus;
  /** The newest version after this run (absent when the file never existed). */
  version?: number | undefined;
  error?: string | undefined;
}

/** Pure: store a new version only when the content differs from the newest one. */
export function decideConfigVersion(
  versions: readonly ConfigVersion[],
  currentSha256: string,
): { store: boolean; version: number } {
  const latest = versions[versions.length - 1];
  if (latest && latest.sha256 === currentSha256) return { store: false, version: latest.version };
  return { store: true, version: (latest?.version ?? 0) + 1 };
}

/** Pure: with versioning off only the newest version is kept. */
export function keptConfigVersions(versions: readonly ConfigVersion[], versioning: boolean): ConfigVersion[] {
  return versioning ? [...versions] : versions.slice(-1);
}

function configStore(repo: Repository): BlobStore {
  const store = openBlobStore(repo, 'config');
  mkdirSync(join(store.root, 'history'), { recursive: true });
  return store;
}

function historyPath(store: BlobStore, path: string): string {
  const key = createHash('sha256').update(path).digest('hex').slice(0, 32);
  return join(store.root, 'history', `${key}.json.zst`);
}

function readHistory(store: BlobStore, path: string): ConfigHistory {
  const file = historyPath(store, path);
  if (!existsSync(file)) return { format: 'drydock-config-history', path, versions: [] };
  return readDocument<ConfigHistory>(store, file, `version history of ${path}`);
}

/** Every history in the store. A damaged one is returned as an error naming its file. */
export function readAllHistories(store: BlobStore): Array<{ file: string; history?: ConfigHistory; error?: string }> {
  const dir = join(store.root, 'history');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json.zst'))
    .sort()
    .map((n) => {
      try {
        return { file: n, history: readDocument<ConfigHistory>(store, join(dir, n), `history/${n}`) };
      } catch (error) {
        return { file: n, error: (error as Error).message };
      }
    });
}

function lockScope(store: BlobStore): Repository {
  return { ...store.repo, root: store.root };
}

async function sha256OfFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  const hash = createHash('sha256');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (!bytesRead) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function versionOne(
  store: BlobStore,
  writer: BlobWriter,
  path: string,
  at: Date,
  versioning: boolean,
): Promise<ConfigFileResult> {
  const history = readHistory(store, path);
  let st;
  try {
    st = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { path, status: 'missing', version: history.versions.at(-1)?.version, error: `${path} does not exist` };
    throw error;
  }
  if (!st.isFile())
    return {
      path,
      status: 'missing',
      version: history.versions.at(-1)?.version,
      error: `${path} is not a regular file`,
    };
  // Hash first: an unchanged file costs one read and writes nothing.
  const decision = decideConfigVersion(history.versions, await sha256OfFile(path));
  if (!decision.store) return { path, status: 'unchanged', version: decision.version };
  const stored = await storeFile(writer, path);
  // The file may have changed between the two reads; what is recorded is what was stored.
  const next = decideConfigVersion(history.versions, stored.sha256);
  if (!next.store) return { path, status: 'unchanged', version: next.version };
  writer.sync();
  const version: ConfigVersion = {
    version: next.version,
    at: at.toISOString(),
    size: stored.size,
    mode: st.mode & 0o7777,
    mtimeMs: st.mtimeMs,
    sha256: stored.sha256,
    chunks: stored.chunks,
  };
  writeDocument(store, historyPath(store, path), {
    ...history,
    versions: keptConfigVersions([...history.versions, version], versioning),
  });
  return { path, status: 'new', version: version.version };
}

export interface VersionConfigOptions {
  at: Date;
  versioning: boolean;
}

/** Stores a new version of each file whose content changed. Paths are made absolute. */
export async function versionConfigFiles(
  repo: Repository,
  paths: readonly string[],
  options: VersionConfigOptions,
): Promise<ConfigFileResult[]> {
  const store = configStore(repo);
  const release = acquireLock(lockScope(store), 'configuration file versioning');
  try {
    const writer = new BlobWriter(store);
    const results: ConfigFileResult[] = [];
    for (const p of paths) results.push(await versionOne(store, writer, resolve(p), options.at, options.versioning));
    if (!options.versioning && results.some((r) => r.status === 'new')) collectConfigBlobs(store);
    return results;
  } catch (error) {
    throw storageError(error, repo.root, 'the new configuration versions', 'free space in the repository');
  } finally {
    release();
  }
}

/** Deletes blobs no kept version references; skipped when a history cannot be read. */
function collectConfigBlobs(store: BlobStore): number {
  const all = readAllHistories(store);
  if (all.some((h) => h.error)) return 0;
  const referenced = referencedBlobs(all.map((h) => h.history!.versions));
  const doomed = unreferencedBlobs(listBlobs(store), referenced);
  deleteBlobs(store, doomed);
  return doomed.length;
}

/** Paths among `paths` whose content differs from their newest stored version (what an "on change" trigger asks). */
export async function pendingConfigChanges(repo: Repository, paths: readonly string[]): Promise<string[]> {
  const store = configStore(repo);
  const out: string[] = [];
  for (const p of paths.map((x) => resolve(x))) {
    let sha: string;
    try {
      sha = await sha256OfFile(p);
    } catch {
      continue; // missing files are reported by the task, not a change to store
    }
    if (decideConfigVersion(readHistory(store, p).versions, sha).store) out.push(p);
  }
  return out;
}

export interface ConfigVersionListing {
  path: string;
  version: number;
  at: string;
  size: number;
  sha256: string;
}

/** Every stored version, of one file or of all, oldest first per file. */
export function listConfigVersions(repo: Repository, path?: string): ConfigVersionListing[] {
  const store = configStore(repo);
  const histories = path
    ? [readHistory(store, resolve(path))]
    : readAllHistories(store).flatMap((h) => (h.history ? [h.history] : []));
  return histories
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .flatMap((h) =>
      h.versions.map((v) => ({ path: h.path, version: v.version, at: v.at, size: v.size, sha256: v.sha256 })),
    );
}

export interface RestoreConfigResult {
  path: string;
  version: number;
  /** Where the content was written. */
  to: string;
  bytes: number;
  /** In-place restores first store the current content when it is not stored yet: its version number. */
  savedCurrentAs?: number | undefined;
}

/**
 * Writes version `version` of `path` to `options.to`, or back in place. In place, the current content
 * is versioned first (so a restore can itself be undone), then replaced atomically with the recorded
 * mode. Every blob and the file's SHA-256 are checked before anything is replaced.
 */
export async function restoreConfigVersion(
  repo: Repository,
  path: string,
  version: number,
  options: { to?: string; at?: Date; versioning?: boolean } = {},
): Promise<RestoreConfigResult> {
  const abs = resolve(path);
  const store = configStore(repo);
  const history = readHistory(store, abs);
  const v = history.versions.find((x) => x.version === version);
  if (!v) {
    const known = history.versions.map((x) => x.version).join(', ') || 'none';
    throw new DrydockError('CONFIG_INVALID', `no version ${version} of ${abs} (stored versions: ${known})`, {
      hint: 'list them with `drydock backup config versions`',
    });
  }
  const to = options.to ? resolve(options.to) : abs;
  mkdirSync(dirname(to), { recursive: true });
  // The content is written and verified beside its destination before anything else happens.
  const tmp = `${to}.drydock-restore-${process.pid}`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await writeStoredFile(
      store,
      v,
      async (chunk) => {
        let done = 0;
        while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      },
      `version ${version} of ${abs}`,
    );
    await handle.chmod(v.mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw new DrydockError('VALIDATION_FAILED', (error as Error).message, { cause: error });
  }
  await handle.close();
  let savedCurrentAs: number | undefined;
  try {
    if (!options.to && existsSync(abs)) {
      const [saved] = await versionConfigFiles(repo, [abs], {
        at: options.at ?? new Date(),
        versioning: options.versioning ?? true,
      });
      if (saved?.status === 'new') savedCurrentAs = saved.version;
    }
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await rename(tmp, to);
  fsyncDir(dirname(to));
  return { path: abs, version, to, bytes: v.size, savedCurrentAs };
}
