// The windows service the CLI and the HTTP API call: schedule, reschedule, cancel, approve or
// refuse, start, post updates, complete with post-maintenance validation, record lessons, and show
// the whole story. Every change is written to the activity log and announced to stakeholders
// through the delivery log (which never sends one notice twice).
import type { Clock } from '../clock.js';
import { DrydockError, describeError } from '../errors.js';
import { approvalState, checkDecision, type Person } from '../approvals/rules.js';
import {
  audience,
  deliver,
  stakeholderSender,
  type DeliveryReport,
  type SenderDeps,
  type Target,
} from '../notify/deliver.js';
import { formatSpan } from '../notify/format.js';
import { renderNotice, type NoticeContext, type NoticeKindName } from './notice-templates.js';
import type { Channel, OutboundMessage } from '../notify/types.js';
import { redactor } from '../policy/redact.js';
import type { Policy } from '../policy/schema.js';
import { ApprovalStore, type ApprovalRecord } from '../store/sqlite/approvals.js';
import { DeliveryLog, type DeliveryRow } from '../store/sqlite/deliveries.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import { ACTIVE_STATUSES, WindowStore, type StatusNotice, type StoredWindow } from '../store/sqlite/windows.js';
import type { ActivityEntry } from '../store/types.js';
import { blackoutAt, calendarOf, nextWindow, type Interval } from './calendar.js';
import { checkSchedule, noticeDurations, planHash, type ProposedWindow } from './rules.js';
import type { ChangeRecord, ValidationSummary, WindowKind, WindowOutcome, WindowUpdate } from './types.js';

export interface WindowsDeps {
  db: SqliteDatabase;
  policy: Policy;
  clock: Clock;
  /** Channels by policy name (built once, by the channel registry). */
  channels: ReadonlyMap<string, Channel>;
  /** Where activity goes (Store.logActivity). */
  activity?: (entry: ActivityEntry) => void | Promise<void>;
  /** Health checks run before a window starts and after it ends. */
  healthCheck?: () => Promise<ValidationSummary>;
  sleep?: (ms: number) => Promise<void>;
}

export interface ScheduleInput {
  kind?: WindowKind;
  title: string;
  /** Omitted for a regular window: the next regular window at least the advance notice ahead. */
  start?: Date;
  end?: Date;
  summary: string;
  rollbackPlan: string;
  owner: string;
  standby?: string[];
  components?: string[];
  tasks?: string[];
  taskClass?: ChangeRecord['taskClass'];
  /** The person asking (a stakeholder name, proven by their token). */
  requestedBy: string;
  /** What the public status page shows; the internal title and change record never appear there. */
  publicTitle?: string;
  publicDescription?: string;
}

export interface WindowStory {
  window: StoredWindow;
  updates: WindowUpdate[];
  approvals: ApprovalRecord[];
  approval: {
    required: string[];
    missing: string[];
    approved: Array<{ role: string; person: string; at: Date }>;
  } | null;
  deliveries: DeliveryRow[];
}

const subjectOf = (id: number) => `window:${id}`;

function refused(what: string, reasons: string[]): DrydockError {
  return new DrydockError('VALIDATION_FAILED', `${what}: ${reasons.join('; ')}`, { details: { reasons } });
}

export class WindowsService {
  readonly store: WindowStore;
  readonly deliveries: DeliveryLog;
  readonly approvals: ApprovalStore;
  private readonly sender: SenderDeps;

  constructor(private readonly deps: WindowsDeps) {
    this.store = new WindowStore(deps.db);
    this.deliveries = new DeliveryLog(deps.db);
    this.approvals = new ApprovalStore(deps.db);
    this.sender = stakeholderSender(this.deliveries, deps);
  }

  private get policy(): Policy {
    return this.deps.policy;
  }

  /** The service's clock reading (tests move it). */
  now(): Date {
    return this.deps.clock.now();
  }

  /** The policy the service runs with. */
  get policySnapshot(): Policy {
    return this.deps.policy;
  }

  private async log(
    kind: string,
    message: string,
    actor: string | null,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    if (!this.deps.activity) return;
    await this.deps.activity({
      at: this.now(),
      kind,
      actor,
      message: redactor.text(message),
      data: redactor.value(data),
    });
  }

  private calendar() {
    return calendarOf(this.policy);
  }

  private must(id: number): StoredWindow {
    const w = this.store.get(id);
    if (!w)
      throw new DrydockError('VALIDATION_FAILED', `no maintenance window #${id}`, {
        hint: 'drydock windows list shows the windows',
      });
    return w;
  }

