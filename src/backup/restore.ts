// Restore: rebuild a data directory from a full backup, its incrementals and archived WAL, with
// every file fsynced, then write the recovery settings so PostgreSQL replays WAL through
// `drydock wal get` up to the target. The whole chain is checked for missing pieces before the
// first byte is written; a damaged object found while writing aborts the restore and removes the
// partial directory, naming the backup and file.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync, appendFileSync, writeFileSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import { createCRC32 } from 'hash-wasm';
import { DrydockError } from '../errors.js';
import { packFileName } from './copy-pool.js';
import { CRC32C_POLYNOMIAL } from './crc32c.js';
import { fsyncDir, writeFileAtomic } from './fsync.js';
import { backupForTime, newestBackup, resolveChain } from './chain.js';
import { decodeObject, sha256Hex } from './object-codec.js';
import { buildPgManifest } from './pg-manifest.js';
import { backupDir, listBackups, openRepository, readManifest, type Repository, type RepositorySettings } from './repository.js';
import { planRestore, type FilePlan } from './restore-plan.js';
import type { BackupManifest, BackupRecord, FileObject } from './types.js';

const PAGE = 8192;

export interface RestoreOptions {
  repository: RepositorySettings;
  backupId?: string | undefined;
  /** Point-in-time target; the newest backup finished before it is used and WAL replayed up to it. */
  targetTime?: Date | string | undefined;
  /** Stop replay as soon as the backup is consistent (the restore test). */
  targetImmediate?: boolean;
  to: string;
  /** restore_command template with %f and %p, e.g. `drydock wal get %f "%p"`. */
  restoreCommand: string;
  targetAction?: 'promote' | 'pause' | 'shutdown';
  /** Extra postgresql.auto.conf settings for the restored server (port, archive_mode = off, ...). */
  settings?: Record<string, string>;
  /** Owner of every restored file (PostgreSQL refuses a data directory it does not own). */
  owner?: { uid: number; gid: number } | undefined;
  progress?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface RestoreResult {
  backup: BackupRecord;
  chain: string[];
  files: number;
  bytes: number;
  durationMs: number;
  targetTime: string | null;
}

/** Reads a stored object from its pack and checks its SHA-256; throws naming backup and file. */
function readObject(repo: Repository, backupId: string, path: string, obj: FileObject, fds: Map<string, number>): Buffer {
  const pack = join(backupDir(repo, backupId), packFileName(obj.pack));
  let fd = fds.get(pack);
  if (fd === undefined) {
    try {
      fd = openSync(pack, 'r');
    } catch {
      throw new DrydockError('VALIDATION_FAILED', `backup ${backupId}: ${packFileName(obj.pack)} (holding ${path}) is missing`, { details: { backup: backupId, file: path } });
    }
    fds.set(pack, fd);
  }
  const buf = Buffer.allocUnsafe(obj.length);
  const n = readSync(fd, buf, 0, obj.length, obj.offset);
  if (n !== obj.length || sha256Hex(buf) !== obj.sha256) {
    throw new DrydockError('VALIDATION_FAILED', `backup ${backupId}: stored copy of ${path} is damaged (checksum mismatch in ${packFileName(obj.pack)})`, { details: { backup: backupId, file: path } });
  }
  return buf;
}

/** Checks, before writing anything, that every pack a plan needs exists and is long enough. */
export function checkChainPieces(repo: Repository, chain: readonly BackupManifest[], plans: FilePlan[]): void {
  const packLength = new Map<string, number>();
  for (const m of chain) {
    for (const p of m.packs) {
      const path = join(backupDir(repo, m.id), packFileName(p.pack));
      packLength.set(path, existsSync(path) ? statSync(path).size : -1);
    }
  }
  for (const plan of plans) {
    for (const step of plan.steps) {
      const id = chain[step.backup]!.id;
      for (const obj of step.entry.objects) {
        const path = join(backupDir(repo, id), packFileName(obj.pack));
        const have = packLength.get(path) ?? -1;
        if (have < 0) throw new DrydockError('VALIDATION_FAILED', `backup ${id}: ${packFileName(obj.pack)} (holding ${plan.file.path}) is missing`, { details: { backup: id, file: plan.file.path } });
        if (have < obj.offset + obj.length) {
          throw new DrydockError('VALIDATION_FAILED', `backup ${id}: ${packFileName(obj.pack)} is truncated (it should hold ${plan.file.path})`, { details: { backup: id, file: plan.file.path } });
        }
      }
    }
  }
}

function writeAll(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done);
}

