// expire: delete what retention allows (see retention.ts for the rules) and the folders of
// interrupted backups. The catalog entry goes first, so a crash mid-expire leaves an unlisted
// folder (cleaned next time), never a listed backup with missing pieces.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, lockHolder } from './lock.js';
import { backupDir, catalogPath, listUnlisted, readCatalog, type Repository } from './repository.js';
import { DrydockError } from '../errors.js';
import { planRetention, walExpired, type RetentionPlan, type RetentionRules } from './retention.js';
import { listWal } from './wal-archive.js';
import { segmentName } from './lsn.js';
import { fsyncDir } from './fsync.js';

/** JSON-safe: the plan's segment number becomes the name of the first WAL segment kept. */
export interface ExpireResult {
  plan: Omit<RetentionPlan, 'walKeepFrom'> & { walKeepFrom: string | null };
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
  // A catalog entry that fails its checksum cannot be trusted to say what its backup needs (a
  // flipped walStart would let WAL that a full backup needs be deleted): nothing is deleted.
  const { records, damaged } = readCatalog(repo);
  if (damaged.length > 0)
    throw new DrydockError(
      'VALIDATION_FAILED',
      `expire deletes nothing while a catalog entry is damaged: ${damaged.map((d) => d.problem).join('; ')}`,
      {
        details: { files: damaged.map((d) => d.file) },
        hint: 'run drydock backup verify; put back a good copy of the entry, or remove that backup by hand',
      },
    );
  const plan = planRetention(records, now, rules);
  const segmentSize = records[0]?.segmentSize ?? 16 * 1024 * 1024;
  const doomedWal = listWal(repo).filter((w) => walExpired(w.name, plan.walKeepFrom, segmentSize));
  const timeline = records[0]?.timeline ?? 1;
  const shown = {
    ...plan,
    walKeepFrom: plan.walKeepFrom === null ? null : segmentName(timeline, plan.walKeepFrom, segmentSize),
  };
  if (options.dryRun)
    return {
      plan: shown,
      removedBackups: plan.expire,
      removedPartials: [],
      removedWal: doomedWal.length,
      dryRun: true,
    };

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
      plan: shown,
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
