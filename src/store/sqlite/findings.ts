// Vulnerability findings, exceptions recorded from the CLI, and stored compliance reports (issue 13).
import type { Severity } from '../../security/types.js';
import type { SqliteDatabase } from './open.js';

export type FindingStatus = 'open' | 'excepted' | 'closed';

export interface FindingException {
  owner: string;
  reason: string;
  expiresAt: Date;
  /** "policy" or "cli #3 by Carol". */
  source: string;
}

export interface FindingRecord {
  id: number;
  host: string;
  package: string;
  ecosystem: string;
  vulnId: string;
  aliases: string[];
  installedVersion: string;
  fixedVersion: string | null;
  severity: Severity;
  title: string;
  locations: string[];
  scanners: string[];
  firstSeen: Date;
  lastSeen: Date;
  firstRunId: number | null;
  lastRunId: number | null;
  status: FindingStatus;
  /** first seen + the severity's SLA; null for low (tracked without SLA). */
  dueAt: Date | null;
  patchId: number | null;
  exception: FindingException | null;
  closedAt: Date | null;
  closedByRun: number | null;
  closeReason: string | null;
  preBreachAlertedAt: Date | null;
  breachAlertedAt: Date | null;
}

export interface StoredException {
  id: number;
  finding: string;
  package: string | null;
  host: string | null;
  owner: string;
  reason: string;
  expiresAt: Date;
  createdBy: string;
  createdAt: Date;
}

export interface ComplianceReportRecord {
  id: number;
  month: string;
  format: 'html' | 'pdf' | 'json';
  path: string;
  sha256: string;
  bytes: number;
  createdAt: Date;
  createdBy: string;
  runId: number | null;
  summary: { met: number; notMet: number; noEvidence: number };
}

type Row = Record<string, unknown>;
const d = (v: unknown) => (v === null || v === undefined ? null : new Date(Number(v)));

function toFinding(r: Row): FindingRecord {
  const exception =
    typeof r.exception === 'string' ? (JSON.parse(r.exception) as FindingException & { expiresAt: string }) : null;
  return {
    id: Number(r.id),
    host: String(r.host),
    package: String(r.package),
    ecosystem: String(r.ecosystem),
    vulnId: String(r.vuln_id),
    aliases: JSON.parse(String(r.aliases)) as string[],
    installedVersion: String(r.installed_version),
    fixedVersion: (r.fixed_version as string | null) ?? null,
    severity: r.severity as Severity,
    title: String(r.title),
    locations: JSON.parse(String(r.locations)) as string[],
    scanners: JSON.parse(String(r.scanners)) as string[],
    firstSeen: new Date(Number(r.first_seen)),
    lastSeen: new Date(Number(r.last_seen)),
    firstRunId: (r.first_run_id as number | null) ?? null,
    lastRunId: (r.last_run_id as number | null) ?? null,
    status: r.status as FindingStatus,
    dueAt: d(r.due_at),
    patchId: (r.patch_id as number | null) ?? null,
    exception: exception ? { ...exception, expiresAt: new Date(exception.expiresAt) } : null,
    closedAt: d(r.closed_at),
    closedByRun: (r.closed_by_run as number | null) ?? null,
    closeReason: (r.close_reason as string | null) ?? null,
    preBreachAlertedAt: d(r.pre_breach_alerted_at),
    breachAlertedAt: d(r.breach_alerted_at),
  };
}

const COLUMNS: Record<string, string> = {
  vulnId: 'vuln_id',
  aliases: 'aliases',
  installedVersion: 'installed_version',
  fixedVersion: 'fixed_version',
  severity: 'severity',
  title: 'title',
  locations: 'locations',
  scanners: 'scanners',
  lastSeen: 'last_seen',
  lastRunId: 'last_run_id',
  status: 'status',
  dueAt: 'due_at',
  patchId: 'patch_id',
  exception: 'exception',
  closedAt: 'closed_at',
  closedByRun: 'closed_by_run',
  closeReason: 'close_reason',
  preBreachAlertedAt: 'pre_breach_alerted_at',
  breachAlertedAt: 'breach_alerted_at',
};

export type FindingUpdate = Partial<
  Pick<
    FindingRecord,
    | 'vulnId'
    | 'aliases'
    | 'installedVersion'
    | 'fixedVersion'
    | 'severity'
    | 'title'
    | 'locations'
    | 'scanners'
    | 'lastSeen'
    | 'lastRunId'
    | 'status'
    | 'dueAt'
    | 'patchId'
    | 'exception'
    | 'closedAt'
    | 'closedByRun'
    | 'closeReason'
    | 'preBreachAlertedAt'
    | 'breachAlertedAt'
  >
>;