  private requiredRoles(w: StoredWindow): string[] {
    return w.kind === 'emergency' ? [...this.policy.maintenance_windows.emergency.approval] : [];
  }

  /** Regular and planned notices go to every stakeholder channel; emergency ones to the emergency channel types. */
  private audienceFor(w: StoredWindow): Target[] {
    return w.kind === 'emergency'
      ? audience(this.policy, { channelTypes: this.policy.maintenance_windows.emergency.notification.channels })
      : audience(this.policy);
  }

  private async notify(
    kind: NoticeKindName,
    w: StoredWindow,
    targets: Target[],
    idSuffix: string,
    extra: Omit<NoticeContext, 'window'> = {},
  ): Promise<DeliveryReport> {
    const message = (view: StoredWindow): OutboundMessage => {
      const rendered = renderNotice(kind, { window: view, ...extra });
      return {
        id: `window-${w.id}-${kind}-${idSuffix}`,
        kind,
        subject: rendered.subject,
        text: rendered.text,
        data: {
          windowId: w.id,
          windowKind: w.kind,
          status: w.status,
          start: w.start.toISOString(),
          end: w.end.toISOString(),
          title: view.title,
        },
      };
    };
    // The public status page gets the public title and description, never the internal change record.
    const isPublic = (t: Target) => this.deps.channels.get(t.channel)?.type === 'status_page';
    const internal = targets.filter((t) => !isPublic(t));
    const published = targets.filter(isPublic);
    const a = internal.length ? await deliver(this.sender, message(w), internal, w.id) : null;
    const b = published.length ? await deliver(this.sender, message(publicView(w)), published, w.id) : null;
    return {
      sent: [...(a?.sent ?? []), ...(b?.sent ?? [])],
      skipped: [...(a?.skipped ?? []), ...(b?.skipped ?? [])],
      failed: [...(a?.failed ?? []), ...(b?.failed ?? [])],
    };
  }

  private nextRegularStart(after: Date): Interval {
    const cal = this.calendar();
    let t = after;
    for (let i = 0; i < 24; i++) {
      const next = nextWindow(cal.window, t);
      if (!blackoutAt(cal.blackouts, next.start) && !blackoutAt(cal.blackouts, new Date(next.end.getTime() - 1)))
        return next;
      t = new Date(next.end.getTime());
    }
    throw new DrydockError('VALIDATION_FAILED', 'no regular window free of blackouts in the next 24 windows');
  }

  async scheduleWindow(input: ScheduleInput): Promise<{ window: StoredWindow; notices: DeliveryReport }> {
    const now = this.now();
    const kind = input.kind ?? 'planned';
    let start = input.start;
    let end = input.end;
    if (kind === 'regular' && !start) {
      const next = this.nextRegularStart(new Date(now.getTime() + noticeDurations(this.policy).advanceMs));
      start = next.start;
      end = next.end;
    }
    if (!start || !end) throw refused('cannot schedule the window', ['a start and an end time are required']);
    const change: ChangeRecord = {
      summary: input.summary ?? '',
      rollbackPlan: input.rollbackPlan ?? '',
      owner: input.owner ?? '',
      standby: input.standby ?? [],
      components: input.components ?? [],
      tasks: input.tasks ?? [],
      taskClass: input.taskClass ?? 'maintenance',
    };
    const proposed: ProposedWindow = { kind, title: input.title, start, end, change };
    const existing = this.store.list({
      from: new Date(start.getTime() - 86_400_000),
      to: new Date(end.getTime() + 86_400_000),
      statuses: ACTIVE_STATUSES,
    });
    const reasons = checkSchedule(proposed, { now, policy: this.policy, calendar: this.calendar(), existing });
    if (!this.policy.stakeholders.some((s) => s.name === input.requestedBy) && kind === 'emergency') {
      reasons.push(
        `the requester "${input.requestedBy}" is not a stakeholder in the policy, so they could not be told the outcome`,
      );
    }
    if (reasons.length > 0) {
      await this.log(
        'window.refused',
        `${kind} window "${input.title}" refused: ${reasons.join('; ')}`,
        input.requestedBy,
        { reasons, start: start.toISOString(), end: end.toISOString() },
      );
      throw refused(`cannot schedule ${kind} window "${input.title}"`, reasons);
    }
    const hash = planHash(proposed);
    const w = this.store.insert({
      kind,
      status: kind === 'emergency' ? 'pending_approval' : 'scheduled',
      title: input.title,
      start,
      end,
      change,
      requestedBy: input.requestedBy,
      planHash: hash,
      at: now,
      ...(input.publicTitle ? { publicTitle: input.publicTitle } : {}),
      ...(input.publicDescription ? { publicDescription: input.publicDescription } : {}),
    });
    this.store.addUpdate({
      windowId: w.id,
      at: now,
      phase: w.status,
      message:
        kind === 'emergency' ? 'Emergency maintenance requested; waiting for approval.' : 'Maintenance scheduled.',
      author: input.requestedBy,
    });
    if (kind === 'emergency') {
      await this.log(
        'window.requested',
        `emergency window #${w.id} "${w.title}" requested for ${formatSpan(start, end)}; needs ${this.requiredRoles(w).join(' and ')}`,
        input.requestedBy,
        { windowId: w.id, planHash: hash },
      );
      const notices = await this.requestApproval(w);
      return { window: w, notices };
    }
    await this.log(
      'window.scheduled',
      `${kind} window #${w.id} "${w.title}" scheduled for ${formatSpan(start, end)}`,
      input.requestedBy,
      { windowId: w.id, planHash: hash },
    );
    const notices = await this.announce(w);
    return { window: this.must(w.id), notices };
  }

