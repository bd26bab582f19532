// Findings: scanner observations de-duplicated across scanners (the same package on the same host
// with an id or alias in common: CVE, GHSA, DSA...) and across days (a finding stays one record
// while it is seen). The SLA clock starts when a finding is first seen: critical 24 h, high 72 h,
// medium 1 week (security.patches), low is tracked without an SLA. A finding with a fix becomes a
// patch in the security.patches flow (critical approved automatically, high and medium need
// approval); a finding no longer seen by a complete scan is closed and linked to that run. A failed
// scan closes nothing. Exceptions (accepted risks) hold a finding until they expire; the expiry
// re-opens it and alerts. Findings without a patch to carry their SLA get their own pre-breach
// (75 % of the SLA gone, as a patch's "at risk") and breach alerts; nothing here consults windows or
// silences, so maintenance windows never hold them back.
import type { Clock } from '../engine/clock.js';
import { DrydockError } from '../errors.js';
import { audience, deliver, stakeholderSender, type SenderDeps } from '../notify/deliver.js';
import { formatWhen } from '../notify/format.js';
import type { Channel } from '../notify/types.js';
import { redactor } from '../policy/redact.js';
import type { Policy } from '../policy/schema.js';
import { DeliveryLog } from '../store/sqlite/deliveries.js';
import { FindingStore, type FindingException, type FindingRecord } from '../store/sqlite/findings.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import type { ActivityEntry } from '../store/types.js';
import type { PatchService } from '../approvals/patches.js';
import { SEVERITIES, type Observation, type ScannerKind, type ScannerOutcome, type Severity } from './types.js';

const HOUR = 3_600_000;
/** The share of the SLA after which the pre-breach alert goes out (a patch's "at risk" is the same). */
export const PRE_BREACH = 0.75;

export interface FindingDeps {
  db: SqliteDatabase;
  policy: Policy;
  clock: Clock;
  channels: ReadonlyMap<string, Channel>;
  patches: PatchService;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

export interface RecordResult {
  complete: boolean;
  created: FindingRecord[];
  seen: number;
  closed: FindingRecord[];
  patched: Array<{ findingId: number; patchId: number; status: string }>;
  /** Patches applied before this scan whose finding was seen again. */
  stillVulnerable: FindingRecord[];
  open: Record<Severity, number>;
  withoutFix: number;
  excepted: number;
}

export function slaMs(policy: Policy, severity: Severity): number | null {
  return severity === 'low' ? null : policy.security.patches[severity].sla.ms;
}

const rank = (s: Severity) => SEVERITIES.indexOf(s);
const higher = (a: Severity, b: Severity) => (rank(a) <= rank(b) ? a : b);
const lower = (s: string) => s.toLowerCase();

interface ActiveException extends FindingException {
  finding: string;
  package: string | null;
  host: string | null;
}

export class FindingService {
  readonly store: FindingStore;
  private readonly sender: SenderDeps;

  constructor(private readonly deps: FindingDeps) {
    this.store = new FindingStore(deps.db);
    this.sender = stakeholderSender(new DeliveryLog(deps.db), deps);
  }

  get patches(): PatchService {
    return this.deps.patches;
  }

  private async log(kind: string, message: string, actor: string | null, data: Record<string, unknown>) {
    await this.deps.activity?.({ at: this.deps.clock.now(), kind, actor, message: redactor.text(message), data });
  }

  /** "CTO (Carol) or Head of Operations (Hank)": who decides on a patch or an exception. */
  approvers(): string {
    return this.deps.patches
      .approverRoles()
      .map((role) => {
        const people = this.deps.policy.stakeholders.filter((s) => s.roles.includes(role)).map((s) => s.name);
        return people.length ? `${role} (${people.join(', ')})` : `${role} (nobody holds this role)`;
      })
      .join(' or ');
  }

  /** Exceptions in force now: the policy's and those recorded from the CLI. */
  exceptions(at: Date = this.deps.clock.now()): { active: ActiveException[]; expired: ActiveException[] } {
    const all: ActiveException[] = [
      ...this.deps.policy.security.exceptions.map((e) => ({
        finding: e.finding,
        package: e.package ?? null,
        host: e.host ?? null,
        owner: e.owner,
        reason: e.reason,
        expiresAt: e.expires.end,
        source: 'policy',
      })),
      ...this.store.exceptions().map((e) => ({
        finding: e.finding,
        package: e.package,
        host: e.host,
        owner: e.owner,
        reason: e.reason,
        expiresAt: e.expiresAt,
        source: `exception #${e.id} recorded by ${e.createdBy}`,
      })),
    ];
    return { active: all.filter((e) => e.expiresAt > at), expired: all.filter((e) => e.expiresAt <= at) };
  }

