// network.ssl.validation (daily): connects to every TLS endpoint of the policy and checks what is
// really served (network/tls/check.ts). One recorded step per endpoint with what was seen, figures per
// endpoint, and a validation check per endpoint and kind of problem: an unreachable or hanging
// endpoint, an expiry under the alert threshold, or a configuration fault (trust, hostname, TLS 1.0/1.1,
// weak suites, small keys). A failed check is the alert: the failure notice names endpoint and problem.
import { setMaxListeners } from 'node:events';
import { describeError } from '../../errors.js';
import type { ImplementedTask, TaskContext, ValidationCheck, ValidationResult } from '../../engine/types.js';
import { checkEndpoint, type EndpointReport } from '../../network/tls/check.js';
import { endpointPolicy, endpointTargets, mapPool } from '../../network/tls/endpoints.js';
import { toSchedule } from '../../schedule/frequency.js';

export interface SslValidationResult {
  endpoints: EndpointReport[];
}

async function execute(ctx: TaskContext): Promise<SslValidationResult> {
  const targets = endpointTargets(ctx.policy);
  if (targets.length === 0) {
    ctx.summary('no TLS endpoint in the policy (network.ssl.validation.endpoints, network.ssl.renewal.certificates)');
    return { endpoints: [] };
  }
  // Every connection of every endpoint checked at once listens on the run's signal.
  setMaxListeners(0, ctx.signal);
  const endpoints = await mapPool(targets, ctx.policy.network.ssl.validation.concurrency, async (target) => {
    const report = await ctx.step(`check ${target.name}`, async (step) => {
      let r: EndpointReport;
      try {
        r = await checkEndpoint(target.name, target.endpoint, endpointPolicy(ctx.policy, target.caFile), {
          now: () => ctx.clock.now(),
          signal: ctx.signal,
        });
      } catch (error) {
        r = unreachableReport(target.name, target.endpoint, describeError(error));
      }
      for (const line of describeReport(r)) step.output(line);
      return r;
    });
    return report!;
  });
  for (const r of endpoints) {
    recordFigures(ctx, r);
    ctx.summary(summaryLine(r));
  }
  return { endpoints };
}

function unreachableReport(name: string, endpoint: EndpointReport['endpoint'], error: string): EndpointReport {
  return {
    name,
    endpoint,
    where: `${endpoint.host}:${endpoint.port}`,
    reachable: false,
    error,
    chain: [],
    trusted: false,
    hostnameOk: false,
    legacyProtocols: [],
    weakCiphers: [],
    problems: [],
    durationMs: 0,
  };
}

export function describeReport(r: EndpointReport): string[] {
  if (!r.reachable) return [`${r.where}: not checked: ${r.error ?? 'unreachable'}`];
  const lines = [
    `${r.where}: ${r.protocol ?? '?'} ${r.cipher ?? '?'}, handshake and probes ${r.durationMs} ms`,
    ...r.chain.map(
      (c, i) =>
        `  ${i === 0 ? 'leaf' : `chain[${i}]`}: ${c.subject} (issuer ${c.issuer}), ${c.daysLeft} day(s) left of ${c.lifetimeDays}, until ${c.notAfter}, ${c.keyType.toUpperCase()} ${c.keyBits ?? '?'} bits, sha256 ${c.fingerprint256}`,
    ),
    `  trusted: ${r.trusted ? 'yes' : `no (${r.trustError ?? '?'})`}; hostname: ${r.hostnameOk ? 'matches' : `mismatch (${r.hostnameError ?? '?'})`}`,
    `  TLS 1.0/1.1 accepted: ${r.legacyProtocols.join(', ') || 'none'}; weak suites accepted: ${r.weakCiphers.join(', ') || 'none'}`,
  ];
  for (const p of r.problems) lines.push(`  PROBLEM (${p.kind}): ${p.message}`);
  return lines;
}

function recordFigures(ctx: TaskContext, r: EndpointReport): void {
  const leaf = r.chain[0];
  if (!r.reachable || !leaf) return;
  ctx.figure(`${r.name}.leaf_days_left`, { value: leaf.daysLeft, unit: 'days' });
  ctx.figure(`${r.name}.chain_min_days_left`, { value: Math.min(...r.chain.map((c) => c.daysLeft)), unit: 'days' });
  if (leaf.keyBits !== null) ctx.figure(`${r.name}.key_bits`, { value: leaf.keyBits, unit: 'bits' });
  ctx.figure(`${r.name}.check_ms`, { value: r.durationMs, unit: 'ms' });
  ctx.figure(`${r.name}.problems`, { value: r.problems.length, unit: 'problems' });
}

function summaryLine(r: EndpointReport): string {
  if (!r.reachable) return `${r.name}: not checked: ${r.error ?? 'unreachable'}`;
  const leaf = r.chain[0];
  const head = `${r.name}: ${leaf ? `${leaf.daysLeft} day(s) left` : 'no certificate'}, ${r.protocol ?? '?'}`;
  return r.problems.length === 0 ? `${head}, no problem` : `${head}, ${r.problems.map((p) => p.message).join('; ')}`;
}

async function validate(ctx: TaskContext, result: SslValidationResult): Promise<ValidationResult> {
  const alerted = new Set(ctx.policy.network.ssl.validation.alerts);
  const checks: ValidationCheck[] = [];
  for (const r of result.endpoints) {
    if (!r.reachable) {
      checks.push({ name: `${r.name}.reachable`, ok: false, detail: r.error ?? `${r.where} unreachable` });
      continue;
    }
    for (const kind of ['expiration', 'configuration'] as const) {
      const problems = r.problems.filter((p) => p.kind === kind);
      const muted = !alerted.has(kind);
      checks.push({
        name: `${r.name}.${kind}`,
        ok: problems.length === 0 || muted,
        detail:
          problems.length === 0
            ? kind === 'expiration'
              ? `${r.where}: ${Math.min(...r.chain.map((c) => c.daysLeft))} day(s) left on the shortest-lived certificate of the chain`
              : `${r.where}: trusted, hostname matches, ${r.protocol ?? '?'}, no TLS 1.0/1.1, no weak suite`
            : `${r.where}: ${problems.map((p) => p.message).join('; ')}${muted ? ` (not alerted: network.ssl.validation.alerts is [${[...alerted].join(', ')}])` : ''}`,
      });
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}

export const sslValidationTask: ImplementedTask<SslValidationResult> = {
  id: 'network.ssl.validation',
  title: 'Certificate expiry and configuration check',
  implemented: true,
  disruptive: false,
  class: 'security',
  schedule: (policy) => toSchedule(policy.network.ssl.validation),
  resources: () => [],
  execute,
  validate,
};
