// The approved firewall baseline and firewall change records, in Drydock's SQLite state (migration 040).
import type { SqliteDatabase } from '../../store/sqlite/open.js';
import type { Backend, FirewallRule } from './ruleset.js';

export interface FirewallBaseline {
  id: number;
  backend: Backend;
  rules: FirewallRule[];
  raw: string;
  approvedBy: string;
  approvedAt: Date;
  reason: string;
}

export type FirewallChangeKind = 'planned' | 'emergency';
/** "applying": the previous ruleset is saved and nft runs; a crash here is rolled back by recoverInterrupted. */
export type FirewallChangeStatus =
  'pending_approval' | 'approved' | 'applying' | 'refused' | 'applied' | 'rolled_back' | 'failed' | 'accepted';

export interface FirewallChange {
  id: number;
  kind: FirewallChangeKind;
  title: string;
  /** The nft script applied as one transaction (`nft -f`). */
  ruleset: string;
  planHash: string;
  requestedBy: string;
  requestedAt: Date;
  status: FirewallChangeStatus;
  /** The ruleset before the change (`nft list ruleset`), kept for the rollback. */
  previous: string | null;
  /** What happened when it was applied: checks, rollback, errors. */
  result: { lines: string[] } | null;
  appliedAt: Date | null;
  finishedAt: Date | null;
}

interface ChangeRow {
  id: number;
  kind: string;
  title: string;
  ruleset: string;
  plan_hash: string;
  requested_by: string;
  requested_at: number;
  status: string;
  previous: string | null;
  result: string | null;
  applied_at: number | null;
  finished_at: number | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function toChange(r: ChangeRow): FirewallChange {
  return {
    id: r.id,
    kind: r.kind as FirewallChangeKind,
    title: r.title,
    ruleset: r.ruleset,
    planHash: r.plan_hash,
    requestedBy: r.requested_by,
    requestedAt: new Date(r.requested_at),
    status: r.status as FirewallChangeStatus,
    previous: r.previous,
    result: r.result ? (JSON.parse(r.result) as { lines: string[] }) : null,
    appliedAt: date(r.applied_at),
    finishedAt: date(r.finished_at),
  };
}

export class FirewallStore {
  constructor(private readonly db: SqliteDatabase) {}

  latestBaseline(): FirewallBaseline | null {
    const row = this.db.prepare('SELECT * FROM firewall_baselines ORDER BY id DESC LIMIT 1').get() as
      | {
          id: number;
          backend: string;
          rules: string;
          raw: string;
          approved_by: string;
          approved_at: number;
          reason: string;
        }
      | undefined;
    if (!row) return null;
    return {
      id: row.id,
      backend: row.backend as Backend,
      rules: JSON.parse(row.rules) as FirewallRule[],
      raw: row.raw,
      approvedBy: row.approved_by,
      approvedAt: new Date(row.approved_at),
      reason: row.reason,
    };
  }

  addBaseline(b: Omit<FirewallBaseline, 'id'>): FirewallBaseline {
    const result = this.db
      .prepare(
        'INSERT INTO firewall_baselines (backend, rules, raw, approved_by, approved_at, reason) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(b.backend, JSON.stringify(b.rules), b.raw, b.approvedBy, b.approvedAt.getTime(), b.reason);
    return { ...b, id: Number(result.lastInsertRowid) };
  }

  createChange(
    c: Pick<FirewallChange, 'kind' | 'title' | 'ruleset' | 'planHash' | 'requestedBy' | 'requestedAt' | 'status'>,
  ) {
    const result = this.db
      .prepare(
        `INSERT INTO firewall_changes (kind, title, ruleset, plan_hash, requested_by, requested_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(c.kind, c.title, c.ruleset, c.planHash, c.requestedBy, c.requestedAt.getTime(), c.status);
    return this.getChange(Number(result.lastInsertRowid))!;
  }

  getChange(id: number): FirewallChange | null {
    const row = this.db.prepare('SELECT * FROM firewall_changes WHERE id = ?').get(id) as ChangeRow | undefined;
    return row ? toChange(row) : null;
  }

  listChanges(status?: FirewallChangeStatus): FirewallChange[] {
    const rows = (
      status
        ? this.db.prepare('SELECT * FROM firewall_changes WHERE status = ? ORDER BY id').all(status)
        : this.db.prepare('SELECT * FROM firewall_changes ORDER BY id DESC LIMIT 100').all()
    ) as ChangeRow[];
    return rows.map(toChange);
  }

  update(
    id: number,
    patch: Partial<Pick<FirewallChange, 'status' | 'previous' | 'result' | 'appliedAt' | 'finishedAt'>>,
  ): FirewallChange {
    const current = this.getChange(id)!;
    const next = { ...current, ...patch };
    this.db
      .prepare(
        'UPDATE firewall_changes SET status = ?, previous = ?, result = ?, applied_at = ?, finished_at = ? WHERE id = ?',
      )
      .run(
        next.status,
        next.previous,
        next.result ? JSON.stringify(next.result) : null,
        next.appliedAt?.getTime() ?? null,
        next.finishedAt?.getTime() ?? null,
        id,
      );
    return next;
  }
}
