// expire: delete what retention allows (see retention.ts for the rules) and the folders of
// interrupted backups. The catalog entry goes first, so a crash mid-expire leaves an unlisted
// folder (cleaned next time), never a listed backup with missing pieces.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, lockHolder } from './lock.js';
import { backupDir, catalogPath, listBackups, listUnlisted, type Repository } from './repository.js';
import { planRetention, walExpired, type RetentionPlan, type RetentionRules } from './retention.js';
import { listWal } from './wal-archive.js';
import { fsyncDir } from './fsync.js';

export interface ExpireResult {
  plan: RetentionPlan;
  removedBackups: string[];
  removedPartials: string[];
  removedWal: number;
  dryRun: boolean;
}

export function expireRepository(
  repo: Repository,
  now: Date,
  rules: RetentionRules,
  options: { dryRun?: boolean } = {},
): ExpireResult {
  const records = listBackups(repo);
  const plan = planRetention(records, now, rules);
  const segmentSize = records[0]?.segmentSize ?? 16 * 1024 * 1024;
  const doomedWal = listWal(repo).filter((w) => walExpired(w.name, plan.walKeepFrom, segmentSize));
  if (options.dryRun)
    return { plan, removedBackups: plan.expire, removedPartials: [], removedWal: doomedWal.length, dryRun: true };

  const release = acquireLock(repo, 'expire');
  try {
    for (const id of plan.expire) {
      rmSync(catalogPath(repo, id), { force: true });
    }
    fsyncDir(join(repo.root, 'catalog'));
    for (const id of plan.expire) rmSync(backupDir(repo, id), { recursive: true, force: true });
    const partials = removePartials(repo);
    for (const w of doomedWal) rmSync(w.path, { force: true });
    return {
      plan,
      removedBackups: plan.expire,
      removedPartials: partials,
      removedWal: doomedWal.length,
      dryRun: false,
    };
  } finally {
    release();
  }
}

/** Deletes unlisted backup folders; call only while holding the lock (no backup can be running). */
export function removePartials(repo: Repository): string[] {
  if (lockHolder(repo) !== undefined) return [];
  const partials = listUnlisted(repo);
  for (const id of partials) rmSync(backupDir(repo, id), { recursive: true, force: true });
  // Temp files of interrupted catalog writes.
  for (const name of readdirSync(join(repo.root, 'catalog')))
    if (name.includes('.tmp-')) rmSync(join(repo.root, 'catalog', name), { force: true });
  return partials;
}
