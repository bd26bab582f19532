// network.ssl.renewal (daily, before the validation): for each certificate of the policy, renew it
// when it is due (network/tls/due.ts) from the ACME CA, install the new pair atomically keeping the
// previous one, run the reload command, and prove the endpoint serves the new certificate. One step
// per certificate: a failure fails that certificate (and the run, so the failure notice goes out at
// once and the engine retries with backoff) while the others go on. Nothing is left half-applied: a
// reload that fails puts the previous pair back; a server that keeps serving the old certificate
// after a good reload is an alert that says how to roll back.
import type { X509Certificate } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { exec } from '../../adapters/exec.js';
import { DrydockError, describeError } from '../../errors.js';
import type {
  ImplementedTask,
  StepHandle,
  TaskContext,
  ValidationCheck,
  ValidationResult,
} from '../../engine/types.js';
import { issueCertificate } from '../../network/tls/acme.js';
import { openTls, type TlsEndpoint } from '../../network/tls/connect.js';
import { renewalDue, type RenewalDecision } from '../../network/tls/due.js';
import {
  countCertificates,
  installPair,
  keyMatches,
  previousPath,
  readLeaf,
  rollbackInstructions,
  rollbackPair,
} from '../../network/tls/files.js';
import type { TlsCertificatePolicy } from '../../policy/network-tls.js';
import { Frequency } from '../../policy/values.js';
import { toSchedule } from '../../schedule/frequency.js';

const HOUR_MS = 3_600_000;
export const RENEWAL_FAILED = 'tls.renewal_failed';

export interface CertificateOutcome {
  name: string;
  status: 'not_due' | 'renewed' | 'failed';
  decision?: RenewalDecision;
  oldFingerprint?: string;
  newFingerprint?: string;
  notAfter?: string;
  /** The endpoint served the new certificate after the reload (null: no endpoint to ask). */
  served?: boolean | null;
  error?: string;
}

export interface SslRenewalResult {
  certificates: CertificateOutcome[];
}

async function execute(ctx: TaskContext): Promise<SslRenewalResult> {
  const renewal = ctx.policy.network.ssl.renewal;
  if (renewal.certificates.length === 0) {
    ctx.summary('no certificate to renew in the policy (network.ssl.renewal.certificates)');
    return { certificates: [] };
  }
  const certificates: CertificateOutcome[] = [];
  for (const c of renewal.certificates) {
    const outcome: CertificateOutcome = { name: c.name, status: 'failed' };
    certificates.push(outcome);
    await ctx.step(
      `renew ${c.name}`,
      async (step) => {
        try {
          await renewOne(ctx, c, outcome, step);
        } catch (error) {
          outcome.status = 'failed';
          outcome.error = describeError(error);
          throw error;
        }
      },
      { continueOnError: true },
    );
    ctx.summary(summaryLine(outcome));
    const before = outcome.decision?.daysLeft;
    if (outcome.status === 'renewed' && outcome.notAfter) {
      const after = Math.round(((Date.parse(outcome.notAfter) - ctx.clock.now().getTime()) / 86_400_000) * 10) / 10;
      ctx.figure(`${c.name}.days_left`, { ...(before !== undefined ? { before } : {}), after, unit: 'days' });
    } else if (before !== undefined) ctx.figure(`${c.name}.days_left`, { value: before, unit: 'days' });
  }
  return { certificates };
}

