// Alert state, history and silences in SQLite.
import type { AlertInstanceState, AlertStatus } from '../../alerts/state-machine.js';
import type { SqliteDatabase } from './open.js';

export interface AlertStateRow extends AlertInstanceState {
  rule: string;
  key: string;
  labels: Record<string, string>;
  component: string;
  message: string | null;
  updatedAt: number;
}

export interface AlertHistoryRow {
  id: number;
  rule: string;
  key: string;
  at: number;
  /** transition, sent, held, send_failed */
  event: string;
  fromStatus: AlertStatus | null;
  toStatus: AlertStatus | null;
  value: number | null;
  message: string;
}

export interface SilenceRow {
  id: number;
  component: string;
  reason: string;
  runId: number | null;
  startsAt: number;
  endsAt: number | null;
  liftedAt: number | null;
}

type Raw = Record<string, unknown>;

export class SqliteAlertStore {
  constructor(private readonly db: SqliteDatabase) {}

  get(rule: string, key: string): AlertStateRow | null {
    const row = this.db.prepare('SELECT * FROM alert_states WHERE rule = ? AND key = ?').get(rule, key) as
      Raw | undefined;
    return row ? toState(row) : null;
  }

  states(filter: { status?: AlertStatus; rule?: string } = {}): AlertStateRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.rule) {
      where.push('rule = ?');
      args.push(filter.rule);
    }
    const sql = `SELECT * FROM alert_states ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rule, key`;
    return (this.db.prepare(sql).all(...args) as Raw[]).map(toState);
  }

  put(row: AlertStateRow): void {
    this.db
      .prepare(
        `INSERT INTO alert_states (rule, key, labels, component, status, since, fired_at, last_sent_at, notified, value, message, updated_at)
         VALUES (@rule, @key, @labels, @component, @status, @since, @firedAt, @lastSentAt, @notified, @value, @message, @updatedAt)
         ON CONFLICT (rule, key) DO UPDATE SET labels = excluded.labels, component = excluded.component, status = excluded.status,
           since = excluded.since, fired_at = excluded.fired_at, last_sent_at = excluded.last_sent_at, notified = excluded.notified,
           value = excluded.value, message = excluded.message, updated_at = excluded.updated_at`,
      )
      .run({ ...row, labels: JSON.stringify(row.labels), notified: row.notified ? 1 : 0 });
  }

  addHistory(entry: Omit<AlertHistoryRow, 'id'>): void {
    this.db
      .prepare(
        'INSERT INTO alert_history (rule, key, at, event, from_status, to_status, value, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(entry.rule, entry.key, entry.at, entry.event, entry.fromStatus, entry.toStatus, entry.value, entry.message);
  }

  history(filter: { rule?: string; key?: string; limit?: number } = {}): AlertHistoryRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.rule) {
      where.push('rule = ?');
      args.push(filter.rule);
    }
    if (filter.key) {
      where.push('key = ?');
      args.push(filter.key);
    }
    const sql = `SELECT * FROM alert_history ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 100) as Raw[]).map((r) => ({
      id: r.id as number,
      rule: r.rule as string,
      key: r.key as string,
      at: r.at as number,
      event: r.event as string,
      fromStatus: (r.from_status as AlertStatus | null) ?? null,
      toStatus: (r.to_status as AlertStatus | null) ?? null,
      value: (r.value as number | null) ?? null,
      message: r.message as string,
    }));
  }

  /** Deletes history older than `before` (the activity-log retention). */
  pruneHistory(before: number): number {
    return this.db.prepare('DELETE FROM alert_history WHERE at < ?').run(before).changes;
  }

  addSilence(s: Omit<SilenceRow, 'id' | 'liftedAt'>): number {
    return Number(
      this.db
        .prepare('INSERT INTO alert_silences (component, reason, run_id, starts_at, ends_at) VALUES (?, ?, ?, ?, ?)')
        .run(s.component, s.reason, s.runId, s.startsAt, s.endsAt).lastInsertRowid,
    );
  }

  liftSilence(id: number, at: number): boolean {
    return (
      this.db.prepare('UPDATE alert_silences SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL').run(at, id)
        .changes > 0
    );
  }

  liftRunSilences(runId: number, at: number): number {
    return this.db
      .prepare('UPDATE alert_silences SET lifted_at = ? WHERE run_id = ? AND lifted_at IS NULL')
      .run(at, runId).changes;
  }

  activeSilences(at: number): SilenceRow[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM alert_silences WHERE starts_at <= ? AND (ends_at IS NULL OR ends_at > ?) AND (lifted_at IS NULL OR lifted_at > ?) ORDER BY id',
        )
        .all(at, at, at) as Raw[]
    ).map((r) => ({
      id: r.id as number,
      component: r.component as string,
      reason: r.reason as string,
      runId: (r.run_id as number | null) ?? null,
      startsAt: r.starts_at as number,
      endsAt: (r.ends_at as number | null) ?? null,
      liftedAt: (r.lifted_at as number | null) ?? null,
    }));
  }
}

function toState(r: Raw): AlertStateRow {
  return {
    rule: r.rule as string,
    key: r.key as string,
    labels: JSON.parse(r.labels as string) as Record<string, string>,
    component: r.component as string,
    status: r.status as AlertStatus,
    since: (r.since as number | null) ?? null,
    firedAt: (r.fired_at as number | null) ?? null,
    lastSentAt: (r.last_sent_at as number | null) ?? null,
    notified: r.notified === 1,
    value: (r.value as number | null) ?? null,
    message: (r.message as string | null) ?? null,
    updatedAt: r.updated_at as number,
  };
}
