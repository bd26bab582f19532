// The monthly compliance evidence: controls of PCI-DSS v4.0, SOC 2 (2017 Trust Services Criteria)
// and GDPR art. 32 mapped to what Drydock itself recorded in the month: its runs (backups, restore
// tests, scans, health checks, activity-log pruning), findings and their SLAs, patches and approvals
// with who and when, maintenance windows with their notices, API tokens issued and revoked. Each
// control is met, not met, or "no evidence" (nothing recorded that could show it either way), with
// the run ids and records behind the verdict. Nothing here judges what Drydock did not record.
import type { Policy } from '../../policy/schema.js';
import { ApprovalStore, type PatchRecord } from '../../store/sqlite/approvals.js';
import { SqliteAccessStore } from '../../access/token-store.js';
import { DeliveryLog } from '../../store/sqlite/deliveries.js';
import { FindingStore, type FindingRecord } from '../../store/sqlite/findings.js';
import type { SqliteDatabase } from '../../store/sqlite/open.js';
import { WindowStore } from '../../store/sqlite/windows.js';
import type { RunRecord, Store } from '../../store/types.js';

export type ControlStatus = 'met' | 'not_met' | 'no_evidence';

export interface Evidence {
  /** "run #12 of backup.database.full succeeded 2026-11-03T01:04Z", "patch #3 approved by Carol (CTO) at ...". */
  text: string;
  runId?: number;
}

export interface Control {
  framework: 'PCI-DSS' | 'SOC 2' | 'GDPR';
  id: string;
  title: string;
  status: ControlStatus;
  detail: string;
  evidence: Evidence[];
}

export interface ComplianceReport {
  month: string;
  period: { from: string; to: string };
  generatedAt: string;
  standards: string[];
  summary: { met: number; notMet: number; noEvidence: number };
  controls: Control[];
}

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');

export function monthRange(month: string): { from: Date; to: Date } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new Error(`expected a month like 2026-11, got ${JSON.stringify(month)}`);
  const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  const to = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1));
  return { from, to };
}

const runText = (r: RunRecord) =>
  `run #${r.id} of ${r.taskId} ${r.status} ${iso(r.startedAt)}${r.error ? `: ${r.error.slice(0, 160)}` : ''}`;
const runEvidence = (r: RunRecord): Evidence => ({ text: runText(r), runId: r.id });

function control(
  framework: Control['framework'],
  id: string,
  title: string,
  verdict: { status: ControlStatus; detail: string; evidence: Evidence[] },
): Control {
  return { framework, id, title, ...verdict };
}

/** "2026-11-01 to 2026-11-28, 2026-11-30": consecutive days as ranges. */
export function dayRanges(days: readonly string[]): string {
  const out: string[] = [];
  let start: string | null = null;
  let prev: string | null = null;
  const next = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
  for (const d of [...days, '']) {
    if (start !== null && prev !== null && d === next(prev)) {
      prev = d;
      continue;
    }
    if (start !== null && prev !== null) out.push(start === prev ? start : `${start} to ${prev}`);
    start = d;
    prev = d;
  }
  return out.join(', ');
}

/** Days of [from, to) (up to `now`) with at least one succeeded run; the days without one. */
function dailyCoverage(runs: RunRecord[], from: Date, to: Date, now: Date) {
  const end = Math.min(to.getTime(), now.getTime());
  const days: string[] = [];
  for (let t = from.getTime(); t < end; t += DAY) days.push(new Date(t).toISOString().slice(0, 10));
  const covered = new Set(
    runs.filter((r) => r.status === 'succeeded').map((r) => r.startedAt.toISOString().slice(0, 10)),
  );
  return { days, missing: days.filter((d) => !covered.has(d)) };
}

export interface EvidenceSources {
  store: Store;
  db: SqliteDatabase;
  policy: Policy;
  now: Date;
}