  private async requestApproval(w: StoredWindow): Promise<DeliveryReport> {
    const state = approvalState(this.requiredRoles(w), this.approvals.list(subjectOf(w.id)), w.planHash);
    return this.notify(
      'approval_request',
      w,
      audience(this.policy, { roles: state.missing }),
      w.planHash.slice(0, 12),
      {
        approval: {
          roles: state.missing,
          planHash: w.planHash,
          howTo: `Approve: drydock windows approve ${w.id} --plan ${w.planHash.slice(0, 12)}... or POST /api/approvals/windows/${w.id}/approve with your API token.`,
        },
      },
    );
  }

  private async announce(w: StoredWindow): Promise<DeliveryReport> {
    const report = await this.notify('advance_notice', w, this.audienceFor(w), w.planHash.slice(0, 12));
    this.store.update(w.id, { advanceSentAt: this.now() }, this.now());
    return report;
  }

  /** Everyone who was reached about this window plus the current audience. */
  private everyoneFor(w: StoredWindow): Target[] {
    return [...this.deliveries.reachedFor(w.id), ...this.audienceFor(w)];
  }

  async rescheduleWindow(
    id: number,
    change: { start: Date; end: Date; reason?: string },
    actor: string,
  ): Promise<{ window: StoredWindow; notices: DeliveryReport }> {
    const w = this.must(id);
    if (!ACTIVE_STATUSES.includes(w.status) || w.status === 'in_progress')
      throw refused(`cannot reschedule window #${id}`, [`it is ${w.status.replace('_', ' ')}`]);
    const proposed: ProposedWindow = {
      kind: w.kind,
      title: w.title,
      start: change.start,
      end: change.end,
      change: w.change,
    };
    const existing = this.store.list({
      from: new Date(change.start.getTime() - 86_400_000),
      to: new Date(change.end.getTime() + 86_400_000),
      statuses: ACTIVE_STATUSES,
    });
    const reasons = checkSchedule(proposed, {
      now: this.now(),
      policy: this.policy,
      calendar: this.calendar(),
      existing,
      excludeId: id,
    });
    if (reasons.length) {
      await this.log('window.refused', `rescheduling window #${id} refused: ${reasons.join('; ')}`, actor, {
        windowId: id,
        reasons,
      });
      throw refused(`cannot reschedule window #${id}`, reasons);
    }
    const hash = planHash(proposed);
    const previous = { start: w.start, end: w.end };
    const reached = this.everyoneFor(w);
    const status = w.kind === 'emergency' ? 'pending_approval' : w.status;
    const updated = this.store.update(
      id,
      {
        start: change.start,
        end: change.end,
        planHash: hash,
        status,
        reminderSentAt: null,
        statusReason: change.reason ?? null,
      },
      this.now(),
    );
    this.store.addUpdate({
      windowId: id,
      at: this.now(),
      phase: status,
      message: `Rescheduled from ${formatSpan(previous.start, previous.end)} to ${formatSpan(change.start, change.end)}${change.reason ? `: ${change.reason}` : ''}.`,
      author: actor,
    });
    await this.log(
      'window.rescheduled',
      `window #${id} moved from ${formatSpan(previous.start, previous.end)} to ${formatSpan(change.start, change.end)}${w.kind === 'emergency' ? '; earlier approvals no longer count' : ''}`,
      actor,
      { windowId: id, planHash: hash },
    );
    const notices = await this.notify('rescheduled', updated, reached, hash.slice(0, 12), {
      previous,
      ...(change.reason ? { message: change.reason } : {}),
    });
    if (w.kind === 'emergency') await this.requestApproval(updated);
    return { window: updated, notices };
  }

