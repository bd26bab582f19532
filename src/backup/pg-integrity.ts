// The integrity check: re-read every stored object of every kept backup and every archived WAL
// file, verify it against its recorded SHA-256 and decompress it (zstd checks the content
// checksum), and report each damaged or missing piece by name. Also reports gaps in the WAL a kept
// backup or the point-in-time range needs.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packFileName } from './copy-pool.js';
import { resolveChain } from './chain.js';
import { isSegmentName, segmentName, segmentNumber } from './lsn.js';
import { decodeObject, sha256Hex } from './object-codec.js';
import { backupDir, readCatalog, readManifest, type Repository } from './repository.js';
import { checkAttempts } from './history.js';
import type { BackupManifest } from './types.js';
import { listWal, readWal } from './wal-archive.js';
import { listLogicalBackups, verifyLogicalBackup } from './logical-dump.js';

export interface IntegrityProblem {
  /** The backup the problem belongs to, or "wal". */
  backup: string;
  /** The damaged or missing thing: a data file path, a pack, manifest.json or a WAL file name. */
  file: string;
  problem: string;
}

export interface IntegrityReport {
  backups: number;
  /** pg_dump backups checked (when a bin directory for pg_restore is given). */
  logicalBackups: number;
  objects: number;
  walFiles: number;
  bytesRead: number;
  problems: IntegrityProblem[];
  durationMs: number;
}

/**
 * Stored objects and WAL only (synchronous reads, no child process). `checkRepository` adds the
 * logical dumps, whose check runs pg_restore.
 */
