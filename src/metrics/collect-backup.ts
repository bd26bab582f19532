// Backup outcomes as metrics, read from the backup repository the backup tasks keep (attempt
// history and catalog), so the backup_failed and backup_size_change alert rules see them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readAttempts, type Attempt } from '../backup/history.js';
import { REPOSITORY_FILE, listBackups, openRepository } from '../backup/repository.js';
import { repositorySettings } from '../backup/settings.js';
import type { Policy } from '../policy/schema.js';
import type { MetricValue } from './types.js';

/** Pure: the newest attempt of each kind (failed → 1) and the size change of the newest backup of each kind against the one before. */
export function backupMetrics(
  attempts: readonly Attempt[],
  records: ReadonlyArray<{ id: string; kind: string; storedSize: number }>,
): MetricValue[] {
  const out: MetricValue[] = [];
  const latest = new Map<string, Attempt>();
  for (const a of attempts) {
    const seen = latest.get(a.kind);
    if (!seen || a.at >= seen.at) latest.set(a.kind, a);
  }
  for (const [kind, a] of [...latest.entries()].sort())
    out.push({ name: 'backup_failed', labels: { kind }, value: a.ok ? 0 : 1 });
  for (const kind of [...new Set(records.map((r) => r.kind))].sort()) {
    const same = records.filter((r) => r.kind === kind).sort((a, b) => (a.id < b.id ? -1 : 1));
    const last = same.at(-1);
    const prev = same.at(-2);
    if (!last || !prev || prev.storedSize === 0) continue;
    // Growth and shrinkage both count: "> 20%" is compared with the absolute change.
    out.push({
      name: 'backup_size_change_ratio',
      labels: { kind },
      value: Math.abs((last.storedSize - prev.storedSize) / prev.storedSize),
    });
  }
  return out;
}

/** No repository yet means no backups were taken: nothing to collect, and not an outage. */
export function backupRepositoryExists(policy: Policy): boolean {
  return existsSync(join(policy.backup.repository.path, REPOSITORY_FILE));
}

export function collectBackup(policy: Policy): MetricValue[] {
  const repo = openRepository(repositorySettings(policy));
  return backupMetrics(readAttempts(repo), listBackups(repo));
}
