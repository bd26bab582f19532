// Pure retention: which backups and WAL files `expire` may delete. Rules, in order:
//  1. a backup within its retention (its own, or its kind's) is kept, and so is the newest backup whatever its age;
//  2. everything a kept backup depends on (its chain back to the full) is kept;
//  3. WAL is kept from the first segment the oldest kept backup needs onwards, so point-in-time
//     recovery works from the oldest kept backup to now; older segments go. History files stay.
import { isSegmentName, segmentNumber } from './lsn.js';
import type { BackupRecord } from './types.js';

type RetentionRecord = Pick<BackupRecord, 'id' | 'kind' | 'parent' | 'stoppedAt' | 'walStart' | 'segmentSize'> & {
  retentionMs?: number | undefined;
};

export interface RetentionRules {
  fullMs: number;
  incrementalMs: number;
}

export interface RetentionPlan {
  keep: string[];
  expire: string[];
  /** Segment number below which WAL segments may be deleted (null: keep all). */
  walKeepFrom: bigint | null;
  reasons: Record<string, string>;
}

export function planRetention(records: readonly RetentionRecord[], now: Date, rules: RetentionRules): RetentionPlan {
  const sorted = [...records].sort((a, b) => (a.id < b.id ? -1 : 1));
  const byId = new Map(sorted.map((r) => [r.id, r]));
  const keep = new Set<string>();
  const reasons: Record<string, string> = {};
  for (const r of sorted) {
    const age = now.getTime() - new Date(r.stoppedAt).getTime();
    const limit = r.retentionMs ?? (r.kind === 'full' ? rules.fullMs : rules.incrementalMs);
    if (age <= limit) {
      keep.add(r.id);
      reasons[r.id] = `within ${r.kind} retention`;
    }
  }
  const newest = sorted[sorted.length - 1];
  if (newest && !keep.has(newest.id)) {
    keep.add(newest.id);
    reasons[newest.id] = 'newest backup';
  }
  for (const id of [...keep]) {
    let parent = byId.get(id)?.parent;
    while (parent && byId.has(parent)) {
      if (!keep.has(parent)) {
        keep.add(parent);
        reasons[parent] = `needed by ${id}`;
      }
      parent = byId.get(parent)!.parent;
    }
  }
  const kept = sorted.filter((r) => keep.has(r.id));
  const expire = sorted.filter((r) => !keep.has(r.id)).map((r) => r.id);
  for (const id of expire) reasons[id] = 'past retention and not needed';
  let walKeepFrom: bigint | null = null;
  for (const r of kept) {
    const seg = segmentNumber(r.walStart, r.segmentSize);
    if (walKeepFrom === null || seg < walKeepFrom) walKeepFrom = seg;
  }
  return { keep: kept.map((r) => r.id), expire, walKeepFrom, reasons };
}

/** Whether an archived WAL file may be deleted under a plan (history and other non-segment files never are). */
export function walExpired(name: string, walKeepFrom: bigint | null, segmentSize: number): boolean {
  if (walKeepFrom === null) return false;
  const base = name.slice(0, 24);
  if (!isSegmentName(base) || name.endsWith('.history')) return false;
  return segmentNumber(base, segmentSize) < walKeepFrom;
}
