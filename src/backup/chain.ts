// Pure decisions about backup chains: which backup an incremental builds on, which chain a restore
// needs, and which backup serves a point-in-time target. No I/O; unit-tested on plain records.
import { DrydockError } from '../errors.js';
import { parseLsn } from './lsn.js';
import type { BackupRecord, HistoryEntry } from './types.js';

type ChainRecord = Pick<BackupRecord, 'id' | 'kind' | 'parent' | 'systemIdentifier' | 'stoppedAt' | 'timeline'> &
  Partial<Pick<BackupRecord, 'stopLsn' | 'timelineHistory'>>;

/** A record's timeline history; records from before histories were kept are known only on timeline 1. */
export function historyOf(r: ChainRecord): HistoryEntry[] | undefined {
  return r.timelineHistory ?? (r.timeline === 1 ? [{ tli: 1, begin: '0/0', end: null }] : undefined);
}

/**
 * Why a backup on `history` cannot build on `parent` (undefined when it can). After a
 * point-in-time restore or a failover the new timeline reuses the old one's LSNs, so a parent is
 * usable only if it lies on this history and ended before the point where the history left its
 * timeline; otherwise its pages hold changes this timeline never had, with LSNs an incremental
 * would take for "unchanged".
 */
export function offHistory(parent: ChainRecord, history: readonly HistoryEntry[] | undefined): string | undefined {
  if (!history) return `the timeline history of this backup is unknown`;
  const current = history[history.length - 1]!;
  const entry = history.find((h) => h.tli === parent.timeline);
  if (!entry)
    return `${parent.id} was taken on timeline ${parent.timeline}, which is not in the history of timeline ${current.tli}`;
  if (entry.end !== null && parent.stopLsn !== undefined && parseLsn(parent.stopLsn) > parseLsn(entry.end)) {
    const next = history[history.indexOf(entry) + 1]!;
    return `${parent.id} ended at ${parent.stopLsn} on timeline ${parent.timeline}, after timeline ${next.tli} branched off it at ${entry.end}`;
  }
  return undefined;
}

/**
 * The parent of the next incremental: the newest good backup of this cluster on its timeline
 * `history` (see offHistory). Skipped newer backups are reported through `onSkip`.
 */
export function chooseParent<T extends ChainRecord>(
  records: readonly T[],
  systemIdentifier: string,
  history?: readonly HistoryEntry[],
  onSkip?: (reason: string) => void,
): T | undefined {
  const mine = records.filter((r) => r.systemIdentifier === systemIdentifier).sort((a, b) => (a.id < b.id ? 1 : -1));
  if (!history) return mine[0];
  for (const r of mine) {
    const why = offHistory(r, history);
    if (!why) return r;
    onSkip?.(why);
  }
  return undefined;
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
    const childHistory = historyOf(current);
    const why = childHistory ? offHistory(parent, childHistory) : undefined;
    if (why)
      throw new DrydockError(
        'VALIDATION_FAILED',
        `incremental backup ${current.id} (timeline ${current.timeline}) is built on ${parent.id}, which is not on its timeline history: ${why}`,
        { details: { backup: current.id, parent: parent.id } },
      );
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