  private exceptionFor(f: Pick<FindingRecord, 'aliases' | 'package' | 'host'>, list: ActiveException[]) {
    return list.find(
      (e) =>
        f.aliases.some((a) => lower(a) === lower(e.finding)) &&
        (!e.package || e.package === f.package) &&
        (!e.host || e.host === f.host),
    );
  }

  /**
   * Records one scan: merges its observations into the findings, reports patches for new fixes and,
   * when every scanner succeeded, closes what was not seen again.
   */
  async record(outcomes: ScannerOutcome[], runId: number | null, reporter: string): Promise<RecordResult> {
    const now = this.deps.clock.now();
    const complete = outcomes.length > 0 && outcomes.every((o) => o.ok);
    const ran = new Set<ScannerKind>(outcomes.filter((o) => o.ok).map((o) => o.scanner));
    const active = this.store.active();
    const byPackage = new Map<string, FindingRecord[]>();
    const keyOf = (host: string, pkg: string) => `${host}\u0000${lower(pkg)}`;
    for (const f of active)
      byPackage.set(keyOf(f.host, f.package), [...(byPackage.get(keyOf(f.host, f.package)) ?? []), f]);
    const { active: exceptions } = this.exceptions(now);
    const seen = new Set<number>();
    const created: FindingRecord[] = [];
    const touched = new Map<number, FindingRecord>();

    for (const outcome of outcomes) {
      if (!outcome.ok) continue;
      for (const o of outcome.observations) {
        const key = keyOf(o.host, o.package);
        const candidates = byPackage.get(key) ?? [];
        const ids = new Set(o.aliases.map(lower));
        const match = candidates.find((f) => f.aliases.some((a) => ids.has(lower(a))));
        if (match) {
          merge(match, o, now, runId);
          seen.add(match.id);
          touched.set(match.id, match);
          continue;
        }
        const record = this.create(o, now, runId, exceptions);
        created.push(record);
        seen.add(record.id);
        byPackage.set(key, [...candidates, record]);
        touched.set(record.id, record);
      }
    }
    for (const f of touched.values()) {
      const due = slaMs(this.deps.policy, f.severity);
      this.store.update(f.id, {
        vulnId: f.vulnId,
        aliases: f.aliases,
        installedVersion: f.installedVersion,
        fixedVersion: f.fixedVersion,
        severity: f.severity,
        title: f.title,
        locations: f.locations,
        scanners: f.scanners,
        lastSeen: f.lastSeen,
        lastRunId: f.lastRunId,
        dueAt: due === null ? null : new Date(f.firstSeen.getTime() + due),
      });
    }
    for (const f of created)
      await this.log(
        'finding.new',
        `new ${f.severity} finding #${f.id}: ${f.vulnId} in ${f.package} ${f.installedVersion} on ${f.host} (${f.locations.join('; ')})${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : ', no fix available'}`,
        reporter,
        { findingId: f.id, runId },
      );

    // Patches for findings with a fix (new ones, and older ones whose fix appeared since).
    const patched: RecordResult['patched'] = [];
    const stillVulnerable: FindingRecord[] = [];
    for (const id of seen) {
      const f = this.store.get(id)!;
      if (f.patchId) {
        const patch = this.deps.patches.store.patch(f.patchId);
        if (patch?.status === 'applied' && patch.appliedAt && patch.appliedAt <= now) stillVulnerable.push(f);
        continue;
      }
      if (f.status !== 'open' || !f.fixedVersion || f.severity === 'low') continue;
      const patch = await this.deps.patches.reportPatch(
        {
          ref: `${f.vulnId} ${f.package}@${f.host} (finding #${f.id})`,
          title: `upgrade ${f.package} ${f.installedVersion} → ${f.fixedVersion} on ${f.host}: ${f.title}`.slice(
            0,
            300,
          ),
          severity: f.severity,
          foundAt: f.firstSeen,
        },
        reporter,
        { notify: false },
      );
      this.store.update(f.id, { patchId: patch.id });
      patched.push({ findingId: f.id, patchId: patch.id, status: patch.status });
    }

    const closed: FindingRecord[] = [];
    if (complete) {
      for (const f of active) {
        if (seen.has(f.id)) continue;
        // Only a scanner that ran can say a finding is gone.
        if (!f.scanners.every((s) => ran.has(s as ScannerKind))) continue;
        const patch = f.patchId ? this.deps.patches.store.patch(f.patchId) : null;
        const reason =
          patch?.status === 'applied'
            ? `no longer seen after patch #${patch.id} was applied (${patch.appliedAt?.toISOString() ?? ''})`
            : 'no longer seen by the scan';
        this.store.update(f.id, { status: 'closed', closedAt: now, closedByRun: runId, closeReason: reason });
        const done = this.store.get(f.id)!;
        closed.push(done);
        const within = f.dueAt ? (now <= f.dueAt ? 'within its SLA' : 'AFTER its SLA') : 'no SLA (low)';
        await this.log(
          'finding.closed',
          `finding #${f.id} ${f.vulnId} in ${f.package} on ${f.host} closed by run #${runId ?? '-'}: ${reason}; ${within}`,
          reporter,
          { findingId: f.id, runId, patchId: f.patchId },
        );
      }
    }
    // One pass for the notices of every patch reported above, then the findings' own alerts.
    await this.deps.patches.tick();
    await this.tick();
    const after = this.store.active();
    const open = { critical: 0, high: 0, medium: 0, low: 0 };
    for (const f of after) if (f.status === 'open') open[f.severity]++;
    return {
      complete,
      created,
      seen: seen.size,
      closed,
      patched,
      stillVulnerable,
      open,
      withoutFix: after.filter((f) => f.status === 'open' && !f.fixedVersion).length,
      excepted: after.filter((f) => f.status === 'excepted').length,
    };
  }

