// The scheduling rules for a maintenance window, as pure functions: a change record with a rollback
// plan, no overlap with another active window, nothing inside a blackout (unless the work is a
// security or critical-bug fix), enough notice (7 days for planned work, 1 hour for emergencies),
// and regular windows only on the regular calendar. Each refusal is a sentence saying why.
import { createHash } from 'node:crypto';
import type { Policy } from '../policy/schema.js';
import { blackoutSpans, formatInterval, windowOccurrences, type Calendar } from './calendar.js';
import type { ChangeRecord, WindowKind, WindowRecord } from './types.js';

export interface ProposedWindow {
  kind: WindowKind;
  title: string;
  start: Date;
  end: Date;
  change: ChangeRecord;
}

export function noticeDurations(policy: Policy): { advanceMs: number; reminderMs: number; emergencyMinimumMs: number } {
  const mw = policy.maintenance_windows;
  return {
    advanceMs: mw.regular.notification.advance.ms,
    reminderMs: mw.regular.notification.reminder.ms,
    emergencyMinimumMs: mw.emergency.notification.minimum.ms,
  };
}

function minutesText(value: number): string {
  const minutes = Math.floor(value / 60_000);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}

/** Every reason the window cannot be scheduled; empty when it can. */
export function checkSchedule(
  w: ProposedWindow,
  ctx: { now: Date; policy: Policy; calendar: Calendar; existing: readonly WindowRecord[]; excludeId?: number },
): string[] {
  const reasons: string[] = [];
  const { advanceMs, emergencyMinimumMs } = noticeDurations(ctx.policy);
  if (!w.title.trim()) reasons.push('a window needs a title');
  if (!w.change.summary.trim()) reasons.push('the change record must say what will be done');
  if (!w.change.rollbackPlan.trim())
    reasons.push('the change record has no rollback plan; a window without one cannot be scheduled');
  if (!w.change.owner.trim()) reasons.push('the change record needs an owner');
  if (w.end <= w.start) {
    reasons.push(`the window must end after it starts (${w.start.toISOString()} .. ${w.end.toISOString()})`);
    return reasons;
  }
  const lead = w.start.getTime() - ctx.now.getTime();
  if (lead < 0) reasons.push(`the window starts in the past (${w.start.toISOString()})`);
  else if (w.kind === 'emergency' && lead < emergencyMinimumMs) {
    reasons.push(
      `emergency maintenance needs at least ${minutesText(emergencyMinimumMs)} of notice; this one would start in ${minutesText(lead)}`,
    );
  } else if (w.kind !== 'emergency' && lead < advanceMs) {
    reasons.push(
      `planned maintenance is announced ${minutesText(advanceMs)} ahead; this one would start in ${minutesText(lead)} (request an emergency window instead)`,
    );
  }
  if (w.kind === 'regular') {
    const inside = windowOccurrences(ctx.calendar.window, w.start, w.end).some(
      (o) => o.start <= w.start && o.end >= w.end,
    );
    if (!inside) reasons.push('a regular window must lie inside the regular maintenance window of the calendar');
  }
  for (const other of ctx.existing) {
    if (other.id === ctx.excludeId) continue;
    if (other.status !== 'pending_approval' && other.status !== 'scheduled' && other.status !== 'in_progress') continue;
    if (other.start < w.end && other.end > w.start)
      reasons.push(`it overlaps window #${other.id} "${other.title}" (${formatInterval(other)})`);
  }
  const excepted =
    (w.change.taskClass === 'security' && ctx.policy.maintenance_windows.blackout.exceptions.security) ||
    (w.change.taskClass === 'critical_bug' && ctx.policy.maintenance_windows.blackout.exceptions.critical_bugs);
  if (!excepted) {
    const seen = new Set<string>();
    for (const span of blackoutSpans(ctx.calendar.blackouts, w.start, w.end)) {
      if (seen.has(span.period)) continue;
      seen.add(span.period);
      reasons.push(`it falls inside the blackout period "${span.period}" (${span.detail}, ${formatInterval(span)})`);
    }
  }
  return reasons;
}

/** A fingerprint of exactly what is to be done and when; approvals are bound to it. */
export function planHash(w: ProposedWindow): string {
  const canonical = JSON.stringify({
    kind: w.kind,
    title: w.title,
    start: w.start.toISOString(),
    end: w.end.toISOString(),
    change: {
      summary: w.change.summary,
      rollbackPlan: w.change.rollbackPlan,
      owner: w.change.owner,
      standby: [...w.change.standby],
      components: [...w.change.components],
      tasks: [...w.change.tasks],
      taskClass: w.change.taskClass,
    },
  });
  return createHash('sha256').update(canonical).digest('hex');
}
