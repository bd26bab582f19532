// Pure checks for the spec's backup monitoring: success rate over a window against a threshold,
// and a size change of more than 20% from the previous backup of the same kind.
import type { Attempt } from './history.js';

export interface SuccessRate {
  attempts: number;
  failed: number;
  /** Percentage of good attempts, or null when there were none. */
  rate: number | null;
  ok: boolean;
}

export function successRate(
  attempts: readonly Attempt[],
  now: Date,
  windowMs: number,
  thresholdPercent: number,
): SuccessRate {
  const from = now.getTime() - windowMs;
  const inWindow = attempts.filter((a) => {
    const t = new Date(a.at).getTime();
    return t >= from && t <= now.getTime();
  });
  const failed = inWindow.filter((a) => !a.ok).length;
  const rate = inWindow.length ? ((inWindow.length - failed) / inWindow.length) * 100 : null;
  return { attempts: inWindow.length, failed, rate, ok: rate === null || rate >= thresholdPercent };
}

export interface SizeChange {
  id: string;
  previous: string;
  kind: string;
  size: number;
  previousSize: number;
  /** Signed change in percent. */
  changePercent: number;
}

/** The newest backup of each kind compared with the one before it; returned only when over the limit. */
export function sizeChangeAlerts(
  records: ReadonlyArray<{ id: string; kind: string; storedSize: number }>,
  limitPercent: number,
): SizeChange[] {
  const alerts: SizeChange[] = [];
  for (const kind of new Set(records.map((r) => r.kind))) {
    const same = records.filter((r) => r.kind === kind).sort((a, b) => (a.id < b.id ? -1 : 1));
    const last = same[same.length - 1];
    const prev = same[same.length - 2];
    if (!last || !prev || prev.storedSize === 0) continue;
    const change = ((last.storedSize - prev.storedSize) / prev.storedSize) * 100;
    if (Math.abs(change) > limitPercent)
      alerts.push({
        id: last.id,
        previous: prev.id,
        kind,
        size: last.storedSize,
        previousSize: prev.storedSize,
        changePercent: Math.round(change * 10) / 10,
      });
  }
  return alerts;
}
