// Firewall changes as change records. A change is requested by a person (the nft script is checked
// with `nft -c` at once: a ruleset that does not parse is refused before anyone approves it), then
// approved by people other than the requester who hold the required roles (planned:
// network.firewall.approval; emergency: maintenance_windows.emergency.approval) for exactly this
// script (its hash). An approved emergency change is applied at once (`drydock firewall apply`); an
// approved planned change waits for network.firewall.updates, which is disruptive and so runs only
// inside a maintenance window. Applying saves the previous ruleset, applies the new one as one
// transaction, checks the services and rolls back when one is lost. A person then approves the
// result as the new baseline (`drydock firewall baseline`).
import { createHash } from 'node:crypto';
import { approvalState, checkDecision, type Person } from '../../approvals/rules.js';
import { DrydockError } from '../../errors.js';
import { audience, deliver, stakeholderSender } from '../../notify/deliver.js';
import type { Channel } from '../../notify/types.js';
import type { Policy } from '../../policy/schema.js';
import { DeliveryLog } from '../../store/sqlite/deliveries.js';
import { ApprovalStore } from '../../store/sqlite/approvals.js';
import type { SqliteDatabase } from '../../store/sqlite/open.js';
import type { ActivityEntry } from '../../store/types.js';
import { applyRuleset, restoreRuleset } from './apply.js';
import { firewallRunner, takeSnapshot, type FirewallSnapshot } from './ruleset.js';
import { FirewallStore, type FirewallBaseline, type FirewallChange, type FirewallChangeKind } from './store.js';

export function firewallPlanHash(kind: FirewallChangeKind, ruleset: string): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, ruleset]))
    .digest('hex');
}

export interface FirewallDeps {
  db: SqliteDatabase;
  policy: Policy;
  now: () => Date;
  activity: (entry: ActivityEntry) => Promise<void> | void;
  signal?: AbortSignal;
  /** The policy's channels: approvers are asked through them, and told the outcome. */
  channels?: ReadonlyMap<string, Channel>;
}

export class FirewallChanges {
  readonly store: FirewallStore;
  private readonly approvals: ApprovalStore;

  constructor(private readonly deps: FirewallDeps) {
    this.store = new FirewallStore(deps.db);
    this.approvals = new ApprovalStore(deps.db);
  }

  private async notice(
    change: FirewallChange,
    kind: 'approval_request' | 'firewall_outcome',
    subject: string,
    text: string,
    targets: ReturnType<typeof audience>,
  ): Promise<void> {
    if (!this.deps.channels || targets.length === 0) return;
    const sender = stakeholderSender(new DeliveryLog(this.deps.db), {
      policy: this.deps.policy,
      channels: this.deps.channels,
      clock: { now: this.deps.now },
      activity: this.deps.activity,
    });
    await deliver(
      sender,
      {
        id: `firewall-${change.id}-${kind}-${change.status}-${change.planHash.slice(0, 12)}`,
        kind,
        subject,
        text,
        data: { firewallChangeId: change.id, kind: change.kind, status: change.status, title: change.title },
      },
      targets,
    );
  }

  private get fw() {
    return this.deps.policy.network.firewall;
  }

  requiredRoles(kind: FirewallChangeKind): string[] {
    return kind === 'emergency' ? [...this.deps.policy.maintenance_windows.emergency.approval] : [...this.fw.approval];
  }

  private async log(kind: string, message: string, actor: string, change: FirewallChange) {
    await this.deps.activity({
      at: this.deps.now(),
      kind,
      taskId: 'network.firewall.updates',
      actor,
      message,
      data: { changeId: change.id, kind: change.kind, status: change.status },
    });
  }