async function renewOne(ctx: TaskContext, c: TlsCertificatePolicy, outcome: CertificateOutcome, step: StepHandle) {
  const renewal = ctx.policy.network.ssl.renewal;
  const paths = { key: c.key_file, cert: c.cert_file };
  const current = readLeaf(c.cert_file);
  const decision = renewalDue(current, c.domains, renewal.threshold.ms, ctx.clock.now());
  outcome.decision = decision;
  if (current) outcome.oldFingerprint = current.fingerprint256;
  step.output(`${c.cert_file}: ${decision.reason}`);
  if (!decision.due) {
    outcome.status = 'not_due';
    return;
  }
  if (!renewal.automatic)
    throw new DrydockError('VALIDATION_FAILED', `${c.name} is due (${decision.reason}) and automatic renewal is off`, {
      hint: 'renew it with `drydock tls renew`, or set network.ssl.renewal.automatic: true',
    });

  await respectRateLimit(ctx, c.name, renewal.failures_per_hour);
  let issued;
  try {
    issued = await issueCertificate({
      acme: {
        directory: renewal.acme.directory,
        accountKeyFile: renewal.acme.account_key_file,
        timeoutMs: renewal.acme.timeout.ms,
        requestRetries: renewal.acme.request_retries,
        ...(renewal.acme.email ? { email: renewal.acme.email } : {}),
        ...(renewal.acme.ca_file ? { caFile: renewal.acme.ca_file } : {}),
      },
      certificate: c,
      signal: ctx.signal,
      say: (line) => step.output(line),
    });
  } catch (error) {
    await recordFailure(ctx, c.name, 'order', error);
    throw error;
  }
  outcome.newFingerprint = issued.leaf.fingerprint256;
  outcome.notAfter = new Date(issued.leaf.validTo).toISOString();

  const installed = await installPair(paths, issued);
  step.output(
    `installed ${c.cert_file} (${countCertificates(issued.certPem)} certificates) and ${c.key_file} (mode 0600)` +
      (installed.keptPrevious
        ? `; the previous pair is kept as ${c.cert_file}.previous and ${c.key_file}.previous`
        : ''),
  );

  if (c.reload) {
    try {
      const result = await exec(c.reload[0]!, c.reload.slice(1), {
        timeoutMs: c.reload_timeout.ms,
        signal: ctx.signal,
        what: 'reload command',
      });
      step.output(
        `reload: ${c.reload.join(' ')} (exit ${result.code})${result.stdout.trim() ? `\n${result.stdout.trim()}` : ''}`,
      );
    } catch (error) {
      const undone = await rollbackPair(paths, installed);
      step.output(`reload failed: ${describeError(error)}; rolled back: ${undone}`);
      await recordFailure(ctx, c.name, 'reload', error);
      throw new DrydockError(
        'EXEC_FAILED',
        `${c.name}: the reload command failed (${describeError(error)}); the new certificate was not kept: ${undone}`,
        { retryable: true, cause: error },
      );
    }
  } else {
    step.output('no reload command in the policy: the server must pick up the new files itself');
  }

  if (!c.endpoint) {
    outcome.served = null;
    step.output('no endpoint in the policy: which certificate is served was not checked');
  } else {
    const endpoint: TlsEndpoint = {
      host: c.endpoint.host,
      port: c.endpoint.port,
      protocol: c.endpoint.protocol,
      servername: c.endpoint.servername ?? c.domains[0]!,
    };
    const seen = await waitForServed(endpoint, issued.leaf, c.prove_timeout.ms, ctx.signal);
    outcome.served = seen.ok;
    if (!seen.ok) {
      await recordFailure(ctx, c.name, 'serve', new Error(seen.detail));
      throw new DrydockError(
        'VALIDATION_FAILED',
        `${c.name}: ${seen.detail}; the new pair is on disk. To roll back: ${rollbackInstructions(paths, c.reload)}`,
        { hint: 'check that the reload command reloads the server that listens there' },
      );
    }
    step.output(seen.detail);
  }
  outcome.status = 'renewed';
  await ctx.store?.logActivity({
    at: ctx.clock.now(),
    kind: 'tls.renewed',
    taskId: ctx.taskId,
    runId: ctx.runId,
    message: `certificate ${c.name} renewed: ${c.domains.join(', ')} valid until ${outcome.notAfter}, sha256 ${outcome.newFingerprint}`,
    data: { certificate: c.name, fingerprint256: outcome.newFingerprint, notAfter: outcome.notAfter },
  });
}

/** Refuses to ask the CA again when this certificate failed `limit` times in the last hour. */
async function respectRateLimit(ctx: TaskContext, name: string, limit: number): Promise<void> {
  if (!ctx.store) return;
  const since = new Date(ctx.clock.now().getTime() - HOUR_MS);
  const failures = (await ctx.store.listActivity({ since, kind: RENEWAL_FAILED })).filter(
    (a) => a.data?.certificate === name,
  );
  if (failures.length >= limit) {
    const oldest = failures.map((a) => a.at.getTime()).sort((a, b) => a - b)[0]!;
    throw new DrydockError(
      'VALIDATION_FAILED',
      `${name}: not asking the CA again: ${failures.length} failed attempt(s) in the last hour (limit network.ssl.renewal.failures_per_hour: ${limit}); next attempt possible after ${new Date(oldest + HOUR_MS).toISOString()}`,
      { retryable: true },
    );
  }
}

async function recordFailure(ctx: TaskContext, name: string, stage: string, error: unknown): Promise<void> {
  await ctx.store?.logActivity({
    at: ctx.clock.now(),
    kind: RENEWAL_FAILED,
    taskId: ctx.taskId,
    runId: ctx.runId,
    message: `renewal of certificate ${name} failed at ${stage}: ${describeError(error)}`,
    data: { certificate: name, stage },
  });
}

/** Connects until the endpoint serves `expected`, or the time is up. */
async function waitForServed(
  endpoint: TlsEndpoint,
  expected: X509Certificate,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const socket = await openTls(endpoint, { timeoutMs: Math.min(10_000, Math.max(1_000, timeoutMs)), signal });
      const served = socket.getPeerX509Certificate();
      socket.destroy();
      if (served?.fingerprint256 === expected.fingerprint256)
        return {
          ok: true,
          detail: `${endpoint.host}:${endpoint.port} serves the new certificate (sha256 ${expected.fingerprint256})`,
        };
      last = `still serves sha256 ${served?.fingerprint256 ?? 'nothing'}`;
    } catch (error) {
      last = describeError(error);
    }
    if (Date.now() >= deadline || signal.aborted)
      return {
        ok: false,
        detail: `${endpoint.host}:${endpoint.port} does not serve the new certificate (sha256 ${expected.fingerprint256}) ${Math.round(timeoutMs / 1000)} s after the reload: ${last}`,
      };
    await new Promise((r) => setTimeout(r, 250));
  }
}

