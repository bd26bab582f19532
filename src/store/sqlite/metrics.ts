// Metric storage in SQLite: raw points, rolled up into 5-minute and 1-hour buckets as they age,
// expired by each series' retention (cache metrics 30 days, server metrics 90 days by default).
// A 90-day read of one series touches ~2,200 hourly rows through the primary key.
import type { SqliteDatabase } from './open.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Epoch milliseconds. */
  at: number;
  retentionMs: number;
}

export interface SeriesInfo {
  id: number;
  name: string;
  labels: Record<string, string>;
  retentionMs: number;
  lastAt: number | null;
  lastValue: number | null;
}

export interface Point {
  at: number;
  /** The value, or the bucket's average for rollups. */
  value: number;
  min: number;
  max: number;
}

export type Resolution = 'raw' | '5m' | '1h';

export interface MetricsStoreOptions {
  /** How long raw points are kept before only rollups remain. */
  rawMs?: number;
  /** How long 5-minute rollups are kept before only hourly ones remain. */
  fiveMinuteMs?: number;
}

const STEP_MS: Record<Exclude<Resolution, 'raw'>, number> = { '5m': 300_000, '1h': 3_600_000 };
const DAY = 86_400_000;

/** Canonical label text: keys sorted, so the same labels always name the same series. */
export function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** Pure: the finest resolution still holding data back to `since`. */
export function chooseResolution(since: number, now: number, rawMs: number, fiveMinuteMs: number): Resolution {
  if (since >= now - rawMs) return 'raw';
  if (since >= now - fiveMinuteMs) return '5m';
  return '1h';
}

export interface CompactReport {
  rolled5m: number;
  rolled1h: number;
  deletedPoints: number;
  deletedRollups: number;
  deletedSeries: number;
}