  async request(input: {
    kind: FirewallChangeKind;
    title: string;
    ruleset: string;
    person: Person;
  }): Promise<FirewallChange> {
    const run = firewallRunner(this.fw, this.deps.signal);
    try {
      await run('nft', ['-c', '-f', '-'], input.ruleset);
    } catch (error) {
      throw new DrydockError(
        'FIREWALL_INVALID',
        `the ruleset of "${input.title}" does not parse; nothing was recorded or applied`,
        {
          cause: error,
          hint: error instanceof Error ? error.message : String(error),
        },
      );
    }
    const change = this.store.createChange({
      kind: input.kind,
      title: input.title,
      ruleset: input.ruleset,
      planHash: firewallPlanHash(input.kind, input.ruleset),
      requestedBy: input.person.name,
      requestedAt: this.deps.now(),
      status: 'pending_approval',
    });
    await this.log(
      'firewall.change.requested',
      `${change.kind} firewall change #${change.id} "${change.title}" requested by ${input.person.name}; needs ${this.requiredRoles(change.kind).join(' and ')}`,
      input.person.name,
      change,
    );
    const roles = this.requiredRoles(change.kind);
    await this.notice(
      change,
      'approval_request',
      `Approval needed: ${change.kind} firewall change #${change.id} "${change.title}"`,
      `${input.person.name} asks to apply this nft script (plan ${change.planHash.slice(0, 12)}) ${change.kind === 'emergency' ? 'as an emergency, at once when approved' : 'in the next maintenance window'}; it needs ${roles.join(' and ')}.\n\n${change.ruleset}\nApprove: drydock firewall approve ${change.id} (or refuse) with your API token in DRYDOCK_TOKEN.`,
      audience(
        this.deps.policy,
        change.kind === 'emergency'
          ? { roles, channelTypes: this.deps.policy.maintenance_windows.emergency.notification.channels }
          : { roles },
      ),
    );
    return change;
  }

  approvalState(change: FirewallChange) {
    return approvalState(
      this.requiredRoles(change.kind),
      this.approvals.list(`firewall:${change.id}`),
      change.planHash,
    );
  }

  async decide(
    id: number,
    person: Person,
    decision: 'approved' | 'refused',
    planHash?: string,
  ): Promise<FirewallChange> {
    const change = this.require(id);
    const required = this.requiredRoles(change.kind);
    const check = checkDecision({
      person,
      requestedBy: change.requestedBy,
      required,
      decisions: this.approvals.list(`firewall:${id}`),
      currentPlanHash: change.planHash,
      planHash: planHash ?? change.planHash,
      open: change.status === 'pending_approval',
      what: `firewall change #${id}`,
    });
    if (!check.ok) throw new DrydockError('USAGE', check.reason);
    this.approvals.add({
      subject: `firewall:${id}`,
      person: person.name,
      role: check.role,
      decision,
      planHash: change.planHash,
      comment: null,
      at: this.deps.now(),
    });
    const state = this.approvalState(change);
    const status = state.refused ? 'refused' : state.complete ? 'approved' : 'pending_approval';
    const updated = status === change.status ? change : this.store.update(id, { status });
    await this.log(
      `firewall.change.${decision}`,
      `firewall change #${id} ${decision} by ${person.name} as ${check.role}${status === 'approved' ? `; ${change.kind === 'emergency' ? 'it may be applied now' : 'it is applied in the next maintenance window'}` : state.missing.length && !state.refused ? `; still needs ${state.missing.join(' and ')}` : ''}`,
      person.name,
      updated,
    );
    return updated;
  }

  require(id: number): FirewallChange {
    const change = this.store.getChange(id);
    if (!change) throw new DrydockError('USAGE', `no firewall change #${id}`);
    return change;
  }

