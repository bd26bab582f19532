// network.firewall.review (monthly): snapshot the ruleset (nftables JSON, iptables-save where nft is
// absent), diff it against the baseline a person approved, and flag rules that open a port to the
// world or accept everything. Validation fails on any drift (every added and removed rule listed), on
// an unexpected world-open or allow-all rule, and when no baseline has been approved yet.
import type { ImplementedTask, TaskContext, ValidationCheck } from '../../engine/types.js';
import { DrydockError } from '../../errors.js';
import {
  diffRules,
  firewallRunner,
  takeSnapshot,
  type FirewallSnapshot,
  type RuleDiff,
} from '../../network/firewall/ruleset.js';
import { FirewallStore, type FirewallBaseline } from '../../network/firewall/store.js';
import { toSchedule } from '../../schedule/frequency.js';
import { TimeOfDay } from '../../policy/values.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';

export interface FirewallReview {
  snapshot: Pick<FirewallSnapshot, 'backend' | 'rules' | 'flags'>;
  baseline: Pick<FirewallBaseline, 'id' | 'approvedBy' | 'approvedAt'> | null;
  diff: RuleDiff | null;
}

/** Drydock's SQLite state, where the baseline and the change records live. */
export function stateDb(ctx: Pick<TaskContext, 'store'>): SqliteStore['db'] {
  if (!(ctx.store instanceof SqliteStore))
    throw new DrydockError(
      'INTERNAL',
      "the firewall baseline lives in Drydock's SQLite state store, which this run has not got",
    );
  return ctx.store.db;
}

export function firewallStore(ctx: Pick<TaskContext, 'store'>): FirewallStore {
  return new FirewallStore(stateDb(ctx));
}

const ruleLine = (r: { chain: string; text: string }) => `${r.chain}: ${r.text}`;

export const firewallReviewTask: ImplementedTask<FirewallReview> = {
  id: 'network.firewall.review',
  title: 'Firewall rule review',
  implemented: true,
  disruptive: false,
  class: 'security',
  schedule: (policy) => toSchedule({ frequency: policy.network.firewall.review, time: TimeOfDay.at(7, 0) }),
  resources: () => ['firewall'],

  async execute(ctx) {
    const fw = ctx.policy.network.firewall;
    const store = firewallStore(ctx);
    const snapshot = (await ctx.step('snapshot the ruleset', async (step) => {
      const snap = await takeSnapshot(fw, firewallRunner(fw, ctx.signal));
      step.output(
        `${snap.backend}${fw.netns ? ` in network namespace ${fw.netns}` : ''}: ${snap.rules.length} rules and chain policies`,
      );
      for (const r of snap.rules) step.output(`  ${ruleLine(r)}`);
      return snap;
    }))!;
    ctx.figure('firewall.rules', { value: snapshot.rules.length, unit: 'rules' });
    const baseline = store.latestBaseline();
    let diff: RuleDiff | null = null;
    if (!baseline)
      ctx.summary('no approved baseline yet: approve the ruleset as found with `drydock firewall baseline`');
    else {
      diff = (await ctx.step('diff against the approved baseline', (step) => {
        const d = diffRules(baseline.rules, snapshot.rules);
        step.output(
          `baseline #${baseline.id}, approved by ${baseline.approvedBy} on ${baseline.approvedAt.toISOString()}`,
        );
        for (const r of d.added) step.output(`+ ${ruleLine(r)}`);
        for (const r of d.removed) step.output(`- ${ruleLine(r)}`);
        return Promise.resolve(d);
      }))!;
      const d = diff;
      ctx.summary(
        d.added.length + d.removed.length === 0
          ? `unchanged since baseline #${baseline.id} (${snapshot.rules.length} rules)`
          : `${d.added.length} rules added and ${d.removed.length} removed since baseline #${baseline.id}`,
      );
      ctx.figure('firewall.rules_added', { value: d.added.length, unit: 'rules' });
      ctx.figure('firewall.rules_removed', { value: d.removed.length, unit: 'rules' });
    }
    for (const f of snapshot.flags)
      ctx.summary(`${f.expected ? 'expected' : 'FLAG'} ${f.kind.replace('_', ' ')}: ${f.detail}`);
    return {
      snapshot: { backend: snapshot.backend, rules: snapshot.rules, flags: snapshot.flags },
      baseline: baseline ? { id: baseline.id, approvedBy: baseline.approvedBy, approvedAt: baseline.approvedAt } : null,
      diff,
    };
  },

  validate(_ctx, result) {
    const checks: ValidationCheck[] = [];
    const d = result.diff;
    checks.push(
      !result.baseline || !d
        ? {
            name: 'baseline',
            ok: false,
            detail: 'no approved baseline to compare with; run `drydock firewall baseline`',
          }
        : {
            name: 'baseline',
            ok: d.added.length + d.removed.length === 0,
            detail:
              d.added.length + d.removed.length === 0
                ? `unchanged since baseline #${result.baseline.id}`
                : [
                    ...d.added.map((r) => `added ${ruleLine(r)}`),
                    ...d.removed.map((r) => `removed ${ruleLine(r)}`),
                  ].join('; '),
          },
    );
    const unexpected = result.snapshot.flags.filter((f) => !f.expected);
    checks.push({
      name: 'world-open and allow-all rules',
      ok: unexpected.length === 0,
      detail: unexpected.length
        ? unexpected.map((f) => f.detail).join('; ')
        : `none beyond network.firewall.public_ports (${result.snapshot.flags.length} expected)`,
    });
    return Promise.resolve({ ok: checks.every((c) => c.ok), checks });
  },
};