  async cancelWindow(
    id: number,
    reason: string,
    actor: string,
  ): Promise<{ window: StoredWindow; notices: DeliveryReport }> {
    const w = this.must(id);
    if (!ACTIVE_STATUSES.includes(w.status))
      throw refused(`cannot cancel window #${id}`, [`it is already ${w.status.replace('_', ' ')}`]);
    // Everyone told about it hears it is off; the status page only if it was announced there.
    const reached = [
      ...this.deliveries.reachedFor(id),
      ...(w.advanceSentAt ? audience(this.policy, { channelTypes: ['status_page'] }) : []),
    ];
    const updated = this.store.update(id, { status: 'cancelled', statusReason: reason }, this.now());
    this.store.addUpdate({
      windowId: id,
      at: this.now(),
      phase: 'cancelled',
      message: `Cancelled: ${reason}`,
      author: actor,
    });
    await this.log('window.cancelled', `window #${id} "${w.title}" cancelled: ${reason}`, actor, { windowId: id });
    const notices = await this.notify('cancelled', updated, reached, 'final', { message: reason });
    return { window: updated, notices };
  }

  /** An approver's decision; `person` is already authenticated (API token or CLI identity). */
  async decide(
    id: number,
    person: Person,
    decision: { decision: 'approved' | 'refused'; planHash: string; role?: string; comment?: string },
  ): Promise<{ window: StoredWindow; missing: string[] }> {
    const w = this.must(id);
    const required = this.requiredRoles(w);
    const decisions = this.approvals.list(subjectOf(id));
    const fullHash =
      decision.planHash.length >= 12 && w.planHash.startsWith(decision.planHash) ? w.planHash : decision.planHash;
    const check = checkDecision({
      person,
      requestedBy: w.requestedBy,
      required,
      decisions,
      currentPlanHash: w.planHash,
      planHash: fullHash,
      ...(decision.role ? { role: decision.role } : {}),
      open: w.status === 'pending_approval' && required.length > 0,
      what: `window #${id}`,
    });
    if (!check.ok) {
      await this.log(
        'approval.rejected',
        `${person.name} could not ${decision.decision === 'approved' ? 'approve' : 'refuse'} window #${id}: ${check.reason}`,
        person.name,
        { windowId: id },
      );
      throw new DrydockError('VALIDATION_FAILED', check.reason, { details: { status: check.status } });
    }
    const now = this.now();
    this.approvals.add({
      subject: subjectOf(id),
      person: person.name,
      role: check.role,
      decision: decision.decision,
      planHash: w.planHash,
      comment: decision.comment ?? null,
      at: now,
    });
    await this.log(
      `approval.${decision.decision}`,
      `${person.name} (${check.role}) ${decision.decision} window #${id} "${w.title}" (plan ${w.planHash.slice(0, 12)})${decision.comment ? `: ${decision.comment}` : ''}`,
      person.name,
      { windowId: id, role: check.role, planHash: w.planHash },
    );
    const state = approvalState(required, this.approvals.list(subjectOf(id)), w.planHash);
    const requester = audience(this.policy, { people: [w.requestedBy] });
    const ctx = {
      decision: {
        person: person.name,
        role: check.role,
        decision: decision.decision,
        ...(decision.comment ? { comment: decision.comment } : {}),
      },
    };
    if (decision.decision === 'refused') {
      const updated = this.store.update(
        id,
        {
          status: 'refused',
          statusReason: `refused by ${person.name} (${check.role})${decision.comment ? `: ${decision.comment}` : ''}`,
        },
        now,
      );
      this.store.addUpdate({
        windowId: id,
        at: now,
        phase: 'refused',
        message: `Refused by ${person.name} (${check.role}); it will not run.`,
        author: person.name,
      });
      await this.notify('approval_decision', updated, requester, `refused-${w.planHash.slice(0, 12)}`, {
        ...ctx,
        message: 'The emergency maintenance will not run.',
      });
      return { window: updated, missing: state.missing };
    }
    if (!state.complete) {
      await this.notify('approval_decision', w, requester, `${check.role}-${w.planHash.slice(0, 12)}`, {
        ...ctx,
        message: `Still waiting for: ${state.missing.join(', ')}.`,
      });
      return { window: w, missing: state.missing };
    }
    const updated = this.store.update(
      id,
      {
        status: 'scheduled',
        statusReason: `approved by ${state.approved.map((a) => `${a.person} (${a.role})`).join(' and ')}`,
      },
      now,
    );
    this.store.addUpdate({
      windowId: id,
      at: now,
      phase: 'approved',
      message: `Approved by ${state.approved.map((a) => `${a.person} (${a.role})`).join(' and ')}.`,
      author: person.name,
    });
    this.store.addUpdate({
      windowId: id,
      at: now,
      phase: 'scheduled',
      message: 'Emergency maintenance scheduled.',
      author: person.name,
    });
    await this.log(
      'window.approved',
      `emergency window #${id} approved by ${state.approved.map((a) => a.person).join(' and ')}; it may start at ${w.start.toISOString()}`,
      person.name,
      { windowId: id },
    );
    await this.notify('approval_decision', updated, requester, `approved-${w.planHash.slice(0, 12)}`, {
      ...ctx,
      message: 'All approvals are in; the emergency maintenance will run as planned.',
    });
    await this.announce(updated);
    return { window: this.must(id), missing: [] };
  }