  /** Applies one approved change; the outcome is on the record whatever happens. */
  async apply(id: number, actor: string): Promise<FirewallChange> {
    const change = this.require(id);
    if (change.status !== 'approved')
      throw new DrydockError(
        'USAGE',
        `firewall change #${id} is ${change.status.replace('_', ' ')}, not approved: it cannot be applied`,
      );
    const startedAt = this.deps.now();
    let outcome;
    try {
      outcome = await applyRuleset(this.fw, change.ruleset, this.deps.signal, (previous) =>
        this.store.update(id, { status: 'applying', previous, appliedAt: startedAt }),
      );
    } catch (error) {
      const failed = this.store.update(id, {
        status: 'failed',
        result: { lines: [error instanceof Error ? error.message : String(error)] },
        appliedAt: startedAt,
        finishedAt: this.deps.now(),
      });
      await this.log(
        'firewall.change.failed',
        `firewall change #${id} failed: ${failed.result!.lines[0]}`,
        actor,
        failed,
      );
      throw error;
    }
    const updated = this.store.update(id, {
      status: outcome.status,
      previous: outcome.previous,
      result: { lines: outcome.lines },
      appliedAt: startedAt,
      finishedAt: this.deps.now(),
    });
    const message =
      outcome.status === 'applied'
        ? `firewall change #${id} "${change.title}" applied; every service is reachable; approve the result as the baseline with drydock firewall baseline --change ${id}`
        : outcome.status === 'rolled_back'
          ? `firewall change #${id} "${change.title}" rolled back: ${outcome.unreachable.join(', ')} could not be reached after it`
          : `firewall change #${id} "${change.title}" not applied: ${outcome.lines[outcome.lines.length - 1]}`;
    await this.log(`firewall.change.${outcome.status}`, message, actor, updated);
    const people = [change.requestedBy, ...this.approvalState(change).approved.map((a) => a.person)];
    await this.notice(
      updated,
      'firewall_outcome',
      `Firewall change #${id} "${change.title}": ${outcome.status.replace('_', ' ')}`,
      `${message}\n\n${outcome.lines.join('\n')}`,
      audience(this.deps.policy, { people }),
    );
    return updated;
  }

  /**
   * After a crash mid-change (status still "applying"), nobody validated the ruleset in force: the
   * saved one is restored and the change recorded as rolled back.
   */
  async recoverInterrupted(actor: string): Promise<string[]> {
    const lines: string[] = [];
    for (const change of this.store.listChanges('applying')) {
      if (change.previous === null) continue;
      const restored = await restoreRuleset(this.fw, change.previous, this.deps.signal);
      const updated = this.store.update(change.id, {
        status: 'rolled_back',
        result: { lines: [...(change.result?.lines ?? []), 'interrupted while being applied', ...restored] },
        finishedAt: this.deps.now(),
      });
      lines.push(`firewall change #${change.id} was interrupted while being applied: ${restored.join('; ')}`);
      await this.log(
        'firewall.change.rolled_back',
        `firewall change #${change.id} "${change.title}" rolled back: interrupted while being applied`,
        actor,
        updated,
      );
    }
    return lines;
  }

  snapshot(): Promise<FirewallSnapshot> {
    return takeSnapshot(this.fw, firewallRunner(this.fw, this.deps.signal));
  }

  /** Approves the ruleset in force now as the baseline (after an applied change, or the first time). */
  async approveBaseline(
    person: Person,
    options: { changeId?: number; reason?: string } = {},
  ): Promise<FirewallBaseline> {
    const change = options.changeId === undefined ? null : this.require(options.changeId);
    if (change && change.status !== 'applied')
      throw new DrydockError(
        'USAGE',
        `firewall change #${change.id} is ${change.status.replace('_', ' ')}; only an applied change can become the baseline`,
      );
    const snap = await this.snapshot();
    const baseline = this.store.addBaseline({
      backend: snap.backend,
      rules: snap.rules,
      raw: snap.raw,
      approvedBy: person.name,
      approvedAt: this.deps.now(),
      reason: options.reason ?? (change ? `firewall change #${change.id} "${change.title}"` : 'approved as found'),
    });
    if (change) this.store.update(change.id, { status: 'accepted' });
    await this.deps.activity({
      at: this.deps.now(),
      kind: 'firewall.baseline.approved',
      taskId: 'network.firewall.review',
      actor: person.name,
      message: `firewall baseline #${baseline.id} approved by ${person.name}: ${snap.rules.length} rules (${baseline.reason})`,
      data: { baselineId: baseline.id, changeId: change?.id ?? null },
    });
    return baseline;
  }
}