export class SqliteMetricsStore {
  readonly rawMs: number;
  readonly fiveMinuteMs: number;
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly db: SqliteDatabase,
    options: MetricsStoreOptions = {},
  ) {
    this.rawMs = options.rawMs ?? 2 * DAY;
    this.fiveMinuteMs = options.fiveMinuteMs ?? 14 * DAY;
  }

  private seriesId(name: string, labels: Record<string, string>, retentionMs: number): number {
    const key = labelKey(labels);
    const cacheKey = `${name}${key}`;
    const known = this.ids.get(cacheKey);
    if (known !== undefined) return known;
    const row = this.db
      .prepare(
        `INSERT INTO metric_series (name, labels, retention_ms) VALUES (?, ?, ?)
         ON CONFLICT (name, labels) DO UPDATE SET retention_ms = excluded.retention_ms RETURNING id`,
      )
      .get(name, key, retentionMs) as { id: number };
    this.ids.set(cacheKey, row.id);
    return row.id;
  }

  write(samples: readonly Sample[]): void {
    if (samples.length === 0) return;
    const point = this.db.prepare('INSERT OR REPLACE INTO metric_points (series_id, at, value) VALUES (?, ?, ?)');
    const last = this.db.prepare(
      'UPDATE metric_series SET last_at = ?, last_value = ? WHERE id = ? AND (last_at IS NULL OR last_at <= ?)',
    );
    this.db.transaction(() => {
      for (const s of samples) {
        if (!Number.isFinite(s.value)) continue;
        const id = this.seriesId(s.name, s.labels, s.retentionMs);
        point.run(id, s.at, s.value);
        last.run(s.at, s.value, id, s.at);
      }
    })();
  }

  series(name?: string): SeriesInfo[] {
    const rows = (
      name
        ? this.db.prepare('SELECT * FROM metric_series WHERE name = ? ORDER BY name, labels').all(name)
        : this.db.prepare('SELECT * FROM metric_series ORDER BY name, labels').all()
    ) as Array<{
      id: number;
      name: string;
      labels: string;
      retention_ms: number;
      last_at: number | null;
      last_value: number | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      labels: JSON.parse(r.labels) as Record<string, string>,
      retentionMs: r.retention_ms,
      lastAt: r.last_at,
      lastValue: r.last_value,
    }));
  }

  /** Series with a value no older than maxAgeMs: what /metrics serves. */
  latest(now: number, maxAgeMs: number): SeriesInfo[] {
    return this.series().filter((s) => s.lastAt !== null && now - s.lastAt <= maxAgeMs);
  }

  private mark(step: number): number | null {
    const row = this.db.prepare('SELECT done_until FROM metric_rollup_marks WHERE step = ?').get(step) as
      { done_until: number } | undefined;
    return row?.done_until ?? null;
  }

  /**
   * Points of one series in [since, until]. `auto` reads the coarsest rollups only where finer
   * data has aged out, and fills the newest stretch from finer data not yet rolled up.
   */
  read(
    name: string,
    labels: Record<string, string>,
    options: { since: number; until: number; resolution?: Resolution | 'auto' },
  ): { resolution: Resolution; points: Point[] } {
    const row = this.db
      .prepare('SELECT id FROM metric_series WHERE name = ? AND labels = ?')
      .get(name, labelKey(labels)) as { id: number } | undefined;
    const resolution =
      !options.resolution || options.resolution === 'auto'
        ? chooseResolution(options.since, options.until, this.rawMs, this.fiveMinuteMs)
        : options.resolution;
    if (!row) return { resolution, points: [] };
    const raw = this.db.prepare(
      'SELECT at, value, value AS min, value AS max FROM metric_points WHERE series_id = ? AND at >= ? AND at <= ? ORDER BY at',
    );
    const rolled = this.db.prepare(
      'SELECT at, sum / count AS value, min, max FROM metric_rollups WHERE series_id = ? AND step = ? AND at >= ? AND at < ? ORDER BY at',
    );
    if (resolution === 'raw') return { resolution, points: raw.all(row.id, options.since, options.until) as Point[] };
    const done5 = this.mark(STEP_MS['5m']) ?? options.since;
    if (resolution === '5m' || options.resolution === '5m') {
      const points = [
        ...(rolled.all(row.id, STEP_MS['5m'], options.since, Math.min(done5, options.until + 1)) as Point[]),
        ...(raw.all(row.id, Math.max(done5, options.since), options.until) as Point[]),
      ];
      return { resolution, points };
    }
    const done1 = this.mark(STEP_MS['1h']) ?? options.since;
    const points = [
      ...(rolled.all(row.id, STEP_MS['1h'], options.since, Math.min(done1, options.until + 1)) as Point[]),
      ...(rolled.all(
        row.id,
        STEP_MS['5m'],
        Math.max(done1, options.since),
        Math.min(done5, options.until + 1),
      ) as Point[]),
      ...(raw.all(row.id, Math.max(done5, done1, options.since), options.until) as Point[]),
    ];
    return { resolution, points };
  }

  /** Rolls up completed buckets and deletes what has aged out. Safe to call every minute. */
  compact(now: number): CompactReport {
    const report: CompactReport = { rolled5m: 0, rolled1h: 0, deletedPoints: 0, deletedRollups: 0, deletedSeries: 0 };
    const setMark = this.db.prepare(
      'INSERT INTO metric_rollup_marks (step, done_until) VALUES (?, ?) ON CONFLICT (step) DO UPDATE SET done_until = excluded.done_until',
    );
    this.db.transaction(() => {
      const s5 = STEP_MS['5m'];
      const s1 = STEP_MS['1h'];
      // Per series through the primary key: metric_points has no index on `at` alone.
      const first = (
        this.db
          .prepare('SELECT min((SELECT min(at) FROM metric_points WHERE series_id = s.id)) AS at FROM metric_series s')
          .get() as { at: number | null }
      ).at;
      const from5 = this.mark(s5) ?? (first === null ? null : Math.floor(first / s5) * s5);
      const upto5 = Math.floor(now / s5) * s5;
      if (from5 !== null && from5 < upto5) {
        report.rolled5m = this.db
          .prepare(
            `INSERT OR REPLACE INTO metric_rollups (series_id, step, at, min, max, sum, count)
             SELECT series_id, ${s5}, (at / ${s5}) * ${s5}, min(value), max(value), sum(value), count(*)
             FROM metric_points WHERE series_id IN (SELECT id FROM metric_series) AND at >= ? AND at < ? GROUP BY series_id, at / ${s5}`,
          )
          .run(from5, upto5).changes;
        setMark.run(s5, upto5);
      }
      const done5 = this.mark(s5);
      const firstRollup = (
        this.db.prepare(`SELECT min(at) AS at FROM metric_rollups WHERE step = ${s5}`).get() as { at: number | null }
      ).at;
      const from1 = this.mark(s1) ?? (firstRollup === null ? null : Math.floor(firstRollup / s1) * s1);
      const upto1 = done5 === null ? null : Math.floor(Math.min(now, done5) / s1) * s1;
      if (from1 !== null && upto1 !== null && from1 < upto1) {
        report.rolled1h = this.db
          .prepare(
            `INSERT OR REPLACE INTO metric_rollups (series_id, step, at, min, max, sum, count)
             SELECT series_id, ${s1}, (at / ${s1}) * ${s1}, min(min), max(max), sum(sum), sum(count)
             FROM metric_rollups WHERE step = ${s5} AND at >= ? AND at < ? GROUP BY series_id, at / ${s1}`,
          )
          .run(from1, upto1).changes;
        setMark.run(s1, upto1);
      }
      // Raw points go once rolled up and older than the raw window; 5-minute rollups likewise.
      const rawCut = Math.min(now - this.rawMs, done5 ?? -Infinity);
      if (Number.isFinite(rawCut))
        report.deletedPoints += this.db
          .prepare('DELETE FROM metric_points WHERE series_id IN (SELECT id FROM metric_series) AND at < ?')
          .run(rawCut).changes;
      const done1 = this.mark(s1);
      const fiveCut = Math.min(now - this.fiveMinuteMs, done1 ?? -Infinity);
      if (Number.isFinite(fiveCut))
        report.deletedRollups += this.db
          .prepare(`DELETE FROM metric_rollups WHERE step = ${s5} AND at < ?`)
          .run(fiveCut).changes;
      // Everything older than the series' own retention.
      const retentions = this.db.prepare('SELECT DISTINCT retention_ms AS r FROM metric_series').all() as Array<{
        r: number;
      }>;
      for (const { r } of retentions) {
        const cut = now - r;
        report.deletedPoints += this.db
          .prepare(
            'DELETE FROM metric_points WHERE at < ? AND series_id IN (SELECT id FROM metric_series WHERE retention_ms = ?)',
          )
          .run(cut, r).changes;
        report.deletedRollups += this.db
          .prepare(
            'DELETE FROM metric_rollups WHERE at < ? AND series_id IN (SELECT id FROM metric_series WHERE retention_ms = ?)',
          )
          .run(cut, r).changes;
        const gone = this.db
          .prepare('DELETE FROM metric_series WHERE retention_ms = ? AND (last_at IS NULL OR last_at < ?) RETURNING id')
          .all(r, cut) as Array<{ id: number }>;
        report.deletedSeries += gone.length;
      }
      if (report.deletedSeries > 0) this.ids.clear();
    })();
    return report;
  }

  /** Bytes the metric tables use (SQLite dbstat when available, else page estimate). */
  storageBytes(): number | null {
    try {
      const row = this.db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name LIKE 'metric%'").get() as {
        bytes: number | null;
      };
      return row.bytes;
    } catch {
      return null;
    }
  }
}