  /** Starts a window: it must be scheduled (approved) and due; runs the pre-checks and tells everyone. */
  async startWindow(id: number, actor: string): Promise<StoredWindow> {
    const w = this.must(id);
    const now = this.now();
    const reasons: string[] = [];
    if (w.status !== 'scheduled')
      reasons.push(
        w.status === 'pending_approval'
          ? `it still needs approval from ${approvalState(this.requiredRoles(w), this.approvals.list(subjectOf(id)), w.planHash).missing.join(' and ')}`
          : `it is ${w.status.replace('_', ' ')}`,
      );
    if (now < w.start) reasons.push(`it starts at ${w.start.toISOString()}`);
    if (now >= w.end) reasons.push(`it ended at ${w.end.toISOString()}`);
    if (
      this.policy.maintenance_windows.notices_required &&
      !this.deliveries.list({ windowId: id, status: 'sent' }).some((d) => d.kind === 'advance_notice')
    ) {
      reasons.push('the policy requires notices and no advance notice was delivered');
    }
    if (reasons.length) {
      await this.log('window.start_refused', `window #${id} cannot start: ${reasons.join('; ')}`, actor, {
        windowId: id,
        reasons,
      });
      throw refused(`window #${id} cannot start`, reasons);
    }
    const pre = this.deps.healthCheck ? await this.deps.healthCheck() : null;
    const updated = this.store.update(id, { status: 'in_progress', preChecks: pre }, now);
    for (const component of w.change.components)
      this.store.setComponent(component, 'under_maintenance', `maintenance window #${id}`, now);
    this.store.addUpdate({
      windowId: id,
      at: now,
      phase: 'in_progress',
      message: `Maintenance started${pre ? `; pre-checks ${pre.ok ? 'passed' : 'FAILED'}` : ''}.`,
      author: actor,
    });
    await this.log(
      'window.started',
      `window #${id} "${w.title}" started${pre ? ` (pre-checks ${pre.ok ? 'passed' : 'failed'})` : ''}`,
      actor,
      { windowId: id, preChecks: pre },
    );
    await this.notify('start', updated, this.audienceFor(updated), 'start');
    return updated;
  }

  async postUpdate(
    id: number,
    update: { message: string; phase?: string },
    author: string,
  ): Promise<{ update: WindowUpdate; notices: DeliveryReport }> {
    const w = this.must(id);
    // The public page and every stakeholder hear these: only the people running the window post them.
    if (author !== w.change.owner && !w.change.standby.includes(author)) {
      await this.log(
        'window.update_refused',
        `${author} may not post updates on window #${id}: only its owner (${w.change.owner || 'nobody'}) or standby (${w.change.standby.join(', ') || 'nobody'})`,
        author,
        { windowId: id },
      );
      throw new DrydockError(
        'VALIDATION_FAILED',
        `${author} may not post updates on window #${id}: only its owner (${w.change.owner || 'nobody'}) or standby (${w.change.standby.join(', ') || 'nobody'}) may`,
        { details: { status: 403 } },
      );
    }
    if (!update.message.trim()) throw refused(`cannot post an update to window #${id}`, ['the update has no text']);
    if (w.status === 'cancelled' || w.status === 'refused' || w.status === 'expired')
      throw refused(`cannot post an update to window #${id}`, [`it is ${w.status}`]);
    const saved = this.store.addUpdate({
      windowId: id,
      at: this.now(),
      phase: update.phase ?? w.status,
      message: redactor.text(update.message),
      author,
    });
    await this.log('window.update', `update on window #${id}: ${update.message}`, author, {
      windowId: id,
      updateId: saved.id,
    });
    const notices = await this.notify('update', w, this.audienceFor(w), String(saved.id), { message: saved.message });
    return { update: saved, notices };
  }

