// Security patches under the spec's SLAs: critical is approved automatically and due in 24 hours
// (told immediately), high needs approval and is due in 72 hours (told the next business day),
// medium needs approval and is due in a week (weekly digest). A patch whose SLA is about to be
// missed raises an alert. Decisions are pure functions of the policy and a clock.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { DrydockError } from '../errors.js';
import { audience, deliver, stakeholderSender, type SenderDeps } from '../notify/deliver.js';
import { formatWhen } from '../notify/format.js';
import type { Channel, OutboundMessage } from '../notify/types.js';
import type { NoticeRule } from '../policy/values.js';
import { redactor } from '../policy/redact.js';
import type { Policy } from '../policy/schema.js';
import { ApprovalStore, type PatchRecord, type PatchSeverity } from '../store/sqlite/approvals.js';
import { DeliveryLog } from '../store/sqlite/deliveries.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import type { ActivityEntry } from '../store/types.js';
import { approvalState, checkDecision, type Person } from './rules.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Business hours start, for "next business day" and the weekly digest (Monday). */
const BUSINESS_START_HOUR = 9;

export interface PatchSla {
  slaMs: number;
  approval: 'automatic' | 'required';
  notification: NoticeRule;
}

function slaFor(policy: Policy, severity: PatchSeverity): PatchSla {
  const p = policy.security.patches[severity];
  return { slaMs: p.sla.ms, approval: p.approval, notification: p.notification.rule };
}

/** 09:00 UTC on the next Monday-Friday after `at` (the same day if before 09:00 on a weekday). */
export function nextBusinessDay(at: Date): Date {
  let day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()) + BUSINESS_START_HOUR * HOUR;
  if (day <= at.getTime()) day += DAY;
  while ([0, 6].includes(new Date(day).getUTCDay())) day += DAY;
  return new Date(day);
}

/** When a notice with this timing goes out. */
export function noticeAt(timing: NoticeRule, at: Date): Date {
  switch (timing.kind) {
    case 'immediate':
      return at;
    case 'next_business_day':
      return nextBusinessDay(at);
    case 'delay':
      return new Date(at.getTime() + timing.ms);
    case 'digest': {
      const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
      if (timing.every === 'daily') return new Date(midnight + DAY + BUSINESS_START_HOUR * HOUR);
      const toMonday = (1 - at.getUTCDay() + 7) % 7 || 7;
      return new Date(midnight + toMonday * DAY + BUSINESS_START_HOUR * HOUR);
    }
  }
}

export type SlaRisk = 'ok' | 'at_risk' | 'missed';

/** At risk in the last quarter of the SLA (6 h of 24, 18 h of 72, 42 h of a week); missed once due. */
export function slaRisk(patch: Pick<PatchRecord, 'foundAt' | 'dueAt' | 'status'>, now: Date): SlaRisk {
  if (patch.status === 'applied' || patch.status === 'refused') return 'ok';
  if (now >= patch.dueAt) return 'missed';
  const total = patch.dueAt.getTime() - patch.foundAt.getTime();
  return patch.dueAt.getTime() - now.getTime() <= total / 4 ? 'at_risk' : 'ok';
}

function patchPlanHash(p: { ref: string; title: string; severity: PatchSeverity }): string {
  return createHash('sha256')
    .update(JSON.stringify([p.ref, p.title, p.severity]))
    .digest('hex');
}

export interface PatchDeps {
  db: SqliteDatabase;
  policy: Policy;
  clock: Clock;
  channels: ReadonlyMap<string, Channel>;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

const hours = (ms: number) => `${Math.round(ms / HOUR)} hours`;

export class PatchService {
  readonly store: ApprovalStore;
  private readonly sender: SenderDeps;

  constructor(private readonly deps: PatchDeps) {
    this.store = new ApprovalStore(deps.db);
    this.sender = stakeholderSender(new DeliveryLog(deps.db), deps);
  }

  /** Any one of the emergency approval roles approves a patch that needs approval. */
  approverRoles(): string[] {
    return [...this.deps.policy.maintenance_windows.emergency.approval];
  }

