// Content-addressed blobs for file backups. A file is cut into chunks of CHUNK_SIZE; each chunk is
// one object of the repository's codec (zstd frame with a content checksum, AES-256-GCM when the
// repository is encrypted) stored once under the name of its content:
//
//   files/<set>/blobs/<first 2 hex>/<name>
//
// The name is the SHA-256 of the chunk, or in an encrypted repository an HMAC-SHA-256 keyed by the
// repository key, so names do not reveal which known files the repository holds. Reading a blob
// decodes it and checks that its content still hashes to its name: a flipped byte, a truncated or a
// missing blob is always caught and reported by that name.
import { createHash, createHmac } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../fsync.js';
import { decodeObjectToBuffer, encodeObject } from '../object-codec.js';
import type { Repository } from '../repository.js';
import { DrydockError } from '../../errors.js';

export const CHUNK_SIZE = 4 * 1024 * 1024;

export interface BlobStore {
  readonly repo: Repository;
  /** files/<set> */
  readonly root: string;
  readonly blobs: string;
}

export function openBlobStore(repo: Repository, set: string): BlobStore {
  const root = join(repo.root, 'files', set);
  const blobs = join(root, 'blobs');
  mkdirSync(blobs, { recursive: true });
  return { repo, root, blobs };
}

export function blobName(store: BlobStore, content: Uint8Array): string {
  return store.repo.key
    ? createHmac('sha256', store.repo.key).update(content).digest('hex')
    : createHash('sha256').update(content).digest('hex');
}

export function blobPath(store: BlobStore, name: string): string {
  return join(store.blobs, name.slice(0, 2), name);
}

export function hasBlob(store: BlobStore, name: string): boolean {
  return existsSync(blobPath(store, name));
}

/** A batch of writes whose folders are fsynced once, before anything that references them is written. */
export class BlobWriter {
  private readonly dirs = new Set<string>();
  newBlobs = 0;
  newStoredBytes = 0;
  constructor(readonly store: BlobStore) {}

  /** Stores a chunk unless a blob of that name exists; returns its name. Like writeFileAtomic, but the
   * folder fsync is left to sync(), once per folder for the whole batch. */
  put(content: Uint8Array): string {
    const name = blobName(this.store, content);
    const path = blobPath(this.store, name);
    if (existsSync(path)) return name;
    const dir = join(this.store.blobs, name.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    const stored = encodeObject(content, this.store.repo.settings.level, this.store.repo.key);
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o640);
    try {
      let done = 0;
      while (done < stored.length) done += writeSync(fd, stored, done, stored.length - done);
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(tmp, path);
    this.dirs.add(dir);
    this.newBlobs++;
    this.newStoredBytes += stored.length;
    return name;
  }

  /** Makes every new blob's directory entry durable. */
  sync(): void {
    for (const dir of this.dirs) fsyncDir(dir);
    this.dirs.clear();
  }
}

/** The content of a blob, verified against its name. Throws "blob <name> is missing/damaged". */
export function readBlob(store: BlobStore, name: string): Buffer {
  const path = blobPath(store, name);
  let stored: Buffer;
  try {
    stored = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DrydockError('DATA_DAMAGED', `blob ${name} is missing`, { cause: error });
    throw error;
  }
  let content: Buffer;
  try {
    content = decodeObjectToBuffer(stored, store.repo.key);
  } catch (error) {
    throw new DrydockError('DATA_DAMAGED', `blob ${name} is damaged: ${(error as Error).message}`, { cause: error });
  }
  if (blobName(store, content) !== name)
    throw new DrydockError('DATA_DAMAGED', `blob ${name} is damaged: its content does not match its name`);
  return content;
}

/** Every blob name in the store (temp files of interrupted writes are not blobs). */
export function listBlobs(store: BlobStore): string[] {
  const out: string[] = [];
  if (!existsSync(store.blobs)) return out;
  for (const dir of readdirSync(store.blobs)) {
    for (const name of readdirSync(join(store.blobs, dir))) if (/^[0-9a-f]{64}$/.test(name)) out.push(name);
  }
  return out.sort();
}

/** Deletes blobs by name (and leftover temp files); returns the bytes freed. */
export function deleteBlobs(store: BlobStore, names: Iterable<string>): number {
  let freed = 0;
  const dirs = new Set<string>();
  for (const name of names) {
    const path = blobPath(store, name);
    try {
      freed += statSync(path).size;
      rmSync(path);
      dirs.add(join(store.blobs, name.slice(0, 2)));
    } catch {
      /* already gone */
    }
  }
  for (const dir of readdirSync(store.blobs)) {
    for (const n of readdirSync(join(store.blobs, dir)))
      if (n.includes('.tmp-')) rmSync(join(store.blobs, dir, n), { force: true });
  }
  for (const dir of dirs) fsyncDir(dir);
  return freed;
}

/** Small JSON documents (manifests, version indexes) stored through the same codec, so they are checksummed and encrypted too. */
export function writeDocument(store: BlobStore, path: string, value: unknown): void {
  writeFileAtomic(path, encodeObject(Buffer.from(JSON.stringify(value)), store.repo.settings.level, store.repo.key));
}

export function readDocument<T>(store: BlobStore, path: string, what: string): T {
  let stored: Buffer;
  try {
    stored = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DrydockError('DATA_DAMAGED', `${what} is missing`, { cause: error });
    throw error;
  }
  try {
    return JSON.parse(decodeObjectToBuffer(stored, store.repo.key).toString('utf8')) as T;
  } catch (error) {
    throw new DrydockError('DATA_DAMAGED', `${what} is damaged: ${(error as Error).message}`, { cause: error });
  }
}