  /** Ends a window: runs the post-maintenance validation; a failure raises an alert with the rollback plan. */
  async completeWindow(
    id: number,
    result: { outcome?: WindowOutcome; lessons?: string; note?: string },
    actor: string,
  ): Promise<{ window: StoredWindow; validation: ValidationSummary | null }> {
    const w = this.must(id);
    if (w.status !== 'in_progress')
      throw refused(`cannot complete window #${id}`, [`it is ${w.status.replace('_', ' ')}, not in progress`]);
    const now = this.now();
    const validation = this.deps.healthCheck ? await this.deps.healthCheck() : null;
    const outcome: WindowOutcome = result.outcome ?? (validation && !validation.ok ? 'failed' : 'succeeded');
    const updated = this.store.update(
      id,
      { status: 'completed', outcome, validation, ...(result.lessons ? { lessons: result.lessons } : {}) },
      now,
    );
    for (const component of w.change.components) {
      this.store.setComponent(
        component,
        validation && !validation.ok ? 'degraded' : 'operational',
        validation && !validation.ok ? `checks failed after window #${id}` : '',
        now,
      );
    }
    const failed = validation?.checks.filter((c) => !c.ok) ?? [];
    this.store.addUpdate({
      windowId: id,
      at: now,
      phase: 'completed',
      message: `Maintenance ended (${outcome}).${validation ? ` Post-maintenance checks ${validation.ok ? 'passed' : `FAILED: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`}.` : ''}${result.note ? ` ${result.note}` : ''}`,
      author: actor,
    });
    await this.log(
      'window.completed',
      `window #${id} "${w.title}" completed: ${outcome}${validation ? `, validation ${validation.ok ? 'passed' : 'failed'}` : ''}`,
      actor,
      { windowId: id, outcome, validation },
    );
    if (validation && !validation.ok) {
      const alert = `Post-maintenance validation failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`;
      await this.log('window.alert', `window #${id}: ${alert}`, actor, { windowId: id });
      await this.notify('alert', updated, this.everyoneFor(updated), 'validation', { message: alert });
    }
    await this.notify('end', updated, this.everyoneFor(updated), 'end', result.note ? { message: result.note } : {});
    return { window: updated, validation };
  }

  async recordLessons(id: number, lessons: string, actor: string): Promise<StoredWindow> {
    this.must(id);
    const updated = this.store.update(id, { lessons }, this.now());
    await this.log('window.lessons', `lessons learned recorded for window #${id}`, actor, { windowId: id });
    return updated;
  }

  /**
   * Time-driven work, called each minute by the daemon: windows past their end are completed (with
   * validation), windows whose start has come are started, reminders go out before the start, and
   * emergency requests not approved by their start time expire (the requester is told).
   */
  /**
   * Schedules and announces the next regular window by itself, once it is within a day of the
   * advance-notice mark, from `maintenance_windows.regular.change`. Not when the policy gives no
   * rollback plan or owner, and never twice for one slot (a cancelled slot stays cancelled).
   */
  async announceRegular(): Promise<StoredWindow | null> {
    const change = this.policy.maintenance_windows.regular.change;
    if (!change.rollback_plan || !change.owner) return null;
    const now = this.now();
    const { advanceMs } = noticeDurations(this.policy);
    const next = this.nextRegularStart(new Date(now.getTime() + advanceMs));
    if (next.start.getTime() - now.getTime() > advanceMs + 86_400_000) return null;
    const known = this.store.list({ from: next.start, to: next.end }).some((w) => w.kind === 'regular');
    if (known) return null;
    const { window } = await this.scheduleWindow({
      kind: 'regular',
      title: change.title,
      start: next.start,
      end: next.end,
      summary: change.summary,
      // The policy's regular-window record is written to be announced: it is also the public text.
      publicTitle: change.title,
      publicDescription: change.summary,
      rollbackPlan: change.rollback_plan,
      owner: change.owner,
      standby: change.standby,
      components: change.components,
      requestedBy: change.owner,
    });
    return window;
  }

