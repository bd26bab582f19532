// /metrics for Prometheus and a small JSON reader for the API and dashboard.
import { Hono } from 'hono';
import { systemClock, type Clock } from '../clock.js';
import { parseDuration } from '../policy/phrases.js';
import type { SeriesInfo, SqliteMetricsStore } from '../store/sqlite/metrics.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';

export interface MetricsRoutesOptions {
  store: SqliteMetricsStore;
  clock?: Clock;
  /** Series older than this are not exposed (their target stopped answering). */
  staleMs?: number;
  /** More exposition text to append, e.g. the run metrics of the prom-client registry. */
  extra?: () => Promise<string> | string;
}

/**
 * The latest value of every series that is current: written in its target's latest round, and
 * that round reached the target. When a target stops answering, its series disappear at once (a
 * gap) and only drydock_target_up{...} 0 remains; nothing old is served as if it were current.
 */
function currentSeries(series: readonly SeriesInfo[], now: number, staleMs: number): SeriesInfo[] {
  const rounds = new Map<string, { at: number; up: boolean }>();
  for (const s of series)
    if (s.name === 'drydock_target_up' && s.lastAt !== null)
      rounds.set(`${s.labels.kind}|${s.labels.target}`, { at: s.lastAt, up: s.lastValue === 1 });
  return series.filter((s) => {
    if (s.lastAt === null || now - s.lastAt > staleMs) return false;
    if (s.name === 'drydock_target_up') return true;
    const key = targetKeyOf(s.name, s.labels, rounds);
    const round = key === null ? undefined : rounds.get(key);
    // A series of no known target (e.g. a custom one) keeps only the staleness bound.
    if (!round) return true;
    return round.up && s.lastAt >= round.at;
  });
}

/** Which collection target a series comes from, as "kind|target" (the labels of drydock_target_up). */
function targetKeyOf(
  name: string,
  labels: Record<string, string>,
  rounds: ReadonlyMap<string, unknown>,
): string | null {
  if (name.startsWith('redis_')) return `redis|${labels.target}`;
  if (name.startsWith('pg_')) return `postgres|${labels.target}`;
  if (name.startsWith('host_')) return 'host|localhost';
  if (name.startsWith('backup_')) return [...rounds.keys()].find((k) => k.startsWith('backup|')) ?? null;
  return null;
}

function renderStoreMetrics(store: SqliteMetricsStore, now: number, staleMs = 5 * 60_000): string {
  return renderPrometheus(
    currentSeries(store.series(), now, staleMs).map((s) => ({ name: s.name, labels: s.labels, value: s.lastValue! })),
  );
}

export function metricsRoutes(options: MetricsRoutesOptions): Hono {
  const app = new Hono();
  const clock = options.clock ?? systemClock;
  app.get('/metrics', async (c) => {
    const extra = options.extra ? await options.extra() : '';
    c.header('content-type', PROMETHEUS_CONTENT_TYPE);
    return c.body(renderStoreMetrics(options.store, clock.now().getTime(), options.staleMs) + extra);
  });
  app.get('/api/metrics/series', (c) => {
    const name = c.req.query('name');
    return c.json(
      options.store.series(name).map((s) => ({
        name: s.name,
        labels: s.labels,
        lastAt: s.lastAt ? new Date(s.lastAt).toISOString() : null,
        lastValue: s.lastValue,
      })),
    );
  });
  app.get('/api/metrics/read', (c) => {
    const name = c.req.query('name');
    if (!name) return c.json({ error: 'name is required' }, 400);
    let labels: Record<string, string>;
    try {
      labels = JSON.parse(c.req.query('labels') ?? '{}') as Record<string, string>;
    } catch {
      return c.json({ error: 'labels must be a JSON object' }, 400);
    }
    const since = parseDuration(c.req.query('since') ?? '24 hours');
    if (!since.ok) return c.json({ error: `since: expected ${since.expected}` }, 400);
    const now = clock.now().getTime();
    const resolution = c.req.query('resolution') as 'raw' | '5m' | '1h' | 'auto' | undefined;
    return c.json(
      options.store.read(name, labels, { since: now - since.value.ms, until: now, resolution: resolution ?? 'auto' }),
    );
  });
  return app;
}
