// DNS changes being tracked until every resolver of the panel serves them (network.dns.propagation):
// declared by a person (`drydock dns change NAME TYPE VALUE`) or detected when a zone's
// authoritative SOA serial moves. Kept in Drydock's SQLite state (migration 040).
import type { SqliteDatabase } from '../../store/sqlite/open.js';

export type DnsChangeStatus = 'tracking' | 'done' | 'timed_out';

export interface LaggingResolver {
  resolver: string;
  /** What it serves instead (values, an answer code or the error). */
  serving: string;
  /** Seconds its stale answer may still be cached (the TTL it returned), when known. */
  ttl: number | null;
}

export interface DnsChange {
  id: number;
  zone: string;
  name: string;
  type: string;
  /** The record set that should be served (normalised, sorted); null for a serial change. */
  values: string[] | null;
  /** For a detected change: the new SOA serial every resolver should serve. */
  serial: number | null;
  source: 'declared' | 'serial';
  declaredBy: string;
  declaredAt: Date;
  status: DnsChangeStatus;
  percent: number;
  servedBy: string[];
  lagging: LaggingResolver[];
  /** When the last stale answer leaves the lagging resolvers' caches (TTL-aware), if known. */
  expectedDoneAt: Date | null;
  checkedAt: Date | null;
  doneAt: Date | null;
}

interface Row {
  id: number;
  zone: string;
  name: string;
  type: string;
  value: string | null;
  serial: number | null;
  source: string;
  declared_by: string;
  declared_at: number;
  status: string;
  percent: number;
  served_by: string;
  lagging: string;
  expected_done_at: number | null;
  checked_at: number | null;
  done_at: number | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function toChange(r: Row): DnsChange {
  return {
    id: r.id,
    zone: r.zone,
    name: r.name,
    type: r.type,
    values: r.value === null ? null : (JSON.parse(r.value) as string[]),
    serial: r.serial,
    source: r.source as DnsChange['source'],
    declaredBy: r.declared_by,
    declaredAt: new Date(r.declared_at),
    status: r.status as DnsChangeStatus,
    percent: r.percent,
    servedBy: JSON.parse(r.served_by) as string[],
    lagging: JSON.parse(r.lagging) as LaggingResolver[],
    expectedDoneAt: date(r.expected_done_at),
    checkedAt: date(r.checked_at),
    doneAt: date(r.done_at),
  };
}

export interface NewDnsChange {
  zone: string;
  name: string;
  type: string;
  values: string[] | null;
  serial: number | null;
  source: DnsChange['source'];
  declaredBy: string;
  declaredAt: Date;
}

export class DnsChangeStore {
  constructor(private readonly db: SqliteDatabase) {}

  declare(change: NewDnsChange): DnsChange {
    const result = this.db
      .prepare(
        `INSERT INTO dns_changes (zone, name, type, value, serial, source, declared_by, declared_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'tracking')`,
      )
      .run(
        change.zone,
        change.name,
        change.type,
        change.values === null ? null : JSON.stringify(change.values),
        change.serial,
        change.source,
        change.declaredBy,
        change.declaredAt.getTime(),
      );
    return this.get(Number(result.lastInsertRowid))!;
  }

  get(id: number): DnsChange | null {
    const row = this.db.prepare('SELECT * FROM dns_changes WHERE id = ?').get(id) as Row | undefined;
    return row ? toChange(row) : null;
  }

  tracking(): DnsChange[] {
    return (
      this.db.prepare("SELECT * FROM dns_changes WHERE status = 'tracking' ORDER BY declared_at, id").all() as Row[]
    ).map(toChange);
  }

  list(options: { all?: boolean; limit?: number } = {}): DnsChange[] {
    const where = options.all ? '' : "WHERE status = 'tracking' OR checked_at >= ?";
    const params = options.all ? [] : [Date.now() - 7 * 86_400_000];
    return (
      this.db
        .prepare(`SELECT * FROM dns_changes ${where} ORDER BY declared_at DESC, id DESC LIMIT ?`)
        .all(...params, options.limit ?? 100) as Row[]
    ).map(toChange);
  }

  saveProgress(
    id: number,
    p: Pick<DnsChange, 'status' | 'percent' | 'servedBy' | 'lagging' | 'expectedDoneAt' | 'checkedAt' | 'doneAt'>,
  ): void {
    this.db
      .prepare(
        `UPDATE dns_changes SET status = ?, percent = ?, served_by = ?, lagging = ?, expected_done_at = ?, checked_at = ?, done_at = ?
         WHERE id = ?`,
      )
      .run(
        p.status,
        p.percent,
        JSON.stringify(p.servedBy),
        JSON.stringify(p.lagging),
        p.expectedDoneAt?.getTime() ?? null,
        p.checkedAt?.getTime() ?? null,
        p.doneAt?.getTime() ?? null,
        id,
      );
  }

  lastSerial(zone: string): number | null {
    const row = this.db.prepare('SELECT serial FROM dns_zone_serials WHERE zone = ?').get(zone) as
      { serial: number } | undefined;
    return row?.serial ?? null;
  }

  setSerial(zone: string, serial: number, at: Date): void {
    this.db
      .prepare(
        `INSERT INTO dns_zone_serials (zone, serial, seen_at) VALUES (?, ?, ?)
         ON CONFLICT (zone) DO UPDATE SET serial = excluded.serial, seen_at = excluded.seen_at`,
      )
      .run(zone, serial, at.getTime());
  }
}