  async tick(): Promise<{ reminded: number[]; expired: number[]; started: number[]; completed: number[] }> {
    try {
      await this.announceRegular();
    } catch (error) {
      await this.log(
        'window.refused',
        `the regular window could not be scheduled: ${describeError(error)}`,
        'drydock',
        {},
      );
    }
    const now = this.now();
    const { reminderMs } = noticeDurations(this.policy);
    const reminded: number[] = [];
    const expired: number[] = [];
    const started: number[] = [];
    const completed: number[] = [];
    // A window still in progress after its end is completed (with the post-maintenance validation).
    for (const w of this.store.list({ to: now, statuses: ['in_progress'] })) {
      if (w.end > now) continue;
      await this.completeWindow(w.id, { note: 'Completed automatically at the end of the window.' }, 'drydock');
      completed.push(w.id);
    }
    // A scheduled (approved) window whose start has come begins: pre-checks, start notice.
    for (const w of this.store.list({ from: now, to: new Date(now.getTime() + 1), statuses: ['scheduled'] })) {
      try {
        await this.startWindow(w.id, 'drydock');
        started.push(w.id);
      } catch {
        // startWindow logged why (e.g. notices required but none delivered); it stays scheduled.
      }
    }
    for (const w of this.store.list({ from: now, statuses: ['pending_approval', 'scheduled'] })) {
      if (w.status === 'pending_approval' && now >= w.start) {
        const state = approvalState(this.requiredRoles(w), this.approvals.list(subjectOf(w.id)), w.planHash);
        const updated = this.store.update(
          w.id,
          { status: 'expired', statusReason: `not approved before its start (missing: ${state.missing.join(', ')})` },
          now,
        );
        this.store.addUpdate({
          windowId: w.id,
          at: now,
          phase: 'expired',
          message: `Not approved before its start time (missing: ${state.missing.join(', ')}); it will not run.`,
          author: 'drydock',
        });
        await this.log(
          'window.expired',
          `emergency window #${w.id} expired without the approval of ${state.missing.join(' and ')}`,
          null,
          { windowId: w.id },
        );
        await this.notify(
          'approval_decision',
          updated,
          audience(this.policy, { people: [w.requestedBy] }),
          `expired-${w.planHash.slice(0, 12)}`,
          {
            message: `Not approved before its start time (missing: ${state.missing.join(', ')}); the emergency maintenance will not run.`,
          },
        );
        expired.push(w.id);
        continue;
      }
      // No reminder when the announcement itself came within the reminder period (short-notice emergencies).
      const announcedLate = w.advanceSentAt !== null && w.advanceSentAt.getTime() >= w.start.getTime() - reminderMs;
      if (
        w.status === 'scheduled' &&
        !w.reminderSentAt &&
        !announcedLate &&
        w.start.getTime() - now.getTime() <= reminderMs &&
        now < w.start
      ) {
        await this.notify('reminder', w, this.everyoneFor(w), w.planHash.slice(0, 12));
        this.store.update(w.id, { reminderSentAt: now }, now);
        reminded.push(w.id);
      }
    }
    // Past windows still pending approval (start passed between ticks) are handled too.
    for (const w of this.store.list({ to: now, statuses: ['pending_approval'] })) {
      if (expired.includes(w.id)) continue;
      const updated = this.store.update(
        w.id,
        { status: 'expired', statusReason: 'not approved before its start' },
        now,
      );
      await this.log('window.expired', `emergency window #${w.id} expired without approval`, null, { windowId: w.id });
      await this.notify(
        'approval_decision',
        updated,
        audience(this.policy, { people: [w.requestedBy] }),
        `expired-${w.planHash.slice(0, 12)}`,
        { message: 'Not approved before its start time; the emergency maintenance will not run.' },
      );
      expired.push(w.id);
    }
    return { reminded, expired, started, completed };
  }

  /** Approved windows open or upcoming at `at`: the gate's extra windows. */
  openIntervals(at: Date): Interval[] {
    return this.store
      .list({ from: at, statuses: ['scheduled', 'in_progress'] })
      .map((w) => ({ start: w.start, end: w.end }));
  }

