// network.dns.health_check (hourly): every watched record asked of every authoritative server and
// every resolver of the panel (src/network/dns/health.ts). Recorded per zone, per record and per
// server; validation fails naming the server and the record, and a record fails on the resolvers'
// side only when the policy's quorum of them agrees.
import type { ImplementedTask, ValidationCheck } from '../../engine/types.js';
import { checkDnsHealth, formatLeft, formatRecordHealth, type DnsHealthReport } from '../../network/dns/health.js';
import { toSchedule } from '../../schedule/frequency.js';

export const dnsHealthTask: ImplementedTask<DnsHealthReport> = {
  id: 'network.dns.health_check',
  title: 'DNS health check',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule({ frequency: policy.network.dns.health_check }),
  resources: () => [],

  async execute(ctx) {
    const dns = ctx.policy.network.dns;
    if (dns.zones.length === 0) {
      ctx.summary('no zones to watch (network.dns.zones is empty)');
      return { zones: [], quorum: 0, resolvers: [], queries: 0 };
    }
    const report = await ctx.step('ask every server', async (step) => {
      const r = await checkDnsHealth(dns, { signal: ctx.signal, now: () => ctx.clock.now() });
      step.output(
        `${r.queries} questions to ${r.resolvers.length} resolvers (quorum ${r.quorum}) and the authoritative servers`,
      );
      return r;
    });
    const result = report!;
    for (const zone of result.zones) {
      await ctx.step(`zone ${zone.zone}`, async (step) => {
        step.output(`authoritative: ${zone.authoritative.join(', ') || 'none found'}`);
        for (const s of zone.serials)
          step.output(`SOA serial at ${s.server}: ${s.serial ?? 'none'}${s.problem ? ` -- ${s.problem}` : ''}`);
        for (const record of zone.records) step.output(formatRecordHealth(record));
        return Promise.resolve();
      });
      const failed = zone.records.filter((r) => !r.ok).length;
      ctx.summary(
        `${zone.zone}: ${zone.records.length - failed}/${zone.records.length} records ok, serial ${[...new Set(zone.serials.map((s) => s.serial))].join(' vs ')} at ${zone.authoritative.length} authoritative servers${zone.problems.length ? ` -- ${zone.problems.join('; ')}` : ''}`,
      );
      for (const record of zone.records) {
        for (const w of record.warnings) ctx.summary(`WARN ${record.name} ${record.type}: ${w}`);
        const sigs = record.answers.flatMap((a) => (a.rrsigExpires ? [a.rrsigExpires.getTime()] : []));
        if (sigs.length) {
          const left = Math.min(...sigs) - ctx.clock.now().getTime();
          ctx.figure(`dns.${record.name}.${record.type}.rrsig_hours_left`, {
            value: Math.round(left / 36_000) / 100,
            unit: 'h',
          });
          ctx.summary(`${record.name} ${record.type}: RRSIG ${formatLeft(left)}`);
        }
      }
    }
    // The slowest answer of each server over every question it got.
    const slowest = new Map<string, number>();
    for (const zone of result.zones)
      for (const record of zone.records)
        for (const a of record.answers)
          if (a.ms !== null) slowest.set(a.server, Math.max(slowest.get(a.server) ?? 0, a.ms));
    for (const [server, ms] of slowest) ctx.figure(`dns.answer_ms.${server}`, { value: ms, unit: 'ms' });
    return result;
  },

  validate(_ctx, result) {
    const checks: ValidationCheck[] = [];
    for (const zone of result.zones) {
      checks.push({
        name: `${zone.zone} authoritative servers and SOA serial`,
        ok: zone.ok,
        detail: zone.ok
          ? `${zone.authoritative.length} servers agree on serial ${zone.serials[0]?.serial ?? '?'}`
          : zone.problems.join('; '),
      });
      for (const record of zone.records)
        checks.push({
          name: `${record.name} ${record.type}`,
          ok: record.ok,
          detail: record.ok
            ? `${record.answers.filter((a) => a.ok).length}/${record.answers.length} servers serve it as expected`
            : record.problems.join('; '),
        });
    }
    return Promise.resolve({ ok: checks.every((c) => c.ok), checks });
  },
};
