// Problems in the windows part of a policy that zod cannot see on its own: stakeholders naming
// channels that do not exist, approval roles nobody holds, emergency channel types with no channel.
// Returned as sentences; `drydock config check` can print them.
import type { Policy } from '../policy/schema.js';

export function windowsPolicyProblems(policy: Policy): string[] {
  const problems: string[] = [];
  const names = new Set(Object.keys(policy.channels));
  policy.stakeholders.forEach((s, i) => {
    for (const c of s.channels) {
      if (!names.has(c))
        problems.push(
          `stakeholders.${i} (${s.name}): unknown channel "${c}" (defined: ${[...names].join(', ') || 'none'})`,
        );
      const type = policy.channels[c]?.type;
      if (type === 'email' && !s.email)
        problems.push(`stakeholders.${i} (${s.name}): channel "${c}" is email but ${s.name} has no email address`);
      if (type === 'sms' && !s.phone)
        problems.push(`stakeholders.${i} (${s.name}): channel "${c}" is SMS but ${s.name} has no phone number`);
    }
  });
  const regular = policy.maintenance_windows.regular.change;
  if (!regular.rollback_plan || !regular.owner) {
    problems.push(
      'maintenance_windows.regular.change: no rollback_plan/owner, so regular windows are not announced by themselves (schedule them with `drydock windows schedule --kind regular`)',
    );
  }
  const seen = new Set<string>();
  policy.stakeholders.forEach((s) => {
    if (seen.has(s.name)) problems.push(`stakeholders: the name "${s.name}" is used twice; names identify approvers`);
    seen.add(s.name);
  });
  for (const role of policy.maintenance_windows.emergency.approval) {
    if (!policy.stakeholders.some((s) => s.roles.includes(role)))
      problems.push(
        `maintenance_windows.emergency.approval: no stakeholder holds the role "${role}", so emergency windows can never be approved`,
      );
  }
  const types = new Set(Object.values(policy.channels).map((c) => c.type));
  for (const type of policy.maintenance_windows.emergency.notification.channels) {
    const present = type === 'webhook' ? types.has('webhook') || types.has('slack') : types.has(type);
    if (!present)
      problems.push(`maintenance_windows.emergency.notification.channels: no channel of type "${type}" is defined`);
  }
  return problems;
}