  private create(o: Observation, now: Date, runId: number | null, exceptions: ActiveException[]): FindingRecord {
    const due = slaMs(this.deps.policy, o.severity);
    const exception = this.exceptionFor(o, exceptions);
    return this.store.insert({
      host: o.host,
      package: o.package,
      ecosystem: o.ecosystem,
      vulnId: o.vulnId,
      aliases: [...new Set(o.aliases)],
      installedVersion: o.installedVersion,
      fixedVersion: o.fixedVersion,
      severity: o.severity,
      title: o.title,
      locations: [o.location],
      scanners: [o.scanner],
      firstSeen: now,
      lastSeen: now,
      firstRunId: runId,
      lastRunId: runId,
      status: exception ? 'excepted' : 'open',
      dueAt: due === null ? null : new Date(now.getTime() + due),
      exception: exception ? pick(exception) : null,
    });
  }

  /** Records an exception from the CLI; validated like the policy's (owner, reason, future expiry). */
  async except(
    input: { finding: string; package?: string; host?: string; owner: string; reason: string; expiresAt: Date },
    by: string,
  ) {
    const now = this.deps.clock.now();
    const problems: string[] = [];
    if (!input.owner.trim()) problems.push('an owner is required');
    if (input.reason.trim().length < 10) problems.push('a reason of at least 10 characters is required');
    if (Number.isNaN(input.expiresAt.getTime()) || input.expiresAt <= now)
      problems.push('the expiry must be a future date');
    if (problems.length) throw new DrydockError('USAGE', `exception refused: ${problems.join('; ')}`);
    const stored = this.store.addException({
      finding: input.finding,
      package: input.package ?? null,
      host: input.host ?? null,
      owner: input.owner,
      reason: input.reason,
      expiresAt: input.expiresAt,
      createdBy: by,
      createdAt: now,
    });
    await this.log(
      'finding.exception',
      `${by} accepted the risk of ${input.finding}${input.package ? ` in ${input.package}` : ''} until ${input.expiresAt.toISOString()} (owner ${input.owner}): ${input.reason}`,
      by,
      { exceptionId: stored.id },
    );
    await this.tick();
    return stored;
  }

