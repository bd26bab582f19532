// Drydock's own housekeeping: the activity log keeps `activity_log.retention` (400 days by
// default) and no more. The pruning itself is recorded, as a run and as an activity entry.
import { Frequency, TimeOfDay } from '../../policy/values.js';
import { toSchedule } from '../../schedule/frequency.js';
import type { ImplementedTask } from '../../engine/types.js';
import { DrydockError } from '../../errors.js';

const ACTIVITY_PRUNE_ID = 'drydock.activity_log.prune';

interface PruneResult {
  cutoff: Date;
  deleted: number;
}

export const activityPruneTask: ImplementedTask<PruneResult> = {
  id: ACTIVITY_PRUNE_ID,
  title: "Prune Drydock's activity log past its retention",
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: () => toSchedule({ frequency: Frequency.named('daily'), time: TimeOfDay.at(0, 15) }),
  resources: () => ['drydock:activity'],
  async execute(ctx) {
    const store = ctx.store;
    if (!store) throw new DrydockError('INTERNAL', 'activity prune needs the state store');
    const cutoff = new Date(ctx.clock.now().getTime() - ctx.policy.activity_log.retention.ms);
    const deleted =
      (await ctx.step('delete entries older than retention', async (step) => {
        const count = await store.pruneActivity(cutoff);
        step.output(
          `deleted ${count} activity entries older than ${cutoff.toISOString()} (retention ${ctx.policy.activity_log.retention.text})`,
        );
        return count;
      })) ?? 0;
    await store.logActivity({
      at: ctx.clock.now(),
      kind: 'activity.pruned',
      taskId: ACTIVITY_PRUNE_ID,
      runId: ctx.runId,
      message: `pruned ${deleted} activity entries older than ${cutoff.toISOString()}`,
      data: { deleted, cutoff: cutoff.toISOString(), retention: ctx.policy.activity_log.retention.text },
    });
    ctx.figure('activity.deleted_entries', { value: deleted, unit: 'entries' });
    ctx.summary(`pruned ${deleted} activity entries older than ${cutoff.toISOString()}`);
    return { cutoff, deleted };
  },
  async validate(ctx, result) {
    const remaining = await ctx.store!.listActivity({ limit: 1_000_000 });
    const stale = remaining.filter((e) => e.at < result.cutoff && e.kind !== 'activity.pruned');
    return {
      ok: stale.length === 0,
      checks: [
        {
          name: 'no entry older than retention',
          ok: stale.length === 0,
          detail: `${stale.length} entries older than ${result.cutoff.toISOString()} remain`,
        },
      ],
    };
  },
};