export async function buildComplianceReport(month: string, sources: EvidenceSources): Promise<ComplianceReport> {
  const { from, to } = monthRange(month);
  const { policy, db, now } = sources;
  const all = (await sources.store.listRuns({ since: from, limit: 1_000_000 })).filter((r) => r.startedAt < to);
  const runsOf = (match: (taskId: string) => boolean) => all.filter((r) => match(r.taskId)).sort((a, b) => a.id - b.id);
  const findings = new FindingStore(db);
  const approvals = new ApprovalStore(db);
  const controls: Control[] = [];

  // --- Vulnerability scans and findings -------------------------------------------------------
  const scans = runsOf((t) => t === 'security.scans.vulnerability');
  const scanCoverage = dailyCoverage(scans, from, to, now);
  const scanVerdict = (): Parameters<typeof control>[3] => {
    if (scans.length === 0)
      return { status: 'no_evidence', detail: 'no vulnerability scan ran in the month', evidence: [] };
    const ok = scanCoverage.missing.length === 0;
    return {
      status: ok ? 'met' : 'not_met',
      detail: ok
        ? `a vulnerability scan succeeded on each of the ${scanCoverage.days.length} days`
        : `no successful scan on ${scanCoverage.missing.length} of ${scanCoverage.days.length} days: ${dayRanges(scanCoverage.missing)}`,
      evidence: scans.map(runEvidence),
    };
  };

  const closed = findings
    .list({ status: 'closed' })
    .filter((f) => f.closedAt && f.closedAt >= from && f.closedAt < to && f.dueAt);
  const breachedOpen = findings
    .list()
    .filter((f) => f.status === 'open' && f.dueAt && f.dueAt < (to < now ? to : now) && f.firstSeen < to);
  const late = closed.filter((f) => f.closedAt! > f.dueAt!);
  const findingText = (f: FindingRecord) =>
    `finding #${f.id} ${f.vulnId} (${f.severity}) in ${f.package} on ${f.host}: first seen ${iso(f.firstSeen)}, due ${iso(f.dueAt!)}, ${
      f.status === 'closed' ? `closed ${iso(f.closedAt!)} by run #${f.closedByRun ?? '-'}` : 'still open'
    }`;
  const patchVerdict = (): Parameters<typeof control>[3] => {
    if (closed.length === 0 && breachedOpen.length === 0)
      return {
        status: 'no_evidence',
        detail: 'no finding with an SLA was closed or overdue in the month',
        evidence: [],
      };
    const bad = [...late, ...breachedOpen];
    return {
      status: bad.length ? 'not_met' : 'met',
      detail: `${closed.length - late.length} of ${closed.length} findings closed within their SLA; ${breachedOpen.length} open past their SLA`,
      evidence: [...closed, ...breachedOpen].map((f) => ({
        text: findingText(f),
        ...(f.closedByRun ? { runId: f.closedByRun } : {}),
      })),
    };
  };

  // --- Patches and approvals ------------------------------------------------------------------
  const patches = approvals.patches().filter((p) => p.foundAt < to && (p.decidedAt ?? p.foundAt) >= from);
  const patchEvidence = (p: PatchRecord): Evidence => {
    const decisions = approvals.list(`patch:${p.id}`);
    const who = decisions.length
      ? decisions.map((d) => `${d.decision} by ${d.person} (${d.role}) at ${iso(d.at)}`).join('; ')
      : p.decidedBy
        ? `${p.status} by ${p.decidedBy} at ${iso(p.decidedAt!)}`
        : 'no decision yet';
    return {
      text: `patch #${p.id} ${p.ref} (${p.severity}): ${who}${p.appliedAt ? `; applied ${iso(p.appliedAt)}` : ''}`,
    };
  };

  // --- Maintenance windows and their notices ----------------------------------------------------
  const windows = new WindowStore(db)
    .list({ from, to })
    .filter((w) => w.status !== 'cancelled' && w.status !== 'refused');
  const deliveries = new DeliveryLog(db);
  const windowVerdict = (): Parameters<typeof control>[3] => {
    if (windows.length === 0)
      return { status: 'no_evidence', detail: 'no maintenance window in the month', evidence: [] };
    const evidence: Evidence[] = [];
    let missing = 0;
    for (const w of windows) {
      const sent = deliveries.list({ windowId: w.id, status: 'sent' });
      const approved = approvals.list(`window:${w.id}`).filter((d) => d.decision === 'approved');
      if (sent.length === 0) missing++;
      evidence.push({
        text: `window #${w.id} "${w.title}" ${iso(w.start)}-${iso(w.end)} (${w.kind}, ${w.status}${w.outcome ? `, ${w.outcome}` : ''}): ${sent.length} notices sent; requested by ${w.requestedBy}${approved.length ? `; approved by ${approved.map((a) => `${a.person} (${a.role}) at ${iso(a.at)}`).join(', ')}` : ''}`,
      });
    }
    return {
      status: missing ? 'not_met' : 'met',
      detail: `${windows.length - missing} of ${windows.length} windows had their notices delivered`,
      evidence,
    };
  };

  // --- Backups and restore tests ---------------------------------------------------------------
  const backups = runsOf((t) => /^(backup\.database\.|database\.backup$|cache\.backup$|backup\.files\.)/.test(t));
  const restores = runsOf((t) => t === 'backup.validation.restore_test');
  const backupVerdict = (): Parameters<typeof control>[3] => {
    if (backups.length === 0) return { status: 'no_evidence', detail: 'no backup ran in the month', evidence: [] };
    const ok = backups.filter((r) => r.status === 'succeeded').length;
    const rate = ok / backups.length;
    const threshold = policy.backup.monitoring.success_rate.threshold.percent / 100;
    return {
      status: rate >= threshold ? 'met' : 'not_met',
      detail: `${ok} of ${backups.length} backup runs succeeded (${(rate * 100).toFixed(1)} %, threshold ${policy.backup.monitoring.success_rate.threshold.text})`,
      evidence: backups.map(runEvidence),
    };
  };
  const restoreVerdict = (): Parameters<typeof control>[3] => {
    if (restores.length === 0)
      return { status: 'no_evidence', detail: 'no restore test ran in the month', evidence: [] };
    const ok = restores.filter((r) => r.status === 'succeeded');
    return {
      status: ok.length ? 'met' : 'not_met',
      detail: `${ok.length} of ${restores.length} restore tests succeeded`,
      evidence: restores.map(runEvidence),
    };
  };

  // --- Monitoring -----------------------------------------------------------------------------
  const health = runsOf((t) => t === 'server.health_check');
  const healthCoverage = dailyCoverage(health, from, to, now);
  const monitoringVerdict = (): Parameters<typeof control>[3] => {
    if (health.length === 0) return { status: 'no_evidence', detail: 'no health check ran in the month', evidence: [] };
    const ok = healthCoverage.missing.length === 0;
    return {
      status: ok ? 'met' : 'not_met',
      detail: ok
        ? `health checks ran on each of the ${healthCoverage.days.length} days (${health.length} runs)`
        : `no successful health check on ${healthCoverage.missing.length} of ${healthCoverage.days.length} days: ${dayRanges(healthCoverage.missing)}`,
      evidence: health.slice(-20).map(runEvidence),
    };
  };

  // --- Access: API tokens --------------------------------------------------------------------
  // Tokens live in the access store (issue 9): issued by an admin (or `tokens init`), hashed, revocable.
  const tokens = (await new SqliteAccessStore(db).tokens()).filter(
    (t) => (t.createdAt >= from && t.createdAt < to) || (t.revokedAt && t.revokedAt >= from && t.revokedAt < to),
  );
  const tokenVerdict = (): Parameters<typeof control>[3] => {
    if (tokens.length === 0)
      return { status: 'no_evidence', detail: 'no API token was issued or revoked in the month', evidence: [] };
    return {
      status: 'met',
      detail: `${tokens.filter((t) => t.createdAt >= from).length} tokens issued and ${tokens.filter((t) => t.revokedAt).length} revoked; only their hashes are stored and every approval names the token's holder`,
      evidence: tokens.map((t) => ({
        text: `token ${t.id} of ${t.person} (${t.label || 'no label'}) issued ${iso(t.createdAt)} by ${t.createdBy}${t.revokedAt ? `, revoked ${iso(t.revokedAt)}` : ''}`,
      })),
    };
  };

  // --- Activity log retention ----------------------------------------------------------------
  const prunes = runsOf((t) => t === 'drydock.activity_log.prune');
  const retentionDays = policy.activity_log.retention.ms / DAY;
  const retentionVerdict = (): Parameters<typeof control>[3] => {
    const enough = retentionDays >= 365;
    return {
      status: enough ? 'met' : 'not_met',
      detail: `the activity log is kept ${policy.activity_log.retention.text} (PCI-DSS asks for 12 months, 3 of them at hand)${prunes.length ? `; pruned by ${prunes.length} runs` : ''}`,
      evidence: [
        { text: `policy activity_log.retention: ${policy.activity_log.retention.text}` },
        ...prunes.map(runEvidence),
      ],
    };
  };

  // --- TLS validations (issue: network tasks) --------------------------------------------------
  const tls = runsOf((t) => t === 'network.ssl.validation');
  const tlsVerdict = (): Parameters<typeof control>[3] =>
    tls.length
      ? {
          status: tls.every((r) => r.status === 'succeeded') ? 'met' : 'not_met',
          detail: `${tls.filter((r) => r.status === 'succeeded').length} of ${tls.length} certificate validations succeeded`,
          evidence: tls.map(runEvidence),
        }
      : {
          status: 'no_evidence',
          detail: 'no certificate validation ran in the month (network.ssl.validation)',
          evidence: [],
        };

  const standards = policy.security.scans.compliance.standards;
  const want = (name: string) => standards.some((s) => s.replace(/[\s-]/g, '').toLowerCase() === name);

  if (want('pcidss')) {
    controls.push(
      control('PCI-DSS', '10.5.1', 'Audit log history retained for at least 12 months', retentionVerdict()),
    );
    controls.push(
      control('PCI-DSS', '11.3.1', 'Internal vulnerability scans performed (daily, by policy)', scanVerdict()),
    );
    controls.push(control('PCI-DSS', '6.3.3', 'Security patches installed within their SLA', patchVerdict()));
    controls.push(
      control('PCI-DSS', '4.2.1', 'Strong cryptography for transmissions: certificates valid', tlsVerdict()),
    );
  }
  if (want('soc2')) {
    controls.push(
      control(
        'SOC 2',
        'CC8.1',
        'Changes are authorized, announced and recorded',
        (() => {
          const w = windowVerdict();
          const decided = patches.filter((p) => p.decidedAt);
          const evidence = [...w.evidence, ...decided.map(patchEvidence)];
          if (w.status === 'no_evidence' && decided.length === 0) return w;
          const status = w.status === 'not_met' ? 'not_met' : 'met';
          return {
            status,
            detail: `${w.detail}; ${decided.length} security patches decided with who and when`,
            evidence,
          };
        })(),
      ),
    );
    controls.push(control('SOC 2', 'A1.2', 'Backups are performed and monitored', backupVerdict()));
    controls.push(control('SOC 2', 'A1.3', 'Recovery is tested', restoreVerdict()));
    controls.push(control('SOC 2', 'CC7.1', 'Vulnerabilities are detected by monitoring and scans', scanVerdict()));
    controls.push(control('SOC 2', 'CC7.2', 'System components are monitored', monitoringVerdict()));
    controls.push(control('SOC 2', 'CC6.1', 'Logical access: API tokens issued and revoked', tokenVerdict()));
  }
  if (want('gdpr')) {
    controls.push(
      control(
        'GDPR',
        'Art. 32(1)(c)',
        'Ability to restore availability and access in a timely manner',
        restoreVerdict(),
      ),
    );
    controls.push(
      control(
        'GDPR',
        'Art. 32(1)(d)',
        'Regular testing of the effectiveness of security measures',
        (() => {
          const s = scanVerdict();
          const r = restoreVerdict();
          if (s.status === 'no_evidence' && r.status === 'no_evidence') return s;
          const status: ControlStatus = s.status === 'met' && r.status === 'met' ? 'met' : 'not_met';
          return {
            status,
            detail: `scans: ${s.detail}; restore tests: ${r.detail}`,
            evidence: [...s.evidence, ...r.evidence],
          };
        })(),
      ),
    );
    controls.push(
      control(
        'GDPR',
        'Art. 32(1)(b)',
        'Confidentiality: access to maintenance actions by personal tokens',
        tokenVerdict(),
      ),
    );
  }
  const summary = {
    met: controls.filter((c) => c.status === 'met').length,
    notMet: controls.filter((c) => c.status === 'not_met').length,
    noEvidence: controls.filter((c) => c.status === 'no_evidence').length,
  };
  return {
    month,
    period: { from: from.toISOString(), to: to.toISOString() },
    generatedAt: now.toISOString(),
    standards: [...standards],
    summary,
    controls,
  };
}
