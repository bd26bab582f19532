// Integrity of the file backups: every manifest and version history is decoded (zstd checksum, GCM
// tag when encrypted), and every blob they reference is read once and checked against its name. A
// damaged, truncated or missing object is reported by name, with the files that use it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IntegrityProblem } from '../pg-integrity.js';
import type { Repository } from '../repository.js';
import { checkRedisBackups, type RedisIntegrityReport } from '../redis/rdb-integrity.js';
import { openBlobStore, readBlob, type BlobStore } from './blob-store.js';
import { readAllHistories } from './config-versions.js';
import { listSnapshotIds, readSnapshot } from './snapshot.js';

export interface FilesIntegrityReport {
  snapshots: number;
  histories: number;
  blobs: number;
  bytes: number;
  problems: IntegrityProblem[];
}

type Users = Map<string, string[]>;

function use(users: Users, blob: string, who: string): void {
  const list = users.get(blob);
  if (list) {
    if (list.length < 3) list.push(who);
  } else users.set(blob, [who]);
}

function checkBlobs(store: BlobStore, users: Users, area: string, report: FilesIntegrityReport): void {
  for (const [name, who] of users) {
    try {
      report.bytes += readBlob(store, name).length;
      report.blobs++;
    } catch (error) {
      report.problems.push({
        backup: area,
        file: `blobs/${name.slice(0, 2)}/${name}`,
        problem: `${(error as Error).message}; used by ${who.join(', ')}`,
      });
    }
  }
}

export function checkFileBackups(repo: Repository): FilesIntegrityReport {
  const report: FilesIntegrityReport = { snapshots: 0, histories: 0, blobs: 0, bytes: 0, problems: [] };
  if (!existsSync(join(repo.root, 'files'))) return report;

  const uploads = openBlobStore(repo, 'uploads');
  const uploadUsers: Users = new Map();
  for (const id of listSnapshotIds(uploads)) {
    report.snapshots++;
    try {
      for (const e of readSnapshot(uploads, id).entries)
        for (const c of e.chunks ?? []) use(uploadUsers, c, `${id}:${e.path}`);
    } catch (error) {
      report.problems.push({
        backup: `files/uploads/${id}`,
        file: `snapshots/${id}.json.zst`,
        problem: (error as Error).message,
      });
    }
  }
  checkBlobs(uploads, uploadUsers, 'files/uploads', report);

  const config = openBlobStore(repo, 'config');
  const configUsers: Users = new Map();
  for (const h of readAllHistories(config)) {
    report.histories++;
    if (!h.history) {
      report.problems.push({ backup: 'files/config', file: `history/${h.file}`, problem: h.error ?? 'unreadable' });
      continue;
    }
    for (const v of h.history.versions)
      for (const c of v.chunks) use(configUsers, c, `${h.history.path} v${v.version}`);
  }
  checkBlobs(config, configUsers, 'files/config', report);
  return report;
}

/** Both checks of this area at once, for the daily integrity check: Redis backups and file backups. */
export function checkRedisAndFileBackups(repo: Repository): {
  redis: RedisIntegrityReport;
  files: FilesIntegrityReport;
  problems: IntegrityProblem[];
} {
  const redis = checkRedisBackups(repo);
  const files = checkFileBackups(repo);
  return { redis, files, problems: [...redis.problems, ...files.problems] };
}