  private async log(kind: string, message: string, actor: string | null, data: Record<string, unknown>): Promise<void> {
    await this.deps.activity?.({ at: this.deps.clock.now(), kind, actor, message: redactor.text(message), data });
  }

  private async send(id: string, kind: string, subject: string, text: string, data: Record<string, unknown>) {
    const message: OutboundMessage = { id, kind, subject, text, data };
    return deliver(
      this.sender,
      message,
      audience(this.deps.policy, { channelTypes: ['email', 'sms', 'webhook', 'log'] }),
      null,
    );
  }

  async reportPatch(
    input: { ref: string; title: string; severity: PatchSeverity; foundAt?: Date },
    reporter: string,
    /** notify: false leaves the notices to the caller's one tick() after reporting many patches. */
    options: { notify?: boolean } = {},
  ): Promise<PatchRecord> {
    const existing = this.store.patchByRef(input.ref);
    if (existing) return existing;
    // A finding's SLA clock starts when the scan first saw it, not when a fix appeared (issue 13).
    const now = this.deps.clock.now();
    const foundAt = input.foundAt ?? now;
    const sla = slaFor(this.deps.policy, input.severity);
    const automatic = sla.approval === 'automatic';
    const patch = this.store.insertPatch({
      ref: input.ref,
      title: input.title,
      severity: input.severity,
      foundAt,
      dueAt: new Date(foundAt.getTime() + sla.slaMs),
      status: automatic ? 'approved' : 'pending_approval',
      planHash: patchPlanHash({ ref: input.ref, title: input.title, severity: input.severity }),
      notifyAt: noticeAt(sla.notification, now),
      reportedBy: reporter,
      ...(automatic ? { decidedBy: 'policy (automatic approval)', decidedAt: now } : {}),
    });
    await this.log(
      'patch.reported',
      `${input.severity} security patch ${input.ref} "${input.title}" due ${patch.dueAt.toISOString()} (${automatic ? 'approved automatically' : `needs approval by ${this.approverRoles().join(' or ')}`})`,
      reporter,
      { patchId: patch.id, ref: input.ref },
    );
    if (options.notify !== false) await this.tick();
    return this.store.patch(patch.id)!;
  }

  async decidePatch(
    id: number,
    person: Person,
    decision: { decision: 'approved' | 'refused'; planHash: string; comment?: string },
  ): Promise<PatchRecord> {
    const patch = this.store.patch(id);
    if (!patch) throw new DrydockError('VALIDATION_FAILED', `no security patch #${id}`, { details: { status: 404 } });
    const subject = `patch:${id}`;
    const decisions = this.store.list(subject);
    const roles = this.approverRoles().filter((r) => person.roles.includes(r));
    const required = roles.length ? [roles[0]!] : this.approverRoles();
    const fullHash =
      decision.planHash.length >= 12 && patch.planHash.startsWith(decision.planHash)
        ? patch.planHash
        : decision.planHash;
    const check = checkDecision({
      person,
      // The reporter requested the patch: they cannot approve or refuse it themselves.
      requestedBy: patch.reportedBy,
      required,
      decisions,
      currentPlanHash: patch.planHash,
      planHash: fullHash,
      open: patch.status === 'pending_approval',
      what: `patch ${patch.ref}`,
    });
    if (!check.ok) {
      await this.log(
        'approval.rejected',
        `${person.name} could not decide on patch ${patch.ref}: ${check.reason}`,
        person.name,
        { patchId: id },
      );
      throw new DrydockError('VALIDATION_FAILED', check.reason, { details: { status: check.status } });
    }
    const now = this.deps.clock.now();
    this.store.add({
      subject,
      person: person.name,
      role: check.role,
      decision: decision.decision,
      planHash: patch.planHash,
      comment: decision.comment ?? null,
      at: now,
    });
    const state = approvalState(required, this.store.list(subject), patch.planHash);
    this.store.updatePatch(id, {
      status: decision.decision === 'refused' ? 'refused' : state.complete ? 'approved' : 'pending_approval',
      decidedBy: person.name,
      decidedAt: now,
    });
    await this.log(
      `approval.${decision.decision}`,
      `${person.name} (${check.role}) ${decision.decision} security patch ${patch.ref}${decision.comment ? `: ${decision.comment}` : ''}`,
      person.name,
      { patchId: id, role: check.role },
    );
    return this.store.patch(id)!;
  }