  showWindow(id: number): WindowStory {
    const w = this.must(id);
    const required = this.requiredRoles(w);
    const approvals = this.approvals.list(subjectOf(id));
    const state = required.length ? approvalState(required, approvals, w.planHash) : null;
    return {
      window: w,
      updates: this.store.updates(id),
      approvals,
      approval: state ? { required, missing: state.missing, approved: state.approved } : null,
      deliveries: this.deliveries.list({ windowId: id }),
    };
  }

  listWindows(filter: { from?: Date; to?: Date; statuses?: StoredWindow['status'][] } = {}): StoredWindow[] {
    return this.store.list(filter);
  }

  statusNotices(limit = 50): StatusNotice[] {
    return this.store.notices({ limit });
  }
}

/** `drydock windows show ID`: the whole story as text. */
export function formatWindowStory(story: WindowStory): string {
  const w = story.window;
  const lines: string[] = [];
  lines.push(`Window #${w.id}: ${w.title}`);
  lines.push(
    `  Kind: ${w.kind}   Status: ${w.status.replace('_', ' ')}${w.statusReason ? ` (${w.statusReason})` : ''}`,
  );
  lines.push(`  When: ${formatSpan(w.start, w.end)}`);
  lines.push(`  Requested by: ${w.requestedBy} on ${w.createdAt.toISOString()}`);
  lines.push('', 'Change record');
  lines.push(`  What: ${w.change.summary}`);
  lines.push(`  Rollback plan: ${w.change.rollbackPlan}`);
  lines.push(`  Owner: ${w.change.owner}`);
  lines.push(`  Standby: ${w.change.standby.join(', ') || 'nobody'}`);
  if (w.change.components.length) lines.push(`  Components: ${w.change.components.join(', ')}`);
  if (w.change.tasks.length) lines.push(`  Tasks: ${w.change.tasks.join(', ')}`);
  lines.push(`  Class: ${w.change.taskClass}   Plan: ${w.planHash.slice(0, 16)}`);
  if (story.approval) {
    lines.push('', 'Approval');
    lines.push(
      `  Needs: ${story.approval.required.join(' and ')}${story.approval.missing.length ? `; missing: ${story.approval.missing.join(', ')}` : '; complete'}`,
    );
  }
  if (story.approvals.length)
    for (const a of story.approvals)
      lines.push(
        `  ${a.at.toISOString()} ${a.person} (${a.role}) ${a.decision}${a.planHash === w.planHash ? '' : ' [earlier plan, void]'}${a.comment ? `: ${a.comment}` : ''}`,
      );
  lines.push('', 'Timeline');
  for (const u of story.updates) lines.push(`  ${u.at.toISOString()} [${u.phase}] ${u.author}: ${u.message}`);
  if (w.preChecks)
    lines.push(
      '',
      `Pre-checks: ${w.preChecks.ok ? 'passed' : 'FAILED'}`,
      ...w.preChecks.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    );
  if (w.validation)
    lines.push(
      '',
      `Post-maintenance validation: ${w.validation.ok ? 'passed' : 'FAILED'}`,
      ...w.validation.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    );
  if (w.outcome) lines.push('', `Outcome: ${w.outcome}`);
  if (w.lessons) lines.push('', 'Lessons learned', ...w.lessons.split('\n').map((l) => `  ${l}`));
  const sent = story.deliveries.filter((d) => d.status === 'sent').length;
  const failed = story.deliveries.filter((d) => d.status === 'failed');
  lines.push('', `Notices: ${sent} delivered, ${failed.length} failed`);
  for (const d of story.deliveries)
    lines.push(
      `  ${d.updatedAt.toISOString()} ${d.kind} via ${d.channel}${d.recipient ? ` to ${d.recipient}` : ''}: ${d.status} after ${d.attempts} attempt(s) (${d.detail})`,
    );
  return redactor.text(lines.join('\n'));
}

/**
 * A window as the public sees it: the public title (else a generic one by kind), the public
 * description (else nothing), no owner, standby or rollback plan.
 */
export function publicView(w: StoredWindow): StoredWindow {
  return {
    ...w,
    title: w.publicTitle ?? (w.kind === 'emergency' ? 'Unplanned maintenance' : 'Scheduled maintenance'),
    change: {
      ...w.change,
      summary: w.publicDescription ?? 'Planned maintenance work.',
      rollbackPlan: '',
      owner: 'the operations team',
      standby: [],
      tasks: [],
    },
  };
}
