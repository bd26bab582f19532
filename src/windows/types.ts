// The records behind a maintenance window: the window itself, its change record, its status
// updates and its outcome.
export type WindowKind = 'regular' | 'emergency' | 'planned';

/**
 * pending_approval: an emergency waiting for its approvers; scheduled; in_progress; completed;
 * cancelled (by a person); refused (an approver said no); expired (not approved before its start).
 */
export type WindowStatus =
  'pending_approval' | 'scheduled' | 'in_progress' | 'completed' | 'cancelled' | 'refused' | 'expired';

export type WindowOutcome = 'succeeded' | 'failed' | 'rolled_back';

export interface ChangeRecord {
  /** What will be done. */
  summary: string;
  /** How to undo it. Required: a window without one cannot be scheduled. */
  rollbackPlan: string;
  owner: string;
  standby: string[];
  /** Status-page components affected, e.g. ["API", "Database"]. */
  components: string[];
  /** Task ids this window is for. */
  tasks: string[];
  /** security and critical_bug work may be scheduled inside a blackout (the spec's exceptions). */
  taskClass: 'maintenance' | 'security' | 'critical_bug';
}

export interface ValidationSummary {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export interface WindowRecord {
  id: number;
  kind: WindowKind;
  status: WindowStatus;
  title: string;
  start: Date;
  end: Date;
  change: ChangeRecord;
  requestedBy: string;
  createdAt: Date;
  updatedAt: Date;
  outcome: WindowOutcome | null;
  preChecks: ValidationSummary | null;
  validation: ValidationSummary | null;
  lessons: string | null;
  statusReason: string | null;
  /** Changes each time start/end/change record change; approvals are bound to it. */
  planHash: string;
}

export interface WindowUpdate {
  id: number;
  windowId: number;
  at: Date;
  /** The phase the update reports: scheduled, in_progress, verifying, completed, ... */
  phase: string;
  message: string;
  author: string;
}
