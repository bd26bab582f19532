// cache.replication (every 15 minutes): every replica of the primary is connected and its lag is
// under max_lag. A failed check fails validation, naming each replica and its lag, so the run's
// failure notice is the alert.
import { connectRedis } from '../../adapters/redis.js';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { assessReplication, type ReplicationAssessment } from './replication-check.js';

export interface ReplicationResult extends ReplicationAssessment {
  target: string;
}

const maxLagMs = (ctx: TaskContext): number => ctx.policy.cache.replication.max_lag.ms;

export const cacheReplicationTask: ImplementedTask<ReplicationResult> = {
  id: 'cache.replication',
  title: 'Redis replication sync check',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule({ frequency: policy.cache.replication.sync_check }),
  resources: () => [],

  async execute(ctx) {
    const conn = await connectRedis(ctx.policy.targets.redis);
    try {
      const info = (await ctx.step('INFO replication', async (step) => {
        const result = await conn.info('replication');
        step.output(
          Object.entries(result)
            .map(([k, v]) => `${k}:${v}`)
            .join('\n'),
        );
        return result;
      }))!;
      const assessment = assessReplication(info, {
        maxLagMs: maxLagMs(ctx),
        expected: ctx.policy.cache.replication.replicas,
      });
      for (const r of assessment.replicas) {
        ctx.summary(
          `${r.name}: ${r.state}${r.lagSeconds === null ? '' : `, lag ${r.lagSeconds} s`}${r.offsetBehind === null ? '' : `, ${r.offsetBehind} bytes behind`}`,
        );
        if (r.lagSeconds !== null) ctx.figure(`redis.replica_lag.${r.name}`, { value: r.lagSeconds, unit: 's' });
      }
      for (const problem of assessment.problems) ctx.summary(`problem: ${problem}`);
      return { target: conn.target, ...assessment };
    } finally {
      await conn.close();
    }
  },

  async validate(ctx, result): Promise<ValidationResult> {
    const checks = result.replicas.map((r) => ({
      name: `replica ${r.name}`,
      ok: r.ok,
      detail: r.problem ?? `online, lag ${r.lagSeconds ?? '?'} s (max ${maxLagMs(ctx) / 1000} s)`,
    }));
    if (result.replicas.length === 0) {
      // Only a failure when the policy names replicas that should be there (they would be listed above as missing).
      const expected = ctx.policy.cache.replication.replicas.length > 0;
      checks.push({
        name: 'replicas',
        ok: !expected,
        detail: expected
          ? `no replica is connected to ${result.target}`
          : `no replica connected to ${result.target}, and none is expected (cache.replication.replicas is empty)`,
      });
    }
    if (result.role !== 'master')
      checks.push({ name: 'role', ok: false, detail: result.problems.at(-1) ?? `role ${result.role}` });
    return { ok: checks.every((c) => c.ok), checks };
  },
};
