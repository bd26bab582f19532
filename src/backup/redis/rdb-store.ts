// Redis backups in the repository, beside the PostgreSQL ones and in the same spirit: a folder per
// backup and a catalog entry written last by atomic rename, so an interrupted backup is never listed.
//
//   redis/catalog/<id>.json         RedisBackupRecord: where it came from, key counts, parts and checksums
//   redis/backups/<id>/dump.rdb.zst the RDB as consecutive parts, each one zstd frame with a content
//                                   checksum (encrypted like every object when the repository is)
//   redis/repository.lock           one Redis backup or expire at a time
//
// The RDB is cut into parts of PART_SIZE so each part goes through the repository's own object codec
// (object-codec.ts) in memory, whatever the size of the RDB: nothing is staged on disk uncompressed.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../fsync.js';
import { decodeObjectToBuffer, encodeObject, sha256Hex } from '../object-codec.js';
import type { Repository } from '../repository.js';
import { DrydockError } from '../../errors.js';

export const PART_SIZE = 8 * 1024 * 1024;
export const RDB_FILE = 'dump.rdb.zst';

export interface KeyspaceCount {
  keys: number;
  expires: number;
}

/** db index ("0", "1", ...) → counts, from INFO keyspace. */
export type Keyspace = Record<string, KeyspaceCount>;

export interface RdbPart {
  /** Where the stored part starts in dump.rdb.zst, and its stored length. */
  offset: number;
  length: number;
  /** Length of the RDB bytes it holds. */
  rawLength: number;
  /** SHA-256 of the stored bytes. */
  sha256: string;
}

export interface RedisBackupRecord {
  format: 'drydock-redis-backup';
  version: 1;
  id: string;
  /** host:port */
  target: string;
  startedAt: string;
  stoppedAt: string;
  durationMs: number;
  replid: string;
  offset: number;
  transfer: 'disk' | 'diskless';
  /** From the RDB header ("REDIS0010" → 10). */
  rdbVersion: number;
  rdbBytes: number;
  /** SHA-256 of the whole RDB as received. */
  rdbSha256: string;
  storedSize: number;
  parts: RdbPart[];
  /** INFO keyspace just before the sync and just after the transfer. */
  keyspaceBefore: Keyspace;
  keyspaceAfter: Keyspace;
  compression: { type: 'zstd'; level: number };
  encrypted: boolean;
}

export function redisRoot(repo: Repository): string {
  return join(repo.root, 'redis');
}

export function redisBackupDir(repo: Repository, id: string): string {
  return join(redisRoot(repo), 'backups', id);
}

export function redisCatalogPath(repo: Repository, id: string): string {
  return join(redisRoot(repo), 'catalog', `${id}.json`);
}

export function ensureRedisLayout(repo: Repository): void {
  for (const sub of ['catalog', 'backups']) mkdirSync(join(redisRoot(repo), sub), { recursive: true });
}

/** A repository view whose root is the redis/ area, so the shared lock helper locks only Redis backups. */
export function redisLockScope(repo: Repository): Repository {
  ensureRedisLayout(repo);
  return { ...repo, root: redisRoot(repo) };
}

/** "20261127-020000R", unique in the repository. */
export function newRedisBackupId(repo: Repository, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
  let id = `${stamp}R`;
  for (let n = 1; existsSync(redisBackupDir(repo, id)) || existsSync(redisCatalogPath(repo, id)); n++)
    id = `${stamp}R${n}`;
  return id;
}

/** Every good Redis backup, oldest first. */
export function listRedisBackups(repo: Repository): RedisBackupRecord[] {
  const dir = join(redisRoot(repo), 'catalog');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as RedisBackupRecord);
}

export function writeRedisCatalogEntry(repo: Repository, record: RedisBackupRecord): void {
  writeFileAtomic(redisCatalogPath(repo, record.id), JSON.stringify(record, null, 2) + '\n');
}

/** "db0:keys=3,expires=1,avg_ttl=0" lines (already parsed to a map) → {"0": {keys: 3, expires: 1}}. */
export function parseKeyspace(info: Record<string, string>): Keyspace {
  const out: Keyspace = {};
  for (const [k, v] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(k);
    if (!m) continue;
    const keys = /(?:^|,)keys=(\d+)/.exec(v);
    const expires = /(?:^|,)expires=(\d+)/.exec(v);
    out[m[1]!] = { keys: keys ? Number(keys[1]) : 0, expires: expires ? Number(expires[1]) : 0 };
  }
  return out;
}

/** Appends parts to dump.rdb.zst as data arrives; SHA-256 of the whole RDB on the side. */
export class RdbWriter {
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = 0;
  private readonly rawHash = createHash('sha256');
  private head = Buffer.alloc(0);
  readonly parts: RdbPart[] = [];
  rawBytes = 0;

