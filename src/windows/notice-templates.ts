// Readable notices for people: one template per notice kind. Plain text (email, SMS, Slack and the
// status page all show it); times are always written in UTC with the weekday.
import { formatSpan, formatWhen } from '../notify/format.js';
import type { WindowRecord } from './types.js';

export type NoticeKindName =
  | 'advance_notice'
  | 'reminder'
  | 'start'
  | 'update'
  | 'end'
  | 'rescheduled'
  | 'cancelled'
  | 'approval_request'
  | 'approval_decision'
  | 'alert';

export interface NoticeContext {
  window: WindowRecord;
  /** update: the text; alert: what went wrong. */
  message?: string;
  /** rescheduled: the old times. */
  previous?: { start: Date; end: Date };
  /** approval_request: the roles still needed and where to approve. */
  approval?: { roles: string[]; planHash: string; howTo: string };
  /** approval_decision: who decided what. */
  decision?: { person: string; role: string; decision: 'approved' | 'refused'; comment?: string };
}

export interface RenderedNotice {
  subject: string;
  text: string;
}

function durationText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} minutes`;
  const hours = minutes / 60;
  return Number.isInteger(hours) ? `${hours} hours` : `${hours.toFixed(1)} hours`;
}

function details(w: WindowRecord): string[] {
  return [
    `When: ${formatSpan(w.start, w.end)} (${durationText(w.end.getTime() - w.start.getTime())})`,
    `What: ${w.change.summary}`,
    ...(w.change.components.length ? [`Affects: ${w.change.components.join(', ')}`] : []),
    `Owner: ${w.change.owner}${w.change.standby.length ? `; on standby: ${w.change.standby.join(', ')}` : ''}`,
    `Reference: maintenance window #${w.id}${w.kind === 'emergency' ? ' (emergency)' : ''}`,
  ];
}

const label = (w: WindowRecord) => (w.kind === 'emergency' ? 'Emergency maintenance' : 'Scheduled maintenance');

export function renderNotice(kind: NoticeKindName, ctx: NoticeContext): RenderedNotice {
  const w = ctx.window;
  const lines = (...parts: Array<string | string[]>) => parts.flat().join('\n');
  switch (kind) {
    case 'advance_notice':
      return {
        subject: `${label(w)}: ${w.title} on ${formatWhen(w.start)}`,
        text: lines(
          `${label(w)} is planned. Services may be unavailable during the window.`,
          '',
          details(w),
          '',
          'You will get a reminder before it starts and a notice when it ends.',
        ),
      };
    case 'reminder':
      return {
        subject: `Reminder: ${w.title} starts ${formatWhen(w.start)}`,
        text: lines(`Reminder: ${label(w).toLowerCase()} starts soon.`, '', details(w)),
      };
    case 'start':
      return {
        subject: `Maintenance started: ${w.title}`,
        text: lines(`${label(w)} has started. Services may be unavailable until ${formatWhen(w.end)}.`, '', details(w)),
      };
    case 'update':
      return {
        subject: `Maintenance update: ${w.title}`,
        text: lines(ctx.message ?? '(no text)', '', `Window: ${formatSpan(w.start, w.end)} · #${w.id}`),
      };
    case 'end': {
      const ok = w.outcome === 'succeeded' || w.outcome === null;
      return {
        subject: `Maintenance ${ok ? 'completed' : w.outcome === 'rolled_back' ? 'rolled back' : 'finished with problems'}: ${w.title}`,
        text: lines(
          ok
            ? 'The maintenance is complete and the post-maintenance checks passed.'
            : `The maintenance ended with outcome "${w.outcome}".`,
          ...(w.validation
            ? [`Checks: ${w.validation.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ') || 'none'}`]
            : []),
          ...(ctx.message ? ['', ctx.message] : []),
          '',
          details(w),
        ),
      };
    }
    case 'rescheduled':
      return {
        subject: `Maintenance rescheduled: ${w.title} now ${formatWhen(w.start)}`,
        text: lines(
          `The maintenance you were told about has moved.`,
          `Was: ${ctx.previous ? formatSpan(ctx.previous.start, ctx.previous.end) : 'unknown'}`,
          `Now: ${formatSpan(w.start, w.end)}`,
          ...(ctx.message ? [`Why: ${ctx.message}`] : []),
          '',
          details(w),
        ),
      };
    case 'cancelled':
      return {
        subject: `Maintenance cancelled: ${w.title} (${formatWhen(w.start)})`,
        text: lines(
          `The maintenance planned for ${formatSpan(w.start, w.end)} will not take place.`,
          ...(ctx.message ? [`Why: ${ctx.message}`] : []),
          '',
          `Reference: maintenance window #${w.id}`,
        ),
      };
    case 'approval_request':
      return {
        subject: `Approval needed: ${label(w).toLowerCase()} ${w.title} at ${formatWhen(w.start)}`,
        text: lines(
          `${w.requestedBy} asks for approval of ${label(w).toLowerCase()}.`,
          `Approvals still needed from: ${ctx.approval?.roles.join(', ') || 'nobody'}`,
          '',
          details(w),
          `Rollback plan: ${w.change.rollbackPlan}`,
          '',
          `Plan fingerprint: ${ctx.approval?.planHash.slice(0, 16) ?? w.planHash.slice(0, 16)}`,
          ctx.approval?.howTo ?? '',
          'If it is not approved before its start time, it does not run.',
        ),
      };
    case 'approval_decision': {
      const d = ctx.decision;
      return {
        subject: `${w.title}: ${d ? `${d.decision} by ${d.person} (${d.role})` : (ctx.message ?? 'decision')}`,
        text: lines(
          d
            ? `${d.person} (${d.role}) ${d.decision} ${label(w).toLowerCase()} #${w.id}.${d.comment ? ` Comment: ${d.comment}` : ''}`
            : '',
          ...(ctx.message ? [ctx.message] : []),
          `Status now: ${w.status.replace('_', ' ')}`,
          '',
          details(w),
        ),
      };
    }
    case 'alert':
      return {
        subject: `ALERT: ${w.title}: ${ctx.message?.split('\n')[0] ?? 'problem'}`,
        text: lines(
          ctx.message ?? 'A problem needs attention.',
          '',
          details(w),
          '',
          'Rollback plan:',
          w.change.rollbackPlan,
        ),
      };
  }
}
