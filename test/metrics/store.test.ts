import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { SqliteMetricsStore, chooseResolution, labelKey, type Sample } from '../../src/store/sqlite/metrics.js';

const MIN = 60_000;
const DAY = 86_400_000;

describe('labels and resolution (pure)', () => {
  it('names a series the same whatever the label order', () => {
    expect(labelKey({ b: '2', a: '1' })).toBe(labelKey({ a: '1', b: '2' }));
  });
  it('picks the finest resolution that still holds the range', () => {
    expect(chooseResolution(0, DAY, 2 * DAY, 14 * DAY)).toBe('raw');
    expect(chooseResolution(0, 5 * DAY, 2 * DAY, 14 * DAY)).toBe('5m');
    expect(chooseResolution(0, 90 * DAY, 2 * DAY, 14 * DAY)).toBe('1h');
  });
});

describe('SqliteMetricsStore', () => {
  it('downsamples 90 days of minute points, reads them fast, and expires what aged out', () => {
    const db = openSqlite(':memory:');
    const store = new SqliteMetricsStore(db);
    const now = Date.UTC(2026, 10, 26, 12, 0, 0);
    const start = now - 90 * DAY;
    const labels = { target: '127.0.0.1:6379' };
    const batch: Sample[] = [];
    for (let at = start; at < now; at += MIN) {
      batch.push({ name: 'host_cpu_busy_ratio', labels: {}, value: (at / MIN) % 100, at, retentionMs: 90 * DAY });
      batch.push({ name: 'redis_memory_used_ratio', labels, value: 50, at, retentionMs: 30 * DAY });
    }
    store.write(batch);
    const report = store.compact(now);
    expect(report.rolled5m).toBeGreaterThan(0);
    expect(report.rolled1h).toBeGreaterThan(0);

    const t0 = performance.now();
    const host = store.read('host_cpu_busy_ratio', {}, { since: now - 90 * DAY, until: now });
    const elapsed = performance.now() - t0;
    expect(host.resolution).toBe('1h');
    expect(elapsed).toBeLessThan(100);
    expect(host.points.length).toBeGreaterThan(2000);
    expect(host.points.length).toBeLessThan(2300);
    // Hourly buckets average 60 minute points: values 0..99 repeating → the mean stays in range.
    expect(host.points[0]!.min).toBeGreaterThanOrEqual(0);
    expect(host.points[0]!.max).toBeLessThanOrEqual(99);

    // Redis series keep 30 days only; raw points are gone after 2 days, 5-minute rollups after 14.
    const redis = store.read('redis_memory_used_ratio', labels, { since: now - 90 * DAY, until: now });
    expect(redis.points[0]!.at).toBeGreaterThanOrEqual(now - 30 * DAY);
    const oldestRaw = db.prepare('SELECT min(at) AS at FROM metric_points').get() as { at: number };
    expect(oldestRaw.at).toBeGreaterThanOrEqual(now - 2 * DAY);
    const recent = store.read('host_cpu_busy_ratio', {}, { since: now - 60 * MIN, until: now });
    expect(recent.resolution).toBe('raw');
    expect(recent.points).toHaveLength(60);

    // A week: 5-minute buckets, no holes where raw points were rolled up.
    const week = store.read('host_cpu_busy_ratio', {}, { since: now - 7 * DAY, until: now });
    expect(week.resolution).toBe('5m');
    const gaps = week.points.slice(1).filter((p, i) => p.at - week.points[i]!.at > 5 * MIN);
    expect(gaps).toHaveLength(0);
    db.close();
  }, 60_000);

  it('deletes a series that has had no point within its retention', () => {
    const db = openSqlite(':memory:');
    const store = new SqliteMetricsStore(db);
    const now = 100 * DAY;
    store.write([
      { name: 'redis_keys', labels: { target: 'gone:6379' }, value: 1, at: now - 31 * DAY, retentionMs: 30 * DAY },
    ]);
    store.write([
      { name: 'redis_keys', labels: { target: 'live:6379' }, value: 1, at: now - MIN, retentionMs: 30 * DAY },
    ]);
    expect(store.compact(now).deletedSeries).toBe(1);
    expect(store.series().map((s) => s.labels.target)).toEqual(['live:6379']);
    expect(store.latest(now, 5 * MIN).map((s) => s.lastValue)).toEqual([1]);
    db.close();
  });
});
