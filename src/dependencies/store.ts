// Dependency updates as change records in Drydock's SQLite state. One row per proposed update
// (ecosystem, target, package, new version); its status moves through
//   soaking → (automerge) merged | failed | stopped | queued → merged
//   pending_approval → approved → merged | failed | stopped ; refused ; superseded by a newer one.
import { createHash } from 'node:crypto';
import type { SqliteDatabase } from '../store/sqlite/open.js';

export type Ecosystem = 'npm' | 'system' | 'docker';
export type UpdateType = 'patch' | 'minor' | 'major' | 'security' | 'digest' | 'package' | 'reboot';
export type UpdateStatus =
  | 'soaking'
  | 'pending_approval'
  | 'approved'
  | 'queued'
  | 'merged'
  | 'applied'
  | 'failed'
  | 'stopped'
  | 'blocked'
  | 'refused'
  | 'superseded';

/** Statuses of an update that is still open (a newer version of the same package supersedes it). */
export const OPEN_STATUSES: readonly UpdateStatus[] = ['soaking', 'pending_approval', 'approved', 'queued'];

export interface DependencyUpdate {
  id: number;
  ecosystem: Ecosystem;
  /** The repository path, Dockerfile or apt root the update is for. */
  target: string;
  package: string;
  fromVersion: string;
  toVersion: string;
  type: UpdateType;
  status: UpdateStatus;
  planHash: string;
  branch: string | null;
  /** Why it stopped, failed, was queued or is held. */
  reason: string | null;
  /** Free-form facts: advisories, test output tail, scan summary, commit ids. */
  detail: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** Not to be applied before (end of soak or of a blackout). */
  notBefore: Date | null;
}

/**
 * What an approval is bound to: the package and the version it moves to, on that target. The version
 * it moves from is left out, so a patch Drydock merges first does not void the approval of a minor
 * update of the same package.
 */
export function updatePlanHash(u: Pick<DependencyUpdate, 'ecosystem' | 'target' | 'package' | 'toVersion'>) {
  return createHash('sha256')
    .update(JSON.stringify([u.ecosystem, u.target, u.package, u.toVersion]))
    .digest('hex');
}

interface Row {
  id: number;
  ecosystem: Ecosystem;
  target: string;
  package: string;
  from_version: string;
  to_version: string;
  update_type: UpdateType;
  status: UpdateStatus;
  plan_hash: string;
  branch: string | null;
  reason: string | null;
  detail: string;
  created_at: number;
  updated_at: number;
  not_before: number | null;
}

const fromRow = (r: Row): DependencyUpdate => ({
  id: r.id,
  ecosystem: r.ecosystem,
  target: r.target,
  package: r.package,
  fromVersion: r.from_version,
  toVersion: r.to_version,
  type: r.update_type,
  status: r.status,
  planHash: r.plan_hash,
  branch: r.branch,
  reason: r.reason,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
  notBefore: r.not_before === null ? null : new Date(r.not_before),
});

export interface ProposedUpdate {
  ecosystem: Ecosystem;
  target: string;
  package: string;
  fromVersion: string;
  toVersion: string;
  type: UpdateType;
  status: UpdateStatus;
  reason?: string | null;
  detail?: Record<string, unknown>;
  notBefore?: Date | null;
}

export class DependencyStore {
  constructor(private readonly db: SqliteDatabase) {}

  get(id: number): DependencyUpdate | null {
    const row = this.db.prepare('SELECT * FROM dependency_updates WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  list(
    filter: { ecosystem?: Ecosystem; target?: string; statuses?: readonly UpdateStatus[] } = {},
  ): DependencyUpdate[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.ecosystem) {
      where.push('ecosystem = ?');
      args.push(filter.ecosystem);
    }
    if (filter.target) {
      where.push('target = ?');
      args.push(filter.target);
    }
    if (filter.statuses) {
      where.push(`status IN (${filter.statuses.map(() => '?').join(', ') || "''"})`);
      args.push(...filter.statuses);
    }
    const sql = `SELECT * FROM dependency_updates ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(fromRow);
  }

  /**
   * Records a proposed update, or returns the record already kept for the same package and version
   * (its status untouched: an approval or a failure is not forgotten by the next run). Open updates
   * of the same package to another version are marked superseded.
   */
  propose(p: ProposedUpdate, at: Date): { update: DependencyUpdate; created: boolean } {
    const existing = this.db
      .prepare('SELECT * FROM dependency_updates WHERE ecosystem = ? AND target = ? AND package = ? AND to_version = ?')
      .get(p.ecosystem, p.target, p.package, p.toVersion) as Row | undefined;
    if (existing && existing.from_version === p.fromVersion) return { update: fromRow(existing), created: false };
    if (existing) {
      // The installed version moved (a patch merged first): same plan, same record, its decisions kept.
      this.db
        .prepare('UPDATE dependency_updates SET from_version = ?, updated_at = ? WHERE id = ?')
        .run(p.fromVersion, at.getTime(), existing.id);
      return { update: this.get(existing.id)!, created: false };
    }
    const supersede = this.db.prepare(
      `UPDATE dependency_updates SET status = 'superseded', reason = ?, updated_at = ?
       WHERE ecosystem = ? AND target = ? AND package = ? AND id != ? AND update_type = ? AND status IN ('soaking', 'pending_approval', 'approved', 'queued', 'stopped')`,
    );
    const planHash = updatePlanHash(p);
    const tx = this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare(
            `INSERT INTO dependency_updates (ecosystem, target, package, from_version, to_version, update_type, status, plan_hash, reason, detail, created_at, updated_at, not_before)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            p.ecosystem,
            p.target,
            p.package,
            p.fromVersion,
            p.toVersion,
            p.type,
            p.status,
            planHash,
            p.reason ?? null,
            JSON.stringify(p.detail ?? {}),
            at.getTime(),
            at.getTime(),
            p.notBefore ? p.notBefore.getTime() : null,
          ).lastInsertRowid,
      );
      supersede.run(
        `superseded by ${p.package} ${p.toVersion} (#${id})`,
        at.getTime(),
        p.ecosystem,
        p.target,
        p.package,
        id,
        p.type,
      );
      return id;
    });
    return { update: this.get(tx())!, created: true };
  }

  update(
    id: number,
    change: Partial<Pick<DependencyUpdate, 'status' | 'branch' | 'reason' | 'notBefore' | 'type'>> & {
      detail?: Record<string, unknown>;
    },
    at: Date,
  ): DependencyUpdate {
    const current = this.get(id);
    if (!current) throw new Error(`no dependency update #${id}`);
    const next = { ...current, ...change, detail: { ...current.detail, ...(change.detail ?? {}) } };
    this.db
      .prepare(
        'UPDATE dependency_updates SET status = ?, branch = ?, reason = ?, detail = ?, not_before = ?, update_type = ?, updated_at = ? WHERE id = ?',
      )
      .run(
        next.status,
        next.branch,
        next.reason,
        JSON.stringify(next.detail),
        next.notBefore ? next.notBefore.getTime() : null,
        next.type,
        at.getTime(),
        id,
      );
    return this.get(id)!;
  }
}
