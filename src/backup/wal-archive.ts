// WAL archiving: PostgreSQL's archive_command runs `drydock wal push %p %f`, restore_command runs
// `drydock wal get %f %p` (through the light entry point wal/cli.ts, so this file imports no policy
// code). Each file is stored as one zstd frame (content checksum on) named after the SHA-256 of its
// content, so pushing the same segment twice is a no-op and a different segment under an existing
// name is refused instead of overwriting history.
import {
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { DrydockError } from '../errors.js';
import { fsyncDir } from './fsync.js';
import { decodeObjectToBuffer, encodeObject, sha256Hex } from './object-codec.js';
import type { Repository } from './repository.js';
import { isSegmentName } from './lsn.js';

/** The folder for a WAL file: timeline+log id for segments (256 files each), "timelines" for history files. */
export function walFolder(repo: Repository, name: string): string {
  return isSegmentName(name.slice(0, 24)) && /^[0-9A-F]{24}/.test(name)
    ? join(repo.root, 'wal', name.slice(0, 16))
    : join(repo.root, 'wal', 'other');
}

export interface ArchivedWal {
  name: string;
  sha256: string;
  path: string;
}

/** Archived copies of `name` (normally zero or one). */
export function findWal(repo: Repository, name: string): ArchivedWal[] {
  const dir = walFolder(repo, name);
  if (!existsSync(dir)) return [];
  const prefix = `${name}-`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.zst') && /^[0-9a-f]{64}$/.test(f.slice(prefix.length, -4)))
    .map((f) => ({ name, sha256: f.slice(prefix.length, -4), path: join(dir, f) }));
}

/** Every archived WAL file in the repository. */
export function listWal(repo: Repository): ArchivedWal[] {
  const root = join(repo.root, 'wal');
  if (!existsSync(root)) return [];
  const out: ArchivedWal[] = [];
  for (const dir of readdirSync(root)) {
    for (const f of readdirSync(join(root, dir))) {
      const m = /^(.+)-([0-9a-f]{64})\.zst$/.exec(f);
      if (m) out.push({ name: m[1]!, sha256: m[2]!, path: join(root, dir, f) });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Stores one WAL file. Returns 'stored', or 'duplicate' when the identical file is already archived. */
export function pushWal(repo: Repository, path: string, name: string): 'stored' | 'duplicate' {
  if (!/^[0-9A-Za-z._-]+$/.test(name))
    throw new DrydockError('CONFIG_INVALID', `not a WAL file name: ${JSON.stringify(name)}`);
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    throw new DrydockError(
      'EXEC_FAILED',
      `cannot read WAL file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      { hint: 'archive_command must pass %p (the path) then %f (the name)' },
    );
  }
  const sha = sha256Hex(content);
  const existing = findWal(repo, name);
  if (existing.some((w) => w.sha256 === sha)) return 'duplicate';
  if (existing.length > 0) {
    throw new DrydockError(
      'VALIDATION_FAILED',
      `WAL file ${name} is already archived with different content; refusing to overwrite it`,
      {
        hint: 'two clusters may be archiving into the same repository, or a restored cluster kept archive_mode on; give each cluster its own repository',
      },
    );
  }
  const dir = walFolder(repo, name);
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  // Run as root (a backup pushing the last segment itself), keep new entries owned like the
  // repository, so PostgreSQL's archive_command (the repository owner) can still write here.
  const owner = process.getuid?.() === 0 ? statSync(repo.root) : undefined;
  if (created && owner && owner.uid !== 0) chownSync(dir, owner.uid, owner.gid);
  const target = join(dir, `${name}-${sha}.zst`);
  const tmp = `${target}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o640);
  try {
    writeFileSync(fd, encodeObject(content, Math.max(1, repo.settings.level), repo.key));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (owner && owner.uid !== 0) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, target);
  fsyncDir(dir);
  return 'stored';
}

/** Decodes and verifies one archived WAL file. Throws naming the file when it is damaged. */
export function readWal(repo: Repository, wal: ArchivedWal): Buffer {
  let content: Buffer;
  try {
    content = decodeObjectToBuffer(readFileSync(wal.path), repo.key);
  } catch (error) {
    throw new DrydockError(
      'VALIDATION_FAILED',
      `archived WAL ${wal.name} is damaged: ${(error as Error).message} (stored as ${wal.path})`,
      { details: { file: wal.path } },
    );
  }
  if (sha256Hex(content) !== wal.sha256)
    throw new DrydockError(
      'VALIDATION_FAILED',
      `archived WAL ${wal.name} is damaged (checksum mismatch; stored as ${wal.path})`,
      { details: { file: wal.path } },
    );
  return content;
}

/**
 * Writes an archived WAL file to `dest`. Returns false when the repository does not have it
 * (restore_command must then exit 1); throws naming the file when the stored copy is damaged.
 * The file is written under a temporary name and renamed, but not fsynced: PostgreSQL asks for it
 * again if it crashes before the segment is replayed (pgBackRest's archive-get does the same).
 */
export function getWal(repo: Repository, name: string, dest: string): boolean {
  const [wal] = findWal(repo, name);
  if (!wal) return false;
  const content = readWal(repo, wal);
  const tmp = `${dest}.drydock-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, dest);
  return true;
}
