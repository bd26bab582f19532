// Pure: whether a run's outcome deserves a failure (or recovery) notice, the way Alertmanager groups
// and repeats: the first failure of a streak is sent; the same failure again (same failing checks or
// steps) is held back until `notify.repeat` has passed since the last notice sent; a different
// failure is sent at once; the first success after a notified failure sends one "recovered" notice.
// Without this, a task that fails every 5 minutes (a disk at 81 % failing server.health_check)
// would send a failure notice every 5 minutes.

export interface LastFailureNotice {
  at: Date;
  /** The failing checks or steps the notice was about. */
  signature: string;
}

export interface FailureNoticeInput {
  outcome: 'succeeded' | 'failed' | 'validation_failed' | 'interrupted' | 'skipped';
  /** The failing checks or steps of this run (empty when it succeeded). */
  signature: string;
  /** Whether the task's previous finished run (before this one) failed: the streak is unbroken. */
  previousFailed: boolean;
  lastNotice: LastFailureNotice | null;
  now: Date;
  repeatMs: number;
}

export type FailureNoticeDecision =
  { send: 'failure'; reason: string } | { send: 'recovered'; reason: string } | { send: 'none'; reason: string };

export function decideFailureNotice(input: FailureNoticeInput): FailureNoticeDecision {
  const { outcome, signature, previousFailed, lastNotice, now, repeatMs } = input;
  if (outcome === 'interrupted' || outcome === 'skipped') return { send: 'none', reason: `run ${outcome}` };
  if (outcome === 'succeeded') {
    return previousFailed && lastNotice
      ? { send: 'recovered', reason: 'first success after a failure that was notified' }
      : { send: 'none', reason: 'succeeded' };
  }
  if (!previousFailed || !lastNotice) return { send: 'failure', reason: 'first failure of a streak' };
  if (lastNotice.signature !== signature)
    return { send: 'failure', reason: 'a different failure than the last notice' };
  const since = now.getTime() - lastNotice.at.getTime();
  if (since >= repeatMs) return { send: 'failure', reason: 'still failing; repeat interval passed' };
  return {
    send: 'none',
    reason: `same failure as the notice of ${lastNotice.at.toISOString()}; repeated after ${Math.round(repeatMs / 60_000)} min`,
  };
}

/** A stable description of what failed: names only, never the figures that change from run to run. */
export function failureSignature(failures: readonly { name: string }[], failingChecks: readonly { name: string }[]) {
  const names = [...failures.map((f) => `step:${f.name}`), ...failingChecks.map((c) => `check:${c.name}`)];
  return [...new Set(names)].sort().join(', ');
}
