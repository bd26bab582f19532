// network.dns.propagation (every 15 minutes): tracks declared DNS changes (`drydock dns change`) and
// zone serial moves until every resolver of the panel serves them (src/network/dns/propagation.ts).
// Validation fails, naming the lagging resolvers, for a change that passed the 24-hour timeout in
// this run, so the failure notice is the alert; done changes go into the activity log.
import type { ImplementedTask, TaskContext, ValidationCheck } from '../../engine/types.js';
import { DrydockError } from '../../errors.js';
import { DnsChangeStore } from '../../network/dns/changes.js';
import { checkPropagation, formatProgress, type PropagationReport } from '../../network/dns/propagation.js';
import { toSchedule } from '../../schedule/frequency.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';

export function dnsChangeStore(ctx: Pick<TaskContext, 'store'>): DnsChangeStore {
  if (!(ctx.store instanceof SqliteStore))
    throw new DrydockError('INTERNAL', "DNS propagation tracking needs Drydock's SQLite state store");
  return new DnsChangeStore(ctx.store.db);
}

export const dnsPropagationTask: ImplementedTask<PropagationReport> = {
  id: 'network.dns.propagation',
  title: 'DNS propagation check',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule({ frequency: policy.network.dns.propagation.check }),
  resources: () => ['dns:propagation'],

  async execute(ctx) {
    const store = dnsChangeStore(ctx);
    const activity = ctx.store!;
    const report = await ctx.step('ask the resolvers', async (step) => {
      const r = await checkPropagation({
        dns: ctx.policy.network.dns,
        store,
        now: () => ctx.clock.now(),
        signal: ctx.signal,
        activity: (entry) => activity.logActivity({ ...entry, taskId: 'network.dns.propagation', runId: ctx.runId }),
      });
      for (const d of r.detected) step.output(`detected: #${d.id} ${d.zone} serial moved to ${d.serial}`);
      for (const p of r.progress) step.output(formatProgress(p, ctx.clock.now()));
      for (const problem of r.problems) step.output(`problem: ${problem}`);
      return r;
    });
    const r = report!;
    if (r.progress.length === 0) ctx.summary('no DNS change being tracked');
    for (const p of r.progress) {
      ctx.summary(formatProgress(p, ctx.clock.now()));
      ctx.figure(`dns.change.${p.change.id}.percent`, { value: p.change.percent, unit: '%' });
    }
    for (const problem of r.problems) ctx.summary(`WARN ${problem}`);
    return r;
  },

  validate(_ctx, result) {
    const checks: ValidationCheck[] = result.progress.map((p) => ({
      name: `DNS change #${p.change.id}`,
      ok: p.change.status !== 'timed_out',
      detail:
        p.change.status === 'timed_out'
          ? `not propagated within the timeout; lagging resolvers: ${p.change.lagging.map((l) => `${l.resolver} (serves ${l.serving})`).join(', ')}`
          : `${p.change.percent}% of resolvers serve it${p.change.status === 'done' ? ' (done)' : ''}`,
    }));
    return Promise.resolve({ ok: checks.every((c) => c.ok), checks });
  },
};