function summaryLine(o: CertificateOutcome): string {
  if (o.status === 'not_due') return `${o.name}: not due: ${o.decision?.reason ?? ''}`;
  if (o.status === 'renewed')
    return `${o.name}: renewed, valid until ${o.notAfter ?? '?'}${o.served ? ', served after the reload' : o.served === null ? ' (serving not checked: no endpoint)' : ''}`;
  return `${o.name}: renewal failed: ${o.error ?? 'unknown error'}`;
}

async function validate(ctx: TaskContext, result: SslRenewalResult): Promise<ValidationResult> {
  const checks: ValidationCheck[] = [];
  for (const o of result.certificates) {
    const c = ctx.policy.network.ssl.renewal.certificates.find((x) => x.name === o.name)!;
    if (o.status === 'failed') {
      checks.push({ name: `${o.name}.renewed`, ok: false, detail: o.error ?? 'failed' });
      continue;
    }
    if (o.status === 'not_due') {
      checks.push({ name: `${o.name}.not_due`, ok: true, detail: o.decision?.reason ?? '' });
      continue;
    }
    // Renewed: read back what is on disk now, not what execute() believes it wrote.
    const leaf = readLeaf(c.cert_file);
    const certPem = await readFile(c.cert_file, 'utf8');
    const keyPem = await readFile(c.key_file, 'utf8');
    const mode = statSync(c.key_file).mode & 0o777;
    checks.push(
      {
        name: `${o.name}.installed`,
        ok: leaf?.fingerprint256 === o.newFingerprint,
        detail: `${c.cert_file} holds sha256 ${leaf?.fingerprint256 ?? 'nothing'} (issued ${o.newFingerprint ?? '?'}), ${countCertificates(certPem)} certificate(s)`,
      },
      {
        name: `${o.name}.key`,
        ok: keyMatches(certPem, keyPem) && mode === 0o600,
        detail: `${c.key_file} matches the certificate: ${keyMatches(certPem, keyPem) ? 'yes' : 'NO'}, mode ${mode.toString(8)}`,
      },
      {
        name: `${o.name}.served`,
        ok: o.served !== false,
        detail:
          o.served === null
            ? 'no endpoint in the policy: not checked'
            : o.served
              ? 'the endpoint serves the new certificate'
              : 'the endpoint serves another certificate',
      },
    );
    const again = renewalDue(leaf, c.domains, ctx.policy.network.ssl.renewal.threshold.ms, ctx.clock.now());
    checks.push({ name: `${o.name}.not_due`, ok: !again.due, detail: again.reason });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

/**
 * After a crash or kill mid-run: a certificate whose key no longer matches it (the process died
 * between the two renames, or during a reload that was to be rolled back) gets its previous pair
 * back when that pair matches. Pairs that match are left as they are.
 */
async function recoverInterrupted(ctx: TaskContext): Promise<string[]> {
  const lines: string[] = [];
  for (const c of ctx.policy.network.ssl.renewal.certificates) {
    const paths = { key: c.key_file, cert: c.cert_file };
    if (!existsSync(paths.cert) || !existsSync(paths.key)) continue;
    if (keyMatches(await readFile(paths.cert, 'utf8'), await readFile(paths.key, 'utf8'))) continue;
    const previous = { key: previousPath(paths.key), cert: previousPath(paths.cert) };
    if (
      existsSync(previous.cert) &&
      existsSync(previous.key) &&
      keyMatches(await readFile(previous.cert, 'utf8'), await readFile(previous.key, 'utf8'))
    ) {
      lines.push(
        `${c.name}: the key did not match the certificate; ${await rollbackPair(paths, { keptPrevious: true })}`,
      );
    } else {
      lines.push(`${c.name}: the key does not match the certificate and there is no matching previous pair: renew it`);
    }
  }
  return lines;
}

export const sslRenewalTask: ImplementedTask<SslRenewalResult> = {
  id: 'network.ssl.renewal',
  title: 'Renew certificates 30 days (or a third of their lifetime) before expiry',
  implemented: true,
  disruptive: false,
  class: 'security',
  schedule: (policy) => toSchedule({ frequency: Frequency.named('daily'), time: policy.network.ssl.renewal.time }),
  resources: (policy) => policy.network.ssl.renewal.certificates.map((c) => `tls:${c.name}`),
  execute,
  validate,
  recoverInterrupted,
};
