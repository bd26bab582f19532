// The repository on disk. It is self-describing: every good backup has a catalog entry
// (catalog/<id>.json) written last by atomic rename, so the repository can be read back without
// Drydock's state file, and a crash mid-backup leaves only an unlisted folder under backups/.
//
//   drydock-repository.json        format, version, encryption salt and key check
//   catalog/<id>.json              one entry per good backup (BackupRecord)
//   backups/<id>/manifest.json     every file: size, mtime, CRC-32C, stored objects and their SHA-256
//   backups/<id>/backup_manifest   PostgreSQL's own manifest (full backups), for pg_verifybackup
//   backups/<id>/pack-<n>.dat      compressed (and optionally encrypted) objects, one pack per worker
//   wal/<timeline+log>/<segment>-<sha256>.zst   archived WAL, one zstd frame per segment
import { createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DrydockError } from '../errors.js';
import { writeFileAtomic } from './fsync.js';
import type { BackupManifest, BackupRecord } from './types.js';

export const REPOSITORY_FILE = 'drydock-repository.json';

export interface RepositoryConfig {
  format: 'drydock-repository';
  version: 1;
  created: string;
  encryption: null | { algorithm: 'aes-256-gcm'; salt: string; keyCheck: string };
}

export interface RepositorySettings {
  path: string;
  compression: 'zstd' | 'lz4' | 'gzip';
  level: number;
  processes: number;
  /** The key material as given (64 hex characters, or a passphrase stretched with scrypt). */
  encryptionKey?: string | undefined;
}

export interface Repository {
  readonly root: string;
  readonly config: RepositoryConfig;
  readonly settings: RepositorySettings;
  /** The 32-byte AES key, when the repository is encrypted. */
  readonly key: Buffer | undefined;
}

function deriveKey(material: string, salt: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(material)) return Buffer.from(material, 'hex');
  return scryptSync(material, Buffer.from(salt, 'hex'), 32);
}

function keyCheck(key: Buffer): string {
  return createHmac('sha256', key).update('drydock-repository-key-check').digest('hex');
}

/** Opens a repository, creating it when `create` is set and the folder holds none. */
export function openRepository(settings: RepositorySettings, options: { create?: boolean } = {}): Repository {
  if (settings.compression !== 'zstd') {
    throw new DrydockError(
      'CONFIG_INVALID',
      `backup.repository.compression "${settings.compression}" is not implemented yet`,
      { hint: 'use compression: zstd' },
    );
  }
  const root = settings.path;
  const file = join(root, REPOSITORY_FILE);
  let config: RepositoryConfig;
  if (existsSync(file)) {
    config = readRepositoryFile(file);
  } else {
    if (!options.create) {
      throw new DrydockError('CONFIG_INVALID', `no Drydock repository at ${root}`, {
        hint: 'check backup.repository.path, or run a backup first to create it',
      });
    }
    mkdirSync(root, { recursive: true });
    let encryption: RepositoryConfig['encryption'] = null;
    if (settings.encryptionKey) {
      const salt = randomBytes(16).toString('hex');
      encryption = { algorithm: 'aes-256-gcm', salt, keyCheck: keyCheck(deriveKey(settings.encryptionKey, salt)) };
    }
    config = { format: 'drydock-repository', version: 1, created: new Date().toISOString(), encryption };
    for (const sub of ['catalog', 'backups', 'wal']) mkdirSync(join(root, sub), { recursive: true });
    writeFileAtomic(file, sealed(config));
    // Room kept for history.jsonl on a full disk (see history.ts); best effort.
    try {
      writeFileSync(join(root, 'history.reserve'), Buffer.alloc(64 * 1024));
    } catch {
      /* made later, once there is space */
    }
  }
  let key: Buffer | undefined;
  if (config.encryption) {
    if (!settings.encryptionKey) {
      throw new DrydockError('SECRET_MISSING', `the repository at ${root} is encrypted but no key is configured`, {
        hint: 'set backup.repository.encryption_key',
      });
    }
    key = deriveKey(settings.encryptionKey, config.encryption.salt);
    if (keyCheck(key) !== config.encryption.keyCheck) {
      throw new DrydockError('SECRET_MISSING', `the encryption key does not match the repository at ${root}`, {
        hint: 'use the key the repository was created with',
      });
    }
  } else if (settings.encryptionKey) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `the repository at ${root} was created without encryption but a key is configured`,
      {
        hint: 'use a new repository path for an encrypted repository',
      },
    );
  }
  for (const sub of ['catalog', 'backups', 'wal']) mkdirSync(join(root, sub), { recursive: true });
  return { root, config, settings, key };
}

