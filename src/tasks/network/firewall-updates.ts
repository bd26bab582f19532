// network.firewall.updates (weekly, disruptive: only inside a maintenance window): applies every
// approved firewall change (src/network/firewall/changes.ts): checked, applied as one nft
// transaction, services validated, rolled back automatically when one is lost. An emergency change
// does not wait for this run: `drydock firewall apply ID` applies it once its approvals are in.
import type { ImplementedTask, TaskContext, ValidationCheck } from '../../engine/types.js';
import { FirewallChanges } from '../../network/firewall/changes.js';
import type { FirewallChange } from '../../network/firewall/store.js';
import { TimeOfDay } from '../../policy/values.js';
import { toSchedule } from '../../schedule/frequency.js';
import { firewallStore, stateDb } from './firewall-review.js';

function changesFor(ctx: TaskContext): FirewallChanges {
  const activity = ctx.store!;
  return new FirewallChanges({
    db: stateDb(ctx),
    policy: ctx.policy,
    now: () => ctx.clock.now(),
    activity: (entry) => activity.logActivity({ ...entry, runId: ctx.runId }),
    signal: ctx.signal,
  });
}

export const firewallUpdatesTask: ImplementedTask<FirewallChange[]> = {
  id: 'network.firewall.updates',
  title: 'Planned firewall updates',
  implemented: true,
  disruptive: true,
  class: 'security',
  schedule: (policy) => toSchedule({ frequency: policy.network.firewall.updates.planned, time: TimeOfDay.at(7, 30) }),
  resources: () => ['firewall'],

  async execute(ctx) {
    const store = firewallStore(ctx);
    const changes = changesFor(ctx);
    // A change left "applying" by a crash (of a run or of `drydock firewall apply`) is rolled back first.
    for (const line of await changes.recoverInterrupted('drydock')) ctx.summary(line);
    const approved = store.listChanges('approved');
    if (approved.length === 0) ctx.summary('no approved firewall change to apply');
    const done: FirewallChange[] = [];
    for (const change of approved) {
      const result = await ctx.step(
        `change #${change.id} ${change.title}`,
        async (step) => {
          const c = await changes.apply(change.id, 'drydock');
          for (const line of c.result?.lines ?? []) step.output(line);
          return c;
        },
        { continueOnError: true },
      );
      const after = result ?? store.getChange(change.id)!;
      done.push(after);
      ctx.summary(`#${after.id} ${after.title}: ${after.status.replace('_', ' ')}`);
      // A rollback is a failed change: stop, so later changes are not applied on top of a state nobody approved.
      if (after.status !== 'applied') break;
    }
    return done;
  },

  /** A crash between `nft -f` and the service checks: restore the ruleset saved before the change. */
  recoverInterrupted: (ctx) => changesFor(ctx).recoverInterrupted('drydock'),

  validate(_ctx, result) {
    const checks: ValidationCheck[] = result.map((c) => ({
      name: `firewall change #${c.id}`,
      ok: c.status === 'applied',
      detail: c.result?.lines.slice(-3).join('; ') ?? c.status,
    }));
    return Promise.resolve({ ok: checks.every((c) => c.ok), checks });
  },
};
