// Dependency change records for people: list them, show one, approve or refuse one. Decisions go
// through the same approval rules and store as maintenance windows and security patches (a person
// proven by their API token, holding one of the approver roles, deciding on the exact plan hash they
// saw); the decision is written to the activity log. An approved update is applied by the next run.
import type { Clock } from '../engine/clock.js';
import { DrydockError } from '../errors.js';
import { approvalState, checkDecision, type Person } from '../approvals/rules.js';
import type { Policy } from '../policy/schema.js';
import { ApprovalStore } from '../store/sqlite/approvals.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import type { ActivityEntry } from '../store/types.js';
import { DependencyStore, type DependencyUpdate, type Ecosystem } from './store.js';

export interface DependencyServiceDeps {
  db: SqliteDatabase;
  policy: Policy;
  clock: Clock;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
}

export const subjectOf = (id: number) => `dependency:${id}`;

export class DependencyService {
  readonly store: DependencyStore;
  readonly approvals: ApprovalStore;

  constructor(private readonly deps: DependencyServiceDeps) {
    this.store = new DependencyStore(deps.db);
    this.approvals = new ApprovalStore(deps.db);
  }

  /** Any one of these roles approves an update of this ecosystem. */
  approverRoles(ecosystem: Ecosystem): string[] {
    const deps = this.deps.policy.dependencies;
    return [...(ecosystem === 'docker' ? deps.docker.approvers : deps.npm.approvers)];
  }

  must(id: number): DependencyUpdate {
    const u = this.store.get(id);
    if (!u)
      throw new DrydockError('VALIDATION_FAILED', `no dependency update #${id}`, {
        hint: 'drydock deps list shows them',
      });
    return u;
  }

  async decide(
    id: number,
    person: Person,
    decision: { decision: 'approved' | 'refused'; planHash: string; comment?: string },
  ): Promise<DependencyUpdate> {
    const u = this.must(id);
    const what = `${u.ecosystem} update #${id} (${u.package} ${u.fromVersion} -> ${u.toVersion})`;
    const holds = this.approverRoles(u.ecosystem).filter((r) => person.roles.includes(r));
    const required = holds.length ? [holds[0]!] : this.approverRoles(u.ecosystem);
    const planHash =
      decision.planHash.length >= 12 && u.planHash.startsWith(decision.planHash) ? u.planHash : decision.planHash;
    const subject = subjectOf(id);
    const check = checkDecision({
      person,
      requestedBy: 'Drydock',
      required,
      decisions: this.approvals.list(subject),
      currentPlanHash: u.planHash,
      planHash,
      open: u.status === 'pending_approval',
      what,
    });
    const now = this.deps.clock.now();
    if (!check.ok) {
      await this.deps.activity?.({
        at: now,
        kind: 'approval.rejected',
        actor: person.name,
        message: `${person.name} could not decide on ${what}: ${check.reason}`,
        data: { dependencyUpdate: id },
      });
      throw new DrydockError('VALIDATION_FAILED', check.reason, { details: { status: check.status } });
    }
    this.approvals.add({
      subject,
      person: person.name,
      role: check.role,
      decision: decision.decision,
      planHash: u.planHash,
      comment: decision.comment ?? null,
      at: now,
    });
    const state = approvalState(required, this.approvals.list(subject), u.planHash);
    const status = state.refused ? 'refused' : state.complete ? 'approved' : 'pending_approval';
    const updated = this.store.update(
      id,
      {
        status,
        reason: `${decision.decision} by ${person.name} (${check.role})${decision.comment ? `: ${decision.comment}` : ''}`,
        detail: { approvedBy: status === 'approved' ? person.name : null },
      },
      now,
    );
    await this.deps.activity?.({
      at: now,
      kind: `dependency.${decision.decision}`,
      actor: person.name,
      message: `${person.name} ${decision.decision} ${what}${status === 'approved' ? '; the next run applies it' : ''}`,
      data: { dependencyUpdate: id, planHash: u.planHash },
    });
    return updated;
  }
}
