// The notice delivery log: one row per (message, channel, recipient). A row that reached "sent"
// is never sent again, which makes retries and re-runs idempotent.
import type { SqliteDatabase } from './open.js';

export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed';

export interface DeliveryRow {
  messageId: string;
  channel: string;
  recipient: string;
  kind: string;
  subject: string;
  windowId: number | null;
  status: DeliveryStatus;
  attempts: number;
  detail: string;
  createdAt: Date;
  updatedAt: Date;
}

interface Raw {
  message_id: string;
  channel: string;
  recipient: string;
  kind: string;
  subject: string;
  window_id: number | null;
  status: DeliveryStatus;
  attempts: number;
  detail: string;
  created_at: number;
  updated_at: number;
}

const toRow = (r: Raw): DeliveryRow => ({
  messageId: r.message_id,
  channel: r.channel,
  recipient: r.recipient,
  kind: r.kind,
  subject: r.subject,
  windowId: r.window_id,
  status: r.status,
  attempts: r.attempts,
  detail: r.detail,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export class DeliveryLog {
  constructor(private readonly db: SqliteDatabase) {}

  /** Inserts the row if new; returns the current row either way. */
  open(row: {
    messageId: string;
    channel: string;
    recipient: string;
    kind: string;
    subject: string;
    windowId: number | null;
    at: Date;
  }): DeliveryRow {
    this.db
      .prepare(
        `INSERT INTO deliveries (message_id, channel, recipient, kind, subject, window_id, status, attempts, detail, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, '', ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(
        row.messageId,
        row.channel,
        row.recipient,
        row.kind,
        row.subject,
        row.windowId,
        row.at.getTime(),
        row.at.getTime(),
      );
    return this.get(row.messageId, row.channel, row.recipient)!;
  }

  get(messageId: string, channel: string, recipient: string): DeliveryRow | null {
    const raw = this.db
      .prepare('SELECT * FROM deliveries WHERE message_id = ? AND channel = ? AND recipient = ?')
      .get(messageId, channel, recipient) as Raw | undefined;
    return raw ? toRow(raw) : null;
  }

  /**
   * Claims one attempt: only a row that is pending or failed (or whose sender stalled mid-send for
   * longer than the lease) is claimed, and it becomes "sending". Returns false when another sender
   * holds it or already sent it, so two daemons never send the same message twice.
   */
  beginAttempt(messageId: string, channel: string, recipient: string, at: Date, leaseMs = 5 * 60_000): boolean {
    const result = this.db
      .prepare(
        `UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?
         WHERE message_id = ? AND channel = ? AND recipient = ?
           AND (status IN ('pending', 'failed') OR (status = 'sending' AND updated_at < ?))`,
      )
      .run(at.getTime(), messageId, channel, recipient, at.getTime() - leaseMs);
    return result.changes === 1;
  }

  finish(
    messageId: string,
    channel: string,
    recipient: string,
    status: DeliveryStatus,
    detail: string,
    at: Date,
  ): void {
    this.db
      .prepare(
        'UPDATE deliveries SET status = ?, detail = ?, updated_at = ? WHERE message_id = ? AND channel = ? AND recipient = ?',
      )
      .run(status, detail, at.getTime(), messageId, channel, recipient);
  }

  list(filter: { windowId?: number; status?: DeliveryStatus; messageId?: string } = {}): DeliveryRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.windowId !== undefined) {
      where.push('window_id = ?');
      args.push(filter.windowId);
    }
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.messageId) {
      where.push('message_id = ?');
      args.push(filter.messageId);
    }
    const sql = `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, message_id, channel, recipient`;
    return (this.db.prepare(sql).all(...args) as Raw[]).map(toRow);
  }

  /** Everyone (channel + recipient) who was sent a notice about a window. */
  reachedFor(windowId: number): Array<{ channel: string; recipient: string }> {
    return this.db
      .prepare(
        "SELECT DISTINCT channel, recipient FROM deliveries WHERE window_id = ? AND status = 'sent' ORDER BY channel, recipient",
      )
      .all(windowId) as Array<{ channel: string; recipient: string }>;
  }
}