  /** Exceptions taking hold and expiring, and the SLA alerts of findings that no patch carries. */
  async tick(): Promise<{ alerted: number[]; reopened: number[]; excepted: number[] }> {
    const now = this.deps.clock.now();
    const { active: exceptions } = this.exceptions(now);
    const alerted: number[] = [];
    const reopened: number[] = [];
    const excepted: number[] = [];
    for (const f of this.store.active()) {
      const exception = this.exceptionFor(f, exceptions);
      if (f.status === 'open' && exception) {
        this.store.update(f.id, { status: 'excepted', exception: pick(exception) });
        excepted.push(f.id);
        await this.log(
          'finding.excepted',
          `finding #${f.id} ${f.vulnId} in ${f.package} on ${f.host} is an accepted risk until ${exception.expiresAt.toISOString()} (owner ${exception.owner}: ${exception.reason})`,
          null,
          { findingId: f.id },
        );
        continue;
      }
      if (f.status === 'excepted' && !exception) {
        const old = f.exception;
        this.store.update(f.id, { status: 'open', exception: null, preBreachAlertedAt: null, breachAlertedAt: null });
        reopened.push(f.id);
        const text = `the exception for ${f.vulnId} in ${f.package} on ${f.host} (owner ${old?.owner ?? 'unknown'}) expired ${old ? formatWhen(old.expiresAt) : ''}; finding #${f.id} is open again`;
        await this.log('finding.exception_expired', text, null, { findingId: f.id });
        await this.alert(
          f,
          'exception-expired',
          `ALERT: exception expired for ${f.vulnId} (${f.severity}) in ${f.package} on ${f.host}`,
          [text, `Reason it was accepted: ${old?.reason ?? '-'}`, ...this.facts(f)],
        );
        alerted.push(f.id);
        continue;
      }
      if (f.status !== 'open' || !f.dueAt) continue;
      if (f.patchId) {
        const patch = this.deps.patches.store.patch(f.patchId);
        // A pending or approved patch carries the SLA alerts (security.patches); an applied patch
        // whose finding is still seen, or a refused one, leaves them to the finding.
        if (patch && (patch.status === 'pending_approval' || patch.status === 'approved')) continue;
      }
      const total = f.dueAt.getTime() - f.firstSeen.getTime();
      const gone = now.getTime() - f.firstSeen.getTime();
      if (gone >= total && !f.breachAlertedAt) {
        await this.alert(
          f,
          'breach',
          `ALERT: SLA BREACHED for ${f.vulnId} (${f.severity}) in ${f.package} on ${f.host}: due ${formatWhen(f.dueAt)}`,
          [`SLA missed by ${Math.round((gone - total) / HOUR)} hours.`, ...this.facts(f)],
        );
        this.store.update(f.id, { breachAlertedAt: now, preBreachAlertedAt: f.preBreachAlertedAt ?? now });
        alerted.push(f.id);
      } else if (gone < total && gone >= total * PRE_BREACH && !f.preBreachAlertedAt) {
        await this.alert(
          f,
          'pre-breach',
          `ALERT: SLA about to be breached for ${f.vulnId} (${f.severity}) in ${f.package} on ${f.host}: ${Math.round((total - gone) / HOUR)} hours left`,
          [`${Math.round((gone / total) * 100)} % of the SLA is gone; due ${formatWhen(f.dueAt)}.`, ...this.facts(f)],
        );
        this.store.update(f.id, { preBreachAlertedAt: now });
        alerted.push(f.id);
      }
    }
    return { alerted, reopened, excepted };
  }

  private facts(f: FindingRecord): string[] {
    const patch = f.patchId ? this.deps.patches.store.patch(f.patchId) : null;
    return [
      `Finding #${f.id}: ${f.vulnId} (${f.aliases.join(', ')}) ${f.title}`,
      `Package: ${f.package} ${f.installedVersion}${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : ', no fix available yet'}`,
      `Host: ${f.host}; found by ${f.scanners.join(', ')} at ${f.locations.join('; ')}; first seen ${formatWhen(f.firstSeen)}`,
      patch
        ? `Patch #${patch.id}: ${patch.status.replace('_', ' ')}${patch.appliedAt ? ` at ${formatWhen(patch.appliedAt)}, but the scan still sees it` : ''}`
        : 'No patch: mitigate it or record an exception (drydock findings except).',
      `Must approve: ${this.approvers()}.`,
    ];
  }

  private async alert(f: FindingRecord, what: string, subject: string, lines: string[]) {
    await deliver(
      this.sender,
      {
        id: `finding-${f.id}-${what}-${f.dueAt?.getTime() ?? 0}-${f.exception?.expiresAt.getTime() ?? ''}`,
        kind: 'alert',
        subject,
        text: lines.join('\n'),
        data: {
          findingId: f.id,
          vulnId: f.vulnId,
          package: f.package,
          host: f.host,
          severity: f.severity,
          alert: what,
        },
      },
      audience(this.deps.policy, { channelTypes: ['email', 'sms', 'webhook', 'log'] }),
      null,
    );
    await this.log(`finding.${what}`, `${subject}`, null, { findingId: f.id });
  }
}

function pick(e: ActiveException): FindingException {
  return { owner: e.owner, reason: e.reason, expiresAt: e.expiresAt, source: e.source };
}

function merge(f: FindingRecord, o: Observation, now: Date, runId: number | null): void {
  for (const a of o.aliases) if (!f.aliases.some((x) => lower(x) === lower(a))) f.aliases.push(a);
  if (!f.locations.includes(o.location)) f.locations.push(o.location);
  if (!f.scanners.includes(o.scanner)) f.scanners.push(o.scanner);
  if (/^CVE-/i.test(o.vulnId) && !/^CVE-/i.test(f.vulnId)) f.vulnId = o.vulnId;
  f.installedVersion = o.installedVersion || f.installedVersion;
  if (o.fixedVersion && !f.fixedVersion) f.fixedVersion = o.fixedVersion;
  f.severity = higher(f.severity, o.severity);
  f.lastSeen = now;
  f.lastRunId = runId;
}