function encode(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value) || typeof value === 'object') return JSON.stringify(value);
  return value;
}

export class FindingStore {
  constructor(readonly db: SqliteDatabase) {}

  insert(
    f: Omit<
      FindingRecord,
      'id' | 'closedAt' | 'closedByRun' | 'closeReason' | 'preBreachAlertedAt' | 'breachAlertedAt' | 'patchId'
    >,
  ): FindingRecord {
    const result = this.db
      .prepare(
        `INSERT INTO findings (host, package, ecosystem, vuln_id, aliases, installed_version, fixed_version, severity, title,
           locations, scanners, first_seen, last_seen, first_run_id, last_run_id, status, due_at, exception)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        f.host,
        f.package,
        f.ecosystem,
        f.vulnId,
        JSON.stringify(f.aliases),
        f.installedVersion,
        f.fixedVersion,
        f.severity,
        f.title,
        JSON.stringify(f.locations),
        JSON.stringify(f.scanners),
        f.firstSeen.getTime(),
        f.lastSeen.getTime(),
        f.firstRunId,
        f.lastRunId,
        f.status,
        f.dueAt?.getTime() ?? null,
        encode(f.exception),
      );
    return this.get(Number(result.lastInsertRowid))!;
  }

  update(id: number, patch: FindingUpdate): void {
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      sets.push(`${COLUMNS[key]} = ?`);
      args.push(encode(value));
    }
    if (sets.length) this.db.prepare(`UPDATE findings SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
  }

  get(id: number): FindingRecord | null {
    const row = this.db.prepare('SELECT * FROM findings WHERE id = ?').get(id) as Row | undefined;
    return row ? toFinding(row) : null;
  }

  /** Findings not closed (open or excepted). */
  active(): FindingRecord[] {
    return (this.db.prepare("SELECT * FROM findings WHERE status != 'closed' ORDER BY id").all() as Row[]).map(
      toFinding,
    );
  }

  list(filter: { status?: FindingStatus; severity?: Severity; since?: Date; until?: Date } = {}): FindingRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.severity) {
      where.push('severity = ?');
      args.push(filter.severity);
    }
    if (filter.until) {
      where.push('first_seen < ?');
      args.push(filter.until.getTime());
    }
    if (filter.since) {
      where.push('(closed_at IS NULL OR closed_at >= ?)');
      args.push(filter.since.getTime());
    }
    const sql = `SELECT * FROM findings ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toFinding);
  }

  byPatch(patchId: number): FindingRecord[] {
    return (this.db.prepare('SELECT * FROM findings WHERE patch_id = ?').all(patchId) as Row[]).map(toFinding);
  }

  addException(e: Omit<StoredException, 'id'>): StoredException {
    const result = this.db
      .prepare(
        'INSERT INTO finding_exceptions (finding, package, host, owner, reason, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(e.finding, e.package, e.host, e.owner, e.reason, e.expiresAt.getTime(), e.createdBy, e.createdAt.getTime());
    return { ...e, id: Number(result.lastInsertRowid) };
  }

  exceptions(): StoredException[] {
    return (this.db.prepare('SELECT * FROM finding_exceptions ORDER BY id').all() as Row[]).map((r) => ({
      id: Number(r.id),
      finding: String(r.finding),
      package: (r.package as string | null) ?? null,
      host: (r.host as string | null) ?? null,
      owner: String(r.owner),
      reason: String(r.reason),
      expiresAt: new Date(Number(r.expires_at)),
      createdBy: String(r.created_by),
      createdAt: new Date(Number(r.created_at)),
    }));
  }

  addReport(r: Omit<ComplianceReportRecord, 'id'>): ComplianceReportRecord {
    const result = this.db
      .prepare(
        'INSERT INTO compliance_reports (month, format, path, sha256, bytes, created_at, created_by, run_id, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        r.month,
        r.format,
        r.path,
        r.sha256,
        r.bytes,
        r.createdAt.getTime(),
        r.createdBy,
        r.runId,
        JSON.stringify(r.summary),
      );
    return { ...r, id: Number(result.lastInsertRowid) };
  }

  reports(): ComplianceReportRecord[] {
    return (this.db.prepare('SELECT * FROM compliance_reports ORDER BY id').all() as Row[]).map((r) => ({
      id: Number(r.id),
      month: String(r.month),
      format: r.format as ComplianceReportRecord['format'],
      path: String(r.path),
      sha256: String(r.sha256),
      bytes: Number(r.bytes),
      createdAt: new Date(Number(r.created_at)),
      createdBy: String(r.created_by),
      runId: (r.run_id as number | null) ?? null,
      summary: JSON.parse(String(r.summary)) as ComplianceReportRecord['summary'],
    }));
  }
}
