// Logical backups with pg_dump, for a database Drydock cannot reach on disk (a managed service).
// pg_dump's custom format (uncompressed, -Z0) is streamed through zstd (and AES-256-GCM when the
// repository is encrypted) into logical/<id>.dump.zst; the catalog entry logical/<id>.json is
// written last. Verification: the stored checksum, zstd's content checksum and `pg_restore --list`,
// which reads the dump's whole table of contents.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
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
  writeSync,
  writeFileSync,
  mkdtempSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressStream } from 'zstd-napi';
import { exec, spawnProcess } from '../adapters/exec.js';
import { DrydockError, describeError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from './fsync.js';
import { decodeObjectToBuffer, sha256Hex } from './object-codec.js';
import type { Repository } from './repository.js';
import type { TableFigure } from './types.js';

export interface LogicalSource {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string | undefined;
  binDirectory: string;
}

export interface LogicalBackupRecord {
  id: string;
  kind: 'logical';
  takenAt: string;
  database: string;
  source: string;
  dumpBytes: number;
  storedBytes: number;
  sha256: string;
  storedSha256: string;
  durationMs: number;
  /** Entries in the dump's table of contents (pg_restore --list), a cheap completeness figure. */
  tocEntries: number;
  tables?: TableFigure[];
}

/** libpq variables pg_dump/pg_restore may need from Drydock's environment (the rest stays out). */
const PG_ENV = ['PGPASSFILE', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY'];

/** The password goes to pg_dump/pg_restore in the environment, never on the command line. */
function env(source: LogicalSource): Record<string, string> {
  return source.password ? { PGPASSWORD: source.password } : {};
}

export async function backupLogical(
  repo: Repository,
  source: LogicalSource,
  now: Date = new Date(),
): Promise<LogicalBackupRecord> {
  const t0 = Date.now();
  const dir = join(repo.root, 'logical');
  mkdirSync(dir, { recursive: true });
  const id = `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-')}L`;
  const final = join(dir, `${id}.dump.zst`);
  const tmp = `${final}.partial`;
  const { child, done } = spawnProcess(
    join(source.binDirectory, 'pg_dump'),
    ['-h', source.host, '-p', String(source.port), '-U', source.user, '-Fc', '-Z0', '--no-password', source.database],
    { env: env(source), inheritEnv: PG_ENV, timeoutMs: 24 * 3600_000 },
  );
  const stdout = child.stdout!;
  const fd = openSync(tmp, 'w', 0o600);
  const rawHash = createHash('sha256');
  const storedHash = createHash('sha256');
  let dumpBytes = 0;
  let storedBytes = 0;
  const write = (buf: Buffer) => {
    if (!buf.length) return;
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
    storedHash.update(buf);
    storedBytes += buf.length;
  };
  const iv = randomBytes(12);
  const cipher = repo.key ? createCipheriv('aes-256-gcm', repo.key, iv) : undefined;
  try {
    // Same object layout as everywhere else in the repository: IV, ciphertext, tag.
    if (cipher) write(iv);
    const zstd = new CompressStream({ compressionLevel: Math.max(1, repo.settings.level), checksumFlag: true });
    zstd.on('data', (chunk: Buffer) => write(cipher ? cipher.update(chunk) : chunk));
    const finished = new Promise<void>((resolve, reject) => {
      zstd.on('end', resolve);
      zstd.on('error', reject);
    });
    stdout.on('data', (chunk: Buffer) => {
      rawHash.update(chunk);
      dumpBytes += chunk.length;
      if (!zstd.write(chunk)) {
        stdout.pause();
        zstd.once('drain', () => stdout.resume());
      }
    });
    try {
      await done;
    } catch (error) {
      const stderr = error instanceof DrydockError ? error.details.stderr : undefined;
      throw new DrydockError(
        'EXEC_FAILED',
        `pg_dump of ${source.database} at ${source.host}:${source.port} failed: ${typeof stderr === 'string' && stderr.trim() ? stderr.trim() : describeError(error)}`,
        { retryable: true, cause: error },
      );
    }
    zstd.end();
    await finished;
    if (cipher) {
      write(cipher.final());
      write(cipher.getAuthTag());
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, final);
  fsyncDir(dir);
  const tocEntries = await countToc(repo, final, source.binDirectory);
  const record: LogicalBackupRecord = {
    id,
    kind: 'logical',
    takenAt: now.toISOString(),
    database: source.database,
    source: `${source.host}:${source.port}`,
    dumpBytes,
    storedBytes,
    sha256: rawHash.digest('hex'),
    storedSha256: storedHash.digest('hex'),
    durationMs: Date.now() - t0,
    tocEntries,
  };
  writeFileAtomic(join(dir, `${id}.json`), JSON.stringify(record, null, 2) + '\n');
  return record;
}

/** pg_restore --list over the decoded dump; throws when the dump is unreadable. */
async function countToc(
  repo: Repository,
  storedPath: string,
  binDirectory: string,
  expectedSha?: string,
): Promise<number> {
  const dump = decodeObjectToBuffer(readFileSync(storedPath), repo.key);
  if (expectedSha && sha256Hex(dump) !== expectedSha)
    throw new DrydockError('VALIDATION_FAILED', `logical dump ${storedPath} does not match its checksum`);
  const scratch = mkdtempSync(join(tmpdir(), 'drydock-dump-'));
  try {
    const file = join(scratch, 'dump');
    writeFileSync(file, dump);
    const r = await exec(join(binDirectory, 'pg_restore'), ['--list', file], {
      maxOutput: 256 * 1024 * 1024,
      okCodes: [0, 1],
      timeoutMs: 3600_000,
    });
    if (r.code !== 0)
      throw new DrydockError('VALIDATION_FAILED', `pg_restore cannot read the dump ${storedPath}: ${r.stderr.trim()}`);
    return r.stdout.split('\n').filter((l) => /^\d+;/.test(l)).length;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function listLogicalBackups(repo: Repository): LogicalBackupRecord[] {
  const dir = join(repo.root, 'logical');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as LogicalBackupRecord);
}

/** Integrity of one logical backup: stored checksum, content checksum, and a readable table of contents. */
export async function verifyLogicalBackup(
  repo: Repository,
  record: LogicalBackupRecord,
  binDirectory: string,
): Promise<{ ok: boolean; problem?: string; tocEntries?: number }> {
  const path = join(repo.root, 'logical', `${record.id}.dump.zst`);
  if (!existsSync(path)) return { ok: false, problem: `${record.id}.dump.zst is missing` };
  if (sha256Hex(readFileSync(path)) !== record.storedSha256)
    return { ok: false, problem: `${record.id}.dump.zst is damaged (checksum mismatch)` };
  try {
    const toc = await countToc(repo, path, binDirectory, record.sha256);
    return toc === record.tocEntries
      ? { ok: true, tocEntries: toc }
      : { ok: false, problem: `${record.id}: ${toc} table-of-contents entries, recorded ${record.tocEntries}` };
  } catch (error) {
    return { ok: false, problem: (error as Error).message };
  }
}

/** Restores a logical backup into an existing (empty) database with pg_restore. */
export async function restoreLogical(
  repo: Repository,
  record: LogicalBackupRecord,
  target: LogicalSource,
): Promise<void> {
  const path = join(repo.root, 'logical', `${record.id}.dump.zst`);
  const dump = decodeObjectToBuffer(readFileSync(path), repo.key);
  if (sha256Hex(dump) !== record.sha256)
    throw new DrydockError('VALIDATION_FAILED', `logical backup ${record.id} is damaged`);
  const scratch = mkdtempSync(join(tmpdir(), 'drydock-dump-'));
  try {
    const file = join(scratch, 'dump');
    writeFileSync(file, dump);
    const r = await exec(
      join(target.binDirectory, 'pg_restore'),
      [
        '-h',
        target.host,
        '-p',
        String(target.port),
        '-U',
        target.user,
        '-d',
        target.database,
        '--no-owner',
        '--exit-on-error',
        file,
      ],
      { env: env(target), inheritEnv: PG_ENV, okCodes: [0, 1], timeoutMs: 24 * 3600_000 },
    );
    if (r.code !== 0)
      throw new DrydockError('EXEC_FAILED', `pg_restore into ${target.database} failed: ${r.stderr.trim()}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Logical backups past retention go, the newest always stays. */
export function expireLogicalBackups(repo: Repository, now: Date, retentionMs: number): string[] {
  const all = listLogicalBackups(repo);
  const doomed = all.slice(0, -1).filter((r) => now.getTime() - Date.parse(r.takenAt) > retentionMs);
  const dir = join(repo.root, 'logical');
  for (const r of doomed) {
    rmSync(join(dir, `${r.id}.json`), { force: true });
    rmSync(join(dir, `${r.id}.dump.zst`), { force: true });
  }
  return doomed.map((r) => r.id);
}
