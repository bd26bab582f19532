// Who may approve what, as pure functions: only a holder of a required role that is still missing,
// never the requester, never one person for two roles, and only the exact plan (its hash) that is
// current. A refusal by any required approver refuses the request.
import type { ApprovalRecord } from '../store/sqlite/approvals.js';

export interface Person {
  name: string;
  roles: readonly string[];
}

export interface ApprovalState {
  /** Roles approved for the current plan, with who approved. */
  approved: Array<{ role: string; person: string; at: Date }>;
  missing: string[];
  refused: ApprovalRecord | null;
  complete: boolean;
}

/** Only decisions on the current plan count: changing the plan voids earlier approvals. */
export function approvalState(
  required: readonly string[],
  decisions: readonly ApprovalRecord[],
  currentPlanHash: string,
): ApprovalState {
  const current = decisions.filter((d) => d.planHash === currentPlanHash);
  const refused = current.find((d) => d.decision === 'refused') ?? null;
  const approved: ApprovalState['approved'] = [];
  for (const role of required) {
    const d = current.find((x) => x.decision === 'approved' && x.role === role);
    if (d) approved.push({ role, person: d.person, at: d.at });
  }
  const missing = required.filter((role) => !approved.some((a) => a.role === role));
  return { approved, missing, refused, complete: missing.length === 0 && refused === null };
}

export type DecisionCheck = { ok: true; role: string } | { ok: false; status: 403 | 409; reason: string };

export function checkDecision(input: {
  person: Person;
  requestedBy: string;
  required: readonly string[];
  decisions: readonly ApprovalRecord[];
  currentPlanHash: string;
  /** The plan hash the approver saw; required so nobody approves a plan they did not see. */
  planHash: string;
  role?: string;
  /** Whether the subject still accepts decisions (e.g. the window is pending approval). */
  open: boolean;
  what: string;
}): DecisionCheck {
  if (!input.open) return { ok: false, status: 409, reason: `${input.what} is not waiting for approval` };
  if (input.person.name === input.requestedBy)
    return {
      ok: false,
      status: 403,
      reason: `${input.person.name} requested ${input.what} and cannot approve or refuse their own request`,
    };
  const holds = input.required.filter((role) => input.person.roles.includes(role));
  if (holds.length === 0) {
    return {
      ok: false,
      status: 403,
      reason: `${input.person.name} does not hold a role that can approve ${input.what} (needs ${input.required.join(' and ')}; has ${input.person.roles.join(', ') || 'no roles'})`,
    };
  }
  if (input.planHash !== input.currentPlanHash) {
    return {
      ok: false,
      status: 409,
      reason: `the plan of ${input.what} changed since it was reviewed (reviewed ${input.planHash.slice(0, 12) || 'nothing'}, current ${input.currentPlanHash.slice(0, 12)}); review it again`,
    };
  }
  const state = approvalState(input.required, input.decisions, input.currentPlanHash);
  if (state.approved.some((a) => a.person === input.person.name)) {
    return {
      ok: false,
      status: 409,
      reason: `${input.person.name} already approved ${input.what}; each required role needs a different person`,
    };
  }
  const open = holds.filter((role) => state.missing.includes(role));
  const role = input.role ?? open[0] ?? holds[0]!;
  if (!holds.includes(role))
    return { ok: false, status: 403, reason: `${input.person.name} does not hold the role ${role}` };
  if (!state.missing.includes(role))
    return { ok: false, status: 409, reason: `the ${role} approval of ${input.what} is already given` };
  return { ok: true, role };
}