function selectBackup(records: BackupRecord[], options: RestoreOptions): BackupRecord {
  if (options.backupId) {
    const r = records.find((b) => b.id === options.backupId);
    if (!r) throw new DrydockError('VALIDATION_FAILED', `backup ${options.backupId} is not in the repository`, { hint: 'list backups with drydock backup list' });
    return r;
  }
  if (options.targetTime) {
    const target = new Date(options.targetTime);
    const r = backupForTime(records, target);
    if (!r) throw new DrydockError('VALIDATION_FAILED', `no backup finished before ${target.toISOString()}; the oldest point that can be restored is the end of the oldest backup`);
    return r;
  }
  const r = newestBackup(records);
  if (!r) throw new DrydockError('VALIDATION_FAILED', 'the repository holds no backup');
  return r;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const t0 = Date.now();
  const repo = openRepository(options.repository);
  const records = listBackups(repo);
  const target = selectBackup(records, options);
  const chainRecords = resolveChain(records, target.id);
  const manifests = chainRecords.map((r) => readManifest(repo, r));
  const plans = planRestore(manifests);
  checkChainPieces(repo, manifests, plans);

  if (existsSync(options.to) && readdirSync(options.to).length > 0) {
    throw new DrydockError('CONFIG_INVALID', `restore target ${options.to} is not empty`, { hint: 'restore into a new or empty directory (stop PostgreSQL and move the old data directory aside first)' });
  }
  const last = manifests[manifests.length - 1]!;
  const total = plans.reduce((a, p) => a + p.file.size, 0);
  const bar = options.progress ? new cliProgress.SingleBar({ format: 'restore [{bar}] {percentage}% | {value}/{total} MiB | {file}', noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(Math.ceil(total / 1048576), 0, { file: '' });
  const fds = new Map<string, number>();
  const crcHasher = await createCRC32(CRC32C_POLYNOMIAL);
  let done = 0;
  try {
    mkdirSync(options.to, { recursive: true, mode: 0o700 });
    for (const d of last.dirs) mkdirSync(join(options.to, d.path), { recursive: true, mode: d.mode || 0o700 });
    for (const plan of plans) {
      const path = join(options.to, plan.file.path);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const fd = openSync(path, 'w+', plan.file.mode || 0o600);
      // A file restored from one whole copy is hashed as it is written; a rebuilt one is re-read.
      const streamed = plan.steps.length === 1;
      crcHasher.init();
      try {
        for (const step of plan.steps) {
          const id = manifests[step.backup]!.id;
          const e = step.entry;
          if (e.inline !== undefined) {
            const content = Buffer.from(e.inline, 'base64');
            writeAll(fd, content, 0);
            if (streamed) crcHasher.update(content);
          } else if (e.kind === 'whole') {
            for (const obj of [...e.objects].sort((a, b) => (a.rawOffset ?? 0) - (b.rawOffset ?? 0))) {
              let pos = obj.rawOffset ?? 0;
              decodeObject(readObject(repo, id, e.path, obj, fds), repo.key, (chunk) => {
                writeAll(fd, chunk, pos);
                if (streamed) crcHasher.update(chunk);
                pos += chunk.length;
              });
            }
          } else {
            for (const obj of e.objects) {
              // The object holds the kept pages back to back, in the order of its block runs.
              const runs = obj.blocks ?? [];
              let run = 0;
              let inRun = 0;
              let carry = Buffer.alloc(0);
              decodeObject(readObject(repo, id, e.path, obj, fds), repo.key, (chunk) => {
                let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
                let off = 0;
                while (run < runs.length && data.length - off > 0) {
                  const [first, count] = runs[run]!;
                  const pageAt = (first + inRun) * PAGE;
                  const isLastPage = run === runs.length - 1 && inRun === count - 1;
                  const avail = data.length - off;
                  if (avail < PAGE && !isLastPage) break;
                  const len = Math.min(PAGE, avail);
                  writeAll(fd, data.subarray(off, off + len), pageAt);
                  off += len;
                  if (++inRun === count) {
                    run++;
                    inRun = 0;
                  }
                }
                carry = Buffer.from(data.subarray(off));
                data = Buffer.alloc(0);
              });
            }
          }
          ftruncateSync(fd, e.size);
        }
        // The rebuilt file must be the file that was backed up: CRC-32C against the manifest.
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let pos = 0; !streamed; ) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n === 0) break;
          crcHasher.update(buf.subarray(0, n));
          pos += n;
        }
        const crc = parseInt(crcHasher.digest('hex'), 16) >>> 0;
        if (crc !== plan.file.crc >>> 0) {
          throw new DrydockError('VALIDATION_FAILED', `restored ${plan.file.path} does not match backup ${last.id} (CRC-32C mismatch)`, { details: { backup: last.id, file: plan.file.path } });
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (options.owner) chownSync(path, options.owner.uid, options.owner.gid);
      done += plan.file.size;
      options.onProgress?.(done, total);
      bar?.update(Math.floor(done / 1048576), { file: plan.file.path });
    }
    // PostgreSQL's own manifest of what was restored, so `pg_verifybackup` can check this directory.
    writeFileSync(join(options.to, 'backup_manifest'), buildPgManifest(last.files, { timeline: target.timeline, startLsn: chainRecords[chainRecords.length - 1]!.startLsn, endLsn: target.stopLsn }));
    writeRecoverySettings(options, target);
    if (options.owner) chownTreeSync(options.to, options.owner);
    // Directories last, deepest first: their entries (the files above) are then durable too.
    for (const d of [...last.dirs].sort((a, b) => b.path.length - a.path.length)) fsyncDir(join(options.to, d.path));
    fsyncDir(options.to);
  } catch (error) {
    rmSync(options.to, { recursive: true, force: true });
    throw error;
  } finally {
    for (const fd of fds.values()) closeSync(fd);
    bar?.stop();
  }
  return {
    backup: target,
    chain: chainRecords.map((r) => r.id),
    files: plans.length,
    bytes: total,
    durationMs: Date.now() - t0,
    targetTime: options.targetTime ? new Date(options.targetTime).toISOString() : null,
  };
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** recovery.signal plus restore_command and the target in postgresql.auto.conf (PostgreSQL 12+). */
export function writeRecoverySettings(options: RestoreOptions, backup: BackupRecord): void {
  const lines = ['', `# Added by drydock restore of backup ${backup.id} (${new Date().toISOString()})`, `restore_command = ${quote(options.restoreCommand)}`];
  if (options.targetTime) {
    lines.push(`recovery_target_time = ${quote(new Date(options.targetTime).toISOString().replace('T', ' ').replace('Z', '+00'))}`);
    lines.push(`recovery_target_action = ${quote(options.targetAction ?? 'promote')}`);
  } else if (options.targetImmediate) {
    lines.push(`recovery_target = 'immediate'`, `recovery_target_action = ${quote(options.targetAction ?? 'promote')}`);
  }
  for (const [k, v] of Object.entries(options.settings ?? {})) lines.push(`${k} = ${v}`);
  const auto = join(options.to, 'postgresql.auto.conf');
  appendFileSync(auto, lines.join('\n') + '\n');
  writeFileAtomic(join(options.to, 'recovery.signal'), '');
  fsyncSync_(auto);
}

function fsyncSync_(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function chownTreeSync(root: string, owner: { uid: number; gid: number }): void {
  chownSync(root, owner.uid, owner.gid);
  for (const name of readdirSync(root, { recursive: true }) as string[]) chownSync(join(root, name), owner.uid, owner.gid);
}
