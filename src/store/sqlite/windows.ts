// Maintenance windows, their status updates, status-page notices and component health in SQLite.
import type { SqliteDatabase } from './open.js';
import type {
  ChangeRecord,
  ValidationSummary,
  WindowKind,
  WindowOutcome,
  WindowRecord,
  WindowStatus,
  WindowUpdate,
} from '../../windows/types.js';

interface Raw {
  id: number;
  kind: WindowKind;
  status: WindowStatus;
  title: string;
  start_at: number;
  end_at: number;
  change: string;
  requested_by: string;
  created_at: number;
  updated_at: number;
  outcome: WindowOutcome | null;
  pre_checks: string | null;
  validation: string | null;
  lessons: string | null;
  status_reason: string | null;
  plan_hash: string;
  advance_sent_at: number | null;
  reminder_sent_at: number | null;
  public_title: string | null;
  public_description: string | null;
}

export interface StoredWindow extends WindowRecord {
  advanceSentAt: Date | null;
  reminderSentAt: Date | null;
  /** What the public status page shows instead of the internal title and change record (issue 9). */
  publicTitle: string | null;
  publicDescription: string | null;
}

const toWindow = (r: Raw): StoredWindow => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  title: r.title,
  start: new Date(r.start_at),
  end: new Date(r.end_at),
  change: JSON.parse(r.change) as ChangeRecord,
  requestedBy: r.requested_by,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
  outcome: r.outcome,
  preChecks: r.pre_checks ? (JSON.parse(r.pre_checks) as ValidationSummary) : null,
  validation: r.validation ? (JSON.parse(r.validation) as ValidationSummary) : null,
  lessons: r.lessons,
  statusReason: r.status_reason,
  planHash: r.plan_hash,
  advanceSentAt: r.advance_sent_at === null ? null : new Date(r.advance_sent_at),
  reminderSentAt: r.reminder_sent_at === null ? null : new Date(r.reminder_sent_at),
  publicTitle: r.public_title,
  publicDescription: r.public_description,
});

export const ACTIVE_STATUSES: readonly WindowStatus[] = ['pending_approval', 'scheduled', 'in_progress'];

export interface NewWindow {
  kind: WindowKind;
  status: WindowStatus;
  title: string;
  start: Date;
  end: Date;
  change: ChangeRecord;
  requestedBy: string;
  planHash: string;
  at: Date;
  publicTitle?: string;
  publicDescription?: string;
}

export interface WindowPatch {
  status?: WindowStatus;
  title?: string;
  start?: Date;
  end?: Date;
  change?: ChangeRecord;
  planHash?: string;
  outcome?: WindowOutcome | null;
  preChecks?: ValidationSummary | null;
  validation?: ValidationSummary | null;
  lessons?: string | null;
  statusReason?: string | null;
  advanceSentAt?: Date | null;
  reminderSentAt?: Date | null;
}

const COLUMNS: Record<keyof WindowPatch, [string, (v: never) => unknown]> = {
  status: ['status', (v) => v],
  title: ['title', (v) => v],
  start: ['start_at', (v: Date) => v.getTime()],
  end: ['end_at', (v: Date) => v.getTime()],
  change: ['change', (v) => JSON.stringify(v)],
  planHash: ['plan_hash', (v) => v],
  outcome: ['outcome', (v) => v],
  preChecks: ['pre_checks', (v: ValidationSummary | null) => (v ? JSON.stringify(v) : null)],
  validation: ['validation', (v: ValidationSummary | null) => (v ? JSON.stringify(v) : null)],
  lessons: ['lessons', (v) => v],
  statusReason: ['status_reason', (v) => v],
  advanceSentAt: ['advance_sent_at', (v: Date | null) => (v ? v.getTime() : null)],
  reminderSentAt: ['reminder_sent_at', (v: Date | null) => (v ? v.getTime() : null)],
};

export interface StatusNotice {
  id: number;
  messageId: string;
  at: Date;
  kind: string;
  subject: string;
  text: string;
  windowId: number | null;
}

export type ComponentStatus = 'operational' | 'degraded' | 'partial_outage' | 'major_outage' | 'under_maintenance';

export interface ComponentHealth {
  name: string;
  status: ComponentStatus;
  detail: string;
  updatedAt: Date;
}

export class WindowStore {
  constructor(private readonly db: SqliteDatabase) {}