export function checkIntegrity(repo: Repository, options: { signal?: AbortSignal | undefined } = {}): IntegrityReport {
  const t0 = Date.now();
  const problems: IntegrityProblem[] = [];
  const { records, damaged } = readCatalog(repo);
  // The repository describes itself: damaged catalog entries, PostgreSQL manifests and history lines are named.
  for (const d of damaged) problems.push({ backup: d.id, file: d.file, problem: d.problem });
  for (const r of records) {
    if (!r.pgManifestSha256) continue;
    const path = join(backupDir(repo, r.id), 'backup_manifest');
    if (!existsSync(path))
      problems.push({ backup: r.id, file: 'backup_manifest', problem: 'backup_manifest is missing' });
    else if (sha256Hex(readFileSync(path)) !== r.pgManifestSha256)
      problems.push({
        backup: r.id,
        file: 'backup_manifest',
        problem: 'backup_manifest is damaged (checksum mismatch)',
      });
  }
  for (const h of checkAttempts(repo).problems)
    problems.push({ backup: 'history', file: `history.jsonl line ${h.line}`, problem: h.problem });
  let objects = 0;
  let bytesRead = 0;
  const manifests = new Map<string, BackupManifest>();

  for (const record of records) {
    try {
      manifests.set(record.id, readManifest(repo, record));
    } catch (error) {
      problems.push({ backup: record.id, file: 'manifest.json', problem: (error as Error).message });
    }
  }
  for (const record of records) {
    try {
      resolveChain(records, record.id);
    } catch (error) {
      problems.push({ backup: record.id, file: '(chain)', problem: (error as Error).message });
    }
    const manifest = manifests.get(record.id);
    if (!manifest) continue;
    const dir = backupDir(repo, record.id);
    const fds = new Map<number, number>();
    const badPacks = new Set<number>();
    for (const p of manifest.packs) {
      const path = join(dir, packFileName(p.pack));
      if (!existsSync(path)) {
        badPacks.add(p.pack);
        problems.push({ backup: record.id, file: packFileName(p.pack), problem: 'pack file is missing' });
      } else if (statSync(path).size !== p.size) {
        problems.push({
          backup: record.id,
          file: packFileName(p.pack),
          problem: `pack file has ${statSync(path).size} bytes, expected ${p.size}`,
        });
        fds.set(p.pack, openSync(path, 'r'));
      } else fds.set(p.pack, openSync(path, 'r'));
    }
    try {
      for (const file of manifest.files) {
        if (options.signal?.aborted) break;
        for (const obj of file.objects) {
          objects++;
          if (badPacks.has(obj.pack)) {
            problems.push({
              backup: record.id,
              file: file.path,
              problem: `stored in missing ${packFileName(obj.pack)}`,
            });
            continue;
          }
          const buf = Buffer.allocUnsafe(obj.length);
          const n = readSync(fds.get(obj.pack)!, buf, 0, obj.length, obj.offset);
          bytesRead += n;
          if (n !== obj.length) {
            problems.push({
              backup: record.id,
              file: file.path,
              problem: `truncated: ${n} of ${obj.length} stored bytes present`,
            });
            continue;
          }
          if (sha256Hex(buf) !== obj.sha256) {
            problems.push({ backup: record.id, file: file.path, problem: 'checksum mismatch in the stored copy' });
            continue;
          }
          try {
            decodeObject(buf, repo.key, () => {});
          } catch (error) {
            problems.push({
              backup: record.id,
              file: file.path,
              problem: `cannot be decompressed: ${(error as Error).message}`,
            });
          }
        }
      }
    } finally {
      for (const fd of fds.values()) closeSync(fd);
    }
  }

  // WAL: every archived file must decode to its recorded checksum ...
  const wal = listWal(repo);
  for (const w of wal) {
    if (options.signal?.aborted) break;
    try {
      bytesRead += readWal(repo, w).length;
    } catch (error) {
      problems.push({ backup: 'wal', file: w.name, problem: (error as Error).message });
    }
  }
  // ... and the segments from the oldest backup's start to the newest archived one must all be there.
  const segmentSize = records[0]?.segmentSize;
  if (segmentSize && records.length) {
    const present = new Set(wal.map((w) => w.name));
    const presentNumbers = new Set(
      wal.filter((w) => isSegmentName(w.name)).map((w) => `${segmentNumber(w.name, segmentSize)}`),
    );
    const first = records.reduce(
      (min, r) => (segmentNumber(r.walStart, segmentSize) < min ? segmentNumber(r.walStart, segmentSize) : min),
      segmentNumber(records[0]!.walStart, segmentSize),
    );
    const segs = wal.filter((w) => isSegmentName(w.name)).map((w) => segmentNumber(w.name, segmentSize));
    const last = segs.reduce((max, s) => (s > max ? s : max), first);
    for (let s = first; s <= last; s++) {
      if (!presentNumbers.has(`${s}`))
        problems.push({
          backup: 'wal',
          file: segmentName(records[0]!.timeline, s, segmentSize),
          problem: 'WAL segment missing: point-in-time recovery cannot pass it',
        });
    }
    for (const r of records) {
      for (let s = segmentNumber(r.walStart, segmentSize); s <= segmentNumber(r.walStop, segmentSize); s++) {
        const name = segmentName(r.timeline, s, segmentSize);
        if (!present.has(name))
          problems.push({
            backup: r.id,
            file: name,
            problem: 'WAL segment needed to make this backup consistent is missing',
          });
      }
    }
  }
  return {
    backups: records.length,
    logicalBackups: 0,
    objects,
    walFiles: wal.length,
    bytesRead,
    problems,
    durationMs: Date.now() - t0,
  };
}

/** The whole repository: checkIntegrity, plus every logical dump when a bin directory for pg_restore is given. */
export async function checkRepository(
  repo: Repository,
  options: { signal?: AbortSignal | undefined; binDirectory?: string | undefined } = {},
): Promise<IntegrityReport> {
  const t0 = Date.now();
  const report = checkIntegrity(repo, { signal: options.signal });
  // Logical dumps: stored checksum, content checksum and a table of contents pg_restore can read.
  const logical = options.binDirectory ? listLogicalBackups(repo) : [];
  for (const record of logical) {
    const v = await verifyLogicalBackup(repo, record, options.binDirectory!);
    if (!v.ok)
      report.problems.push({
        backup: `logical/${record.id}`,
        file: `${record.id}.dump.zst`,
        problem: v.problem ?? 'unreadable',
      });
  }
  return { ...report, logicalBackups: logical.length, durationMs: Date.now() - t0 };
}
