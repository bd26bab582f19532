// Pure decisions about backup chains: which backup an incremental builds on, which chain a restore
// needs, and which backup serves a point-in-time target. No I/O; unit-tested on plain records.
import { DrydockError } from '../errors.js';
import type { BackupRecord } from './types.js';

type ChainRecord = Pick<BackupRecord, 'id' | 'kind' | 'parent' | 'systemIdentifier' | 'stoppedAt' | 'timeline'>;

/** The newest good backup of this cluster: the parent of the next incremental. */
export function chooseParent<T extends ChainRecord>(records: readonly T[], systemIdentifier: string): T | undefined {
  const mine = records.filter((r) => r.systemIdentifier === systemIdentifier);
  return mine.sort((a, b) => (a.id < b.id ? -1 : 1))[mine.length - 1];
}

/**
 * The backups to restore, full first, ending with `id`. Throws naming the first missing piece, so
 * a restore never starts on a chain it cannot finish.
 */
export function resolveChain<T extends ChainRecord>(records: readonly T[], id: string): T[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  const chain: T[] = [];
  let current = byId.get(id);
  if (!current)
    throw new DrydockError('VALIDATION_FAILED', `backup ${id} is not in the repository catalog`, {
      details: { missing: id },
    });
  const seen = new Set<string>();
  for (;;) {
    chain.unshift(current);
    if (current.kind === 'full') return chain;
    if (!current.parent)
      throw new DrydockError('VALIDATION_FAILED', `incremental backup ${current.id} names no parent`, {
        details: { missing: current.id },
      });
    if (seen.has(current.id)) throw new DrydockError('VALIDATION_FAILED', `backup chain loops at ${current.id}`);
    seen.add(current.id);
    const parent = byId.get(current.parent);
    if (!parent) {
      throw new DrydockError(
        'VALIDATION_FAILED',
        `backup ${current.parent}, needed by ${id}, is missing from the repository`,
        { details: { missing: current.parent } },
      );
    }
    current = parent;
  }
}

/** The newest backup that finished at or before `target` (a restore replays WAL from it to the target). */
export function backupForTime<T extends ChainRecord>(records: readonly T[], target: Date): T | undefined {
  const eligible = records.filter((r) => new Date(r.stoppedAt).getTime() <= target.getTime());
  return eligible.sort((a, b) => (a.id < b.id ? -1 : 1))[eligible.length - 1];
}

/** The newest backup of all. */
export function newestBackup<T extends ChainRecord>(records: readonly T[]): T | undefined {
  return [...records].sort((a, b) => (a.id < b.id ? -1 : 1))[records.length - 1];
}
