// Integrity of the Redis backups: every part of every kept backup is re-read, checked against its
// SHA-256, decompressed (zstd's content checksum) and the whole RDB checked against its SHA-256.
// Problems are named as "<backup id>" + "dump.rdb.zst part N" (or "missing").
import type { IntegrityProblem } from '../pg-integrity.js';
import type { Repository } from '../repository.js';
import { listRedisBackups, readRedisBackup, RDB_FILE } from './rdb-store.js';

export interface RedisIntegrityReport {
  backups: number;
  parts: number;
  bytes: number;
  problems: IntegrityProblem[];
}

export function checkRedisBackups(repo: Repository): RedisIntegrityReport {
  const report: RedisIntegrityReport = { backups: 0, parts: 0, bytes: 0, problems: [] };
  for (const record of listRedisBackups(repo)) {
    report.backups++;
    try {
      readRedisBackup(repo, record, (chunk) => {
        report.bytes += chunk.length;
      });
      report.parts += record.parts.length;
    } catch (error) {
      report.problems.push({ backup: `redis/${record.id}`, file: RDB_FILE, problem: (error as Error).message });
    }
  }
  return report;
}
