// Approval decisions (the activity list of who approved or refused what plan, when), API token
// hashes (never the tokens) and security patches with their SLA dates.
import type { SqliteDatabase } from './open.js';

export type ApprovalDecision = 'approved' | 'refused';

export interface ApprovalRecord {
  id: number;
  /** "window:12" or "patch:3". */
  subject: string;
  person: string;
  role: string;
  decision: ApprovalDecision;
  planHash: string;
  comment: string | null;
  at: Date;
}

export type PatchSeverity = 'critical' | 'high' | 'medium';
export type PatchStatus = 'pending_approval' | 'approved' | 'refused' | 'applied';

export interface PatchRecord {
  id: number;
  ref: string;
  title: string;
  severity: PatchSeverity;
  foundAt: Date;
  dueAt: Date;
  status: PatchStatus;
  planHash: string;
  decidedBy: string | null;
  decidedAt: Date | null;
  appliedAt: Date | null;
  /** When the notice about it is due (immediate, next business day, weekly digest). */
  notifyAt: Date;
  notifiedAt: Date | null;
  warnedAt: Date | null;
  /** Who reported it: the requester, who cannot approve it ('' for patches reported before issue 9). */
  reportedBy: string;
}

const date = (v: number | null) => (v === null ? null : new Date(v));

export class ApprovalStore {
  constructor(private readonly db: SqliteDatabase) {}

  add(a: Omit<ApprovalRecord, 'id'>): ApprovalRecord {
    const result = this.db
      .prepare(
        'INSERT INTO approvals (subject, person, role, decision, plan_hash, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(a.subject, a.person, a.role, a.decision, a.planHash, a.comment, a.at.getTime());
    return { ...a, id: Number(result.lastInsertRowid) };
  }

  list(subject: string): ApprovalRecord[] {
    const rows = this.db.prepare('SELECT * FROM approvals WHERE subject = ? ORDER BY at, id').all(subject) as Array<{
      id: number;
      subject: string;
      person: string;
      role: string;
      decision: ApprovalDecision;
      plan_hash: string;
      comment: string | null;
      at: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      subject: r.subject,
      person: r.person,
      role: r.role,
      decision: r.decision,
      planHash: r.plan_hash,
      comment: r.comment,
      at: new Date(r.at),
    }));
  }

  addTokenHash(person: string, hash: string, label: string, at: Date): number {
    return Number(
      this.db
        .prepare('INSERT INTO api_tokens (person, token_hash, label, created_at) VALUES (?, ?, ?, ?)')
        .run(person, hash, label, at.getTime()).lastInsertRowid,
    );
  }

  personForHash(hash: string): string | null {
    const row = this.db
      .prepare('SELECT person FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL')
      .get(hash) as { person: string } | undefined;
    return row?.person ?? null;
  }

  revokeTokens(person: string, at: Date): number {
    return this.db
      .prepare('UPDATE api_tokens SET revoked_at = ? WHERE person = ? AND revoked_at IS NULL')
      .run(at.getTime(), person).changes;
  }

  listTokens(): Array<{ id: number; person: string; label: string; createdAt: Date; revokedAt: Date | null }> {
    const rows = this.db
      .prepare('SELECT id, person, label, created_at, revoked_at FROM api_tokens ORDER BY id')
      .all() as Array<{ id: number; person: string; label: string; created_at: number; revoked_at: number | null }>;
    return rows.map((r) => ({
      id: r.id,
      person: r.person,
      label: r.label,
      createdAt: new Date(r.created_at),
      revokedAt: date(r.revoked_at),
    }));
  }

  insertPatch(
    p: Omit<PatchRecord, 'id' | 'decidedBy' | 'decidedAt' | 'appliedAt' | 'notifiedAt' | 'warnedAt' | 'reportedBy'> & {
      reportedBy?: string;
      decidedBy?: string | null;
      decidedAt?: Date | null;
    },
  ): PatchRecord {
    const result = this.db
      .prepare(
        `INSERT INTO security_patches (ref, title, severity, found_at, due_at, status, plan_hash, decided_by, decided_at, notify_at, reported_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        p.ref,
        p.title,
        p.severity,
        p.foundAt.getTime(),
        p.dueAt.getTime(),
        p.status,
        p.planHash,
        p.decidedBy ?? null,
        p.decidedAt?.getTime() ?? null,
        p.notifyAt.getTime(),
        p.reportedBy ?? '',
      );
    return this.patch(Number(result.lastInsertRowid))!;
  }

  patch(id: number): PatchRecord | null {
    const raw = this.db.prepare('SELECT * FROM security_patches WHERE id = ?').get(id) as PatchRaw | undefined;
    return raw ? toPatch(raw) : null;
  }

  patchByRef(ref: string): PatchRecord | null {
    const raw = this.db.prepare('SELECT * FROM security_patches WHERE ref = ?').get(ref) as PatchRaw | undefined;
    return raw ? toPatch(raw) : null;
  }

  patches(statuses?: readonly PatchStatus[]): PatchRecord[] {
    const rows = statuses
      ? this.db
          .prepare(
            `SELECT * FROM security_patches WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY due_at, id`,
          )
          .all(...statuses)
      : this.db.prepare('SELECT * FROM security_patches ORDER BY due_at, id').all();
    return (rows as PatchRaw[]).map(toPatch);
  }

  updatePatch(
    id: number,
    patch: {
      status?: PatchStatus;
      decidedBy?: string;
      decidedAt?: Date;
      appliedAt?: Date;
      notifiedAt?: Date;
      warnedAt?: Date;
    },
  ): void {
    const map: Record<string, string> = {
      status: 'status',
      decidedBy: 'decided_by',
      decidedAt: 'decided_at',
      appliedAt: 'applied_at',
      notifiedAt: 'notified_at',
      warnedAt: 'warned_at',
    };
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      sets.push(`${map[key]} = ?`);
      args.push(value instanceof Date ? value.getTime() : value);
    }
    if (sets.length) this.db.prepare(`UPDATE security_patches SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
  }
}

interface PatchRaw {
  id: number;
  ref: string;
  title: string;
  severity: PatchSeverity;
  found_at: number;
  due_at: number;
  status: PatchStatus;
  plan_hash: string;
  decided_by: string | null;
  decided_at: number | null;
  applied_at: number | null;
  notify_at: number;
  notified_at: number | null;
  warned_at: number | null;
  reported_by: string;
}

const toPatch = (r: PatchRaw): PatchRecord => ({
  id: r.id,
  ref: r.ref,
  title: r.title,
  severity: r.severity,
  foundAt: new Date(r.found_at),
  dueAt: new Date(r.due_at),
  status: r.status,
  planHash: r.plan_hash,
  decidedBy: r.decided_by,
  decidedAt: date(r.decided_at),
  appliedAt: date(r.applied_at),
  notifyAt: new Date(r.notify_at),
  notifiedAt: date(r.notified_at),
  warnedAt: date(r.warned_at),
  reportedBy: r.reported_by,
});