  insert(w: NewWindow): StoredWindow {
    const result = this.db
      .prepare(
        `INSERT INTO windows (kind, status, title, start_at, end_at, change, requested_by, created_at, updated_at, plan_hash, public_title, public_description)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        w.kind,
        w.status,
        w.title,
        w.start.getTime(),
        w.end.getTime(),
        JSON.stringify(w.change),
        w.requestedBy,
        w.at.getTime(),
        w.at.getTime(),
        w.planHash,
        w.publicTitle ?? null,
        w.publicDescription ?? null,
      );
    return this.get(Number(result.lastInsertRowid))!;
  }

  get(id: number): StoredWindow | null {
    const raw = this.db.prepare('SELECT * FROM windows WHERE id = ?').get(id) as Raw | undefined;
    return raw ? toWindow(raw) : null;
  }

  update(id: number, patch: WindowPatch, at: Date): StoredWindow {
    const sets: string[] = ['updated_at = ?'];
    const args: unknown[] = [at.getTime()];
    for (const [key, value] of Object.entries(patch) as Array<[keyof WindowPatch, never]>) {
      if (value === undefined) continue;
      const [column, encode] = COLUMNS[key];
      sets.push(`${column} = ?`);
      args.push(encode(value));
    }
    this.db.prepare(`UPDATE windows SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
    return this.get(id)!;
  }

  /** Windows overlapping [from, to) in the given statuses (all when omitted), by start. */
  list(
    filter: { from?: Date; to?: Date; statuses?: readonly WindowStatus[]; limit?: number; newestFirst?: boolean } = {},
  ): StoredWindow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.from) {
      where.push('end_at > ?');
      args.push(filter.from.getTime());
    }
    if (filter.to) {
      where.push('start_at < ?');
      args.push(filter.to.getTime());
    }
    if (filter.statuses) {
      where.push(`status IN (${filter.statuses.map(() => '?').join(', ')})`);
      args.push(...filter.statuses);
    }
    const sql = `SELECT * FROM windows ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_at ${filter.newestFirst ? 'DESC' : 'ASC'}, id ${filter.limit ? `LIMIT ${Math.floor(filter.limit)}` : ''}`;
    return (this.db.prepare(sql).all(...args) as Raw[]).map(toWindow);
  }

  addUpdate(u: Omit<WindowUpdate, 'id'>): WindowUpdate {
    const result = this.db
      .prepare('INSERT INTO window_updates (window_id, at, phase, message, author) VALUES (?, ?, ?, ?, ?)')
      .run(u.windowId, u.at.getTime(), u.phase, u.message, u.author);
    return { ...u, id: Number(result.lastInsertRowid) };
  }

  updates(windowId: number): WindowUpdate[] {
    const rows = this.db
      .prepare('SELECT * FROM window_updates WHERE window_id = ? ORDER BY at, id')
      .all(windowId) as Array<{
      id: number;
      window_id: number;
      at: number;
      phase: string;
      message: string;
      author: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      windowId: r.window_id,
      at: new Date(r.at),
      phase: r.phase,
      message: r.message,
      author: r.author,
    }));
  }

  /** Publishes a status-page notice once per message id. */
  addNotice(n: Omit<StatusNotice, 'id'>): void {
    this.db
      .prepare(
        'INSERT INTO status_notices (message_id, at, kind, subject, text, window_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING',
      )
      .run(n.messageId, n.at.getTime(), n.kind, n.subject, n.text, n.windowId);
  }

  notices(filter: { windowId?: number; limit?: number } = {}): StatusNotice[] {
    const rows = (
      filter.windowId !== undefined
        ? this.db
            .prepare('SELECT * FROM status_notices WHERE window_id = ? ORDER BY at DESC, id DESC')
            .all(filter.windowId)
        : this.db.prepare('SELECT * FROM status_notices ORDER BY at DESC, id DESC LIMIT ?').all(filter.limit ?? 50)
    ) as Array<{
      id: number;
      message_id: string;
      at: number;
      kind: string;
      subject: string;
      text: string;
      window_id: number | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      messageId: r.message_id,
      at: new Date(r.at),
      kind: r.kind,
      subject: r.subject,
      text: r.text,
      windowId: r.window_id,
    }));
  }

  setComponent(name: string, status: ComponentStatus, detail: string, at: Date): void {
    this.db
      .prepare(
        'INSERT INTO components (name, status, detail, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET status = excluded.status, detail = excluded.detail, updated_at = excluded.updated_at',
      )
      .run(name, status, detail, at.getTime());
  }

  components(): ComponentHealth[] {
    const rows = this.db.prepare('SELECT * FROM components ORDER BY name').all() as Array<{
      name: string;
      status: ComponentStatus;
      detail: string;
      updated_at: number;
    }>;
    return rows.map((r) => ({ name: r.name, status: r.status, detail: r.detail, updatedAt: new Date(r.updated_at) }));
  }
}
