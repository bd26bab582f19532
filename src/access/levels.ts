// Access levels: viewer < operator < admin, from stakeholders[].access in the policy (default viewer).
// The approver right is separate: it comes from a person's roles (the approval roles the policy names),
// never from their level, so an admin is not an approver unless they hold such a role.
import type { Policy } from '../policy/schema.js';

export const ACCESS_LEVELS = ['viewer', 'operator', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export function atLeast(have: AccessLevel, need: AccessLevel): boolean {
  return ACCESS_LEVELS.indexOf(have) >= ACCESS_LEVELS.indexOf(need);
}

/** A person proven by a token or a session. */
export interface Principal {
  name: string;
  roles: readonly string[];
  level: AccessLevel;
  /** Holds at least one approval role the policy names (emergency windows, security patches). */
  approver: boolean;
  /** How they were proven: an issued token (its id), a policy token, or a session. */
  via: { kind: 'token'; tokenId: string } | { kind: 'policy-token' } | { kind: 'session' } | { kind: 'setup' };
}

/** Every role the policy names as an approver of something. */
export function approvalRoles(policy: Policy): Set<string> {
  return new Set(policy.maintenance_windows.emergency.approval);
}

/** The stakeholder of this name as a principal, or null when the policy does not name them. */
export function principalFor(policy: Policy, name: string, via: Principal['via']): Principal | null {
  const s = policy.stakeholders.find((x) => x.name === name);
  if (!s) return null;
  const approvers = approvalRoles(policy);
  return { name: s.name, roles: s.roles, level: s.access, approver: s.roles.some((r) => approvers.has(r)), via };
}