  constructor(
    readonly path: string,
    private readonly level: number,
    private readonly key: Buffer | undefined,
  ) {
    this.fd = openSync(path, 'wx', 0o640);
  }

  write(chunk: Buffer): void {
    this.rawHash.update(chunk);
    this.rawBytes += chunk.length;
    if (this.head.length < 9) this.head = Buffer.concat([this.head, chunk.subarray(0, 9 - this.head.length)]);
    // Copied: the reader hands out views of buffers it may reuse.
    this.pending.push(Buffer.from(chunk));
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= PART_SIZE) this.flushPart(PART_SIZE);
  }

  private flushPart(size: number): void {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const raw = all.subarray(0, size);
    const rest = all.subarray(size);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    const stored = encodeObject(raw, this.level, this.key);
    let done = 0;
    while (done < stored.length) done += writeSync(this.fd, stored, done, stored.length - done, this.position + done);
    this.parts.push({ offset: this.position, length: stored.length, rawLength: raw.length, sha256: sha256Hex(stored) });
    this.position += stored.length;
  }

  /** Writes the last part and makes the file durable. */
  finish(): { parts: RdbPart[]; rawBytes: number; rawSha256: string; storedSize: number; rdbVersion: number } {
    if (this.pendingBytes > 0) this.flushPart(this.pendingBytes);
    fsyncSync(this.fd);
    closeSync(this.fd);
    return {
      parts: this.parts,
      rawBytes: this.rawBytes,
      rawSha256: this.rawHash.digest('hex'),
      storedSize: this.position,
      rdbVersion: rdbVersionOf(this.head),
    };
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/** "REDIS0010" → 10; throws when the payload is not an RDB. */
export function rdbVersionOf(head: Buffer): number {
  const text = head.subarray(0, 9).toString('latin1');
  const m = /^REDIS(\d{4})$/.exec(text);
  if (!m)
    throw new DrydockError(
      'DATA_DAMAGED',
      `the snapshot does not start with an RDB header (got ${JSON.stringify(text)})`,
    );
  return Number(m[1]);
}

export interface PartProblem {
  part: number;
  problem: string;
}

/**
 * Reads the stored RDB back part by part, checking each part's SHA-256 and zstd checksum and the
 * whole RDB's SHA-256, handing the content to `sink`. Throws naming the first bad part.
 */
export function readRedisBackup(repo: Repository, record: RedisBackupRecord, sink: (chunk: Buffer) => void): void {
  const path = join(redisBackupDir(repo, record.id), RDB_FILE);
  if (!existsSync(path)) throw new DrydockError('DATA_DAMAGED', `${record.id}/${RDB_FILE} is missing`);
  const fd = openSync(path, 'r');
  const whole = createHash('sha256');
  try {
    record.parts.forEach((part, n) => {
      const stored = Buffer.allocUnsafe(part.length);
      const got = readSync(fd, stored, 0, part.length, part.offset);
      if (got !== part.length)
        throw new DrydockError(
          'DATA_DAMAGED',
          `${record.id}/${RDB_FILE} part ${n} is truncated (${got} of ${part.length} bytes)`,
        );
      if (sha256Hex(stored) !== part.sha256)
        throw new DrydockError('DATA_DAMAGED', `${record.id}/${RDB_FILE} part ${n} is damaged (checksum mismatch)`);
      let content: Buffer;
      try {
        content = decodeObjectToBuffer(stored, repo.key);
      } catch (error) {
        throw new DrydockError(
          'DATA_DAMAGED',
          `${record.id}/${RDB_FILE} part ${n} does not decode: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      if (content.length !== part.rawLength)
        throw new DrydockError(
          'DATA_DAMAGED',
          `${record.id}/${RDB_FILE} part ${n} holds ${content.length} bytes, expected ${part.rawLength}`,
        );
      whole.update(content);
      sink(content);
    });
  } finally {
    closeSync(fd);
  }
  if (whole.digest('hex') !== record.rdbSha256)
    throw new DrydockError('DATA_DAMAGED', `${record.id}/${RDB_FILE}: the RDB does not match its recorded SHA-256`);
}

/** Removes a backup: catalog entry first (durably), then its folder. */
export function removeRedisBackup(repo: Repository, id: string): void {
  rmSync(redisCatalogPath(repo, id), { force: true });
  fsyncDir(join(redisRoot(repo), 'catalog'));
  rmSync(redisBackupDir(repo, id), { recursive: true, force: true });
}

/** Folders with no catalog entry: interrupted backups. Delete only under the Redis lock. */
export function unlistedRedisFolders(repo: Repository): string[] {
  const dir = join(redisRoot(repo), 'backups');
  if (!existsSync(dir)) return [];
  const listed = new Set(listRedisBackups(repo).map((r) => r.id));
  return readdirSync(dir).filter((n) => !listed.has(n));
}