/**
 * A JSON document with a SHA-256 of its own content in its last field, `sha256`: the repository
 * file and each catalog entry carry one, so a flipped byte that still parses (a "valid-looking"
 * walStart, say) is found instead of trusted.
 */
export function sealed(value: object): string {
  const body = JSON.stringify(value);
  return JSON.stringify({ ...value, sha256: sha256Text(body) }, null, 2) + '\n';
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Parses a sealed document; throws a message naming the file when it is not JSON or its checksum
 * fails. Documents from before checksums were written (no sha256 field) are accepted as they are.
 */
export function unseal<T>(text: string, file: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DrydockError('VALIDATION_FAILED', `${file} is damaged: not valid JSON`, { details: { file } });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new DrydockError('VALIDATION_FAILED', `${file} is damaged: not a JSON object`, { details: { file } });
  const { sha256, ...rest } = parsed as Record<string, unknown>;
  if (sha256 !== undefined && sha256 !== sha256Text(JSON.stringify(rest)))
    throw new DrydockError('VALIDATION_FAILED', `${file} is damaged (checksum mismatch)`, { details: { file } });
  return rest as T;
}

function readRepositoryFile(file: string): RepositoryConfig {
  const config = unseal<RepositoryConfig>(readFileSync(file, 'utf8'), file);
  if (config.format !== 'drydock-repository')
    throw new DrydockError('CONFIG_INVALID', `${file} is not a Drydock repository`);
  return config;
}

export function backupDir(repo: Repository, id: string): string {
  return join(repo.root, 'backups', id);
}

export function catalogPath(repo: Repository, id: string): string {
  return join(repo.root, 'catalog', `${id}.json`);
}

export interface DamagedEntry {
  id: string;
  file: string;
  problem: string;
}

/** Every catalog entry, checked: the good ones oldest first (ids sort by time) and the damaged ones, named. */
export function readCatalog(repo: Repository): { records: BackupRecord[]; damaged: DamagedEntry[] } {
  const dir = join(repo.root, 'catalog');
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort();
  const records: BackupRecord[] = [];
  const damaged: DamagedEntry[] = [];
  for (const n of names) {
    const id = n.slice(0, -'.json'.length);
    const file = `catalog/${n}`;
    try {
      const record = unseal<BackupRecord>(readFileSync(join(dir, n), 'utf8'), file);
      if (record.id !== id)
        throw new DrydockError('VALIDATION_FAILED', `${file} is damaged: it names backup ${record.id}`);
      records.push(record);
    } catch (error) {
      damaged.push({ id, file, problem: (error as Error).message });
    }
  }
  return { records, damaged };
}

/** Every good backup, oldest first. A catalog entry that fails its checksum is never trusted: it is left out. */
export function listBackups(repo: Repository): BackupRecord[] {
  return readCatalog(repo).records;
}

/** Backup folders with no catalog entry: interrupted backups (or one running now). A damaged entry still counts as listed. */
export function listUnlisted(repo: Repository): string[] {
  const listed = new Set(
    readdirSync(join(repo.root, 'catalog'))
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -'.json'.length)),
  );
  return readdirSync(join(repo.root, 'backups')).filter((n) => !listed.has(n));
}

export function writeCatalogEntry(repo: Repository, record: BackupRecord): void {
  writeFileAtomic(catalogPath(repo, record.id), sealed(record));
}

export function manifestText(manifest: BackupManifest): string {
  return JSON.stringify(manifest);
}

/** Reads a backup's manifest and checks it against the SHA-256 its catalog entry recorded. */
export function readManifest(repo: Repository, record: BackupRecord): BackupManifest {
  const path = join(backupDir(repo, record.id), 'manifest.json');
  if (!existsSync(path))
    throw new DrydockError('VALIDATION_FAILED', `backup ${record.id}: manifest.json is missing`, {
      details: { backup: record.id, file: 'manifest.json' },
    });
  const text = readFileSync(path);
  const sha = createHash('sha256').update(text).digest('hex');
  if (sha !== record.manifestSha256) {
    throw new DrydockError('VALIDATION_FAILED', `backup ${record.id}: manifest.json is damaged (checksum mismatch)`, {
      details: { backup: record.id, file: 'manifest.json' },
    });
  }
  return JSON.parse(text.toString('utf8')) as BackupManifest;
}

/** A new backup id: UTC time to the second plus F (full) or I (incremental), unique in the repository. */
export function newBackupId(repo: Repository, kind: 'full' | 'incremental', at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
  const suffix = kind === 'full' ? 'F' : 'I';
  let id = `${stamp}${suffix}`;
  for (let n = 1; existsSync(backupDir(repo, id)) || existsSync(catalogPath(repo, id)); n++)
    id = `${stamp}${suffix}${n}`;
  return id;
}