  async markApplied(id: number, actor: string): Promise<PatchRecord> {
    const patch = this.store.patch(id);
    if (!patch) throw new DrydockError('VALIDATION_FAILED', `no security patch #${id}`);
    if (patch.status !== 'approved')
      throw new DrydockError(
        'VALIDATION_FAILED',
        `patch ${patch.ref} is ${patch.status.replace('_', ' ')}; only an approved patch is applied`,
      );
    const now = this.deps.clock.now();
    this.store.updatePatch(id, { status: 'applied', appliedAt: now });
    await this.log(
      'patch.applied',
      `security patch ${patch.ref} applied ${now < patch.dueAt ? 'within' : 'AFTER'} its SLA (due ${patch.dueAt.toISOString()})`,
      actor,
      { patchId: id },
    );
    return this.store.patch(id)!;
  }

  /** Sends due notices (immediate, next business day, the weekly digest as one message) and SLA alerts. */
  async tick(): Promise<{ notified: number[]; alerted: number[] }> {
    const now = this.deps.clock.now();
    const notified: number[] = [];
    const alerted: number[] = [];
    const due = this.store.patches().filter((p) => !p.notifiedAt && p.notifyAt <= now);
    const digest = due.filter((p) => slaFor(this.deps.policy, p.severity).notification.kind === 'digest');
    for (const p of due.filter((x) => !digest.includes(x))) {
      await this.send(
        `patch-${p.id}-notice`,
        'patch_notice',
        `Security patch (${p.severity}): ${p.title} due ${formatWhen(p.dueAt)}`,
        [
          `${p.ref}: ${p.title}`,
          `Severity: ${p.severity}; due ${formatWhen(p.dueAt)}`,
          p.status === 'pending_approval'
            ? `Needs approval by ${this.approverRoles().join(' or ')}.`
            : `Status: ${p.status.replace('_', ' ')} (${p.decidedBy ?? ''}).`,
        ].join('\n'),
        { patchId: p.id, severity: p.severity },
      );
      this.store.updatePatch(p.id, { notifiedAt: now });
      notified.push(p.id);
    }
    if (digest.length) {
      await this.send(
        `patch-digest-${now.toISOString().slice(0, 10)}`,
        'patch_digest',
        `Weekly security patch digest: ${digest.length} patch${digest.length === 1 ? '' : 'es'}`,
        digest
          .map(
            (p) => `- ${p.ref} (${p.severity}) ${p.title}: ${p.status.replace('_', ' ')}, due ${formatWhen(p.dueAt)}`,
          )
          .join('\n'),
        { patchIds: digest.map((p) => p.id) },
      );
      for (const p of digest) {
        this.store.updatePatch(p.id, { notifiedAt: now });
        notified.push(p.id);
      }
    }
    for (const p of this.store.patches(['pending_approval', 'approved'])) {
      const risk = slaRisk(p, now);
      if (risk === 'ok') continue;
      // One alert when at risk, one more when missed.
      if (p.warnedAt && (risk === 'at_risk' || p.warnedAt >= p.dueAt)) continue;
      const left = p.dueAt.getTime() - now.getTime();
      const text = risk === 'missed' ? `SLA MISSED by ${hours(-left)}` : `SLA about to be missed: ${hours(left)} left`;
      await this.send(
        `patch-${p.id}-sla-${risk}`,
        'alert',
        `ALERT: security patch ${p.ref} (${p.severity}): ${text}`,
        [
          `${p.ref}: ${p.title}`,
          `Due ${formatWhen(p.dueAt)}; status: ${p.status.replace('_', ' ')}.`,
          p.status === 'pending_approval'
            ? `Still needs approval by ${this.approverRoles().join(' or ')}.`
            : 'Approved but not applied yet.',
        ].join('\n'),
        { patchId: p.id, risk },
      );
      await this.log('patch.sla_alert', `security patch ${p.ref}: ${text}`, null, { patchId: p.id, risk });
      this.store.updatePatch(p.id, { warnedAt: now });
      alerted.push(p.id);
    }
    return { notified, alerted };
  }
}
