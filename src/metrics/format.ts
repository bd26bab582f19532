// Text for `drydock metrics [SERIES] [--since 24h]`.
import type { Point, SqliteMetricsStore } from '../store/sqlite/metrics.js';
import { familyOf } from './catalog.js';

export interface SeriesSelector {
  name: string;
  labels: Record<string, string>;
}

/** `redis_keys` or `redis_keys{target="127.0.0.1:6379"}`. Pure. */
export function parseSeriesSelector(text: string): SeriesSelector | null {
  const match = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/.exec(text);
  if (!match) return null;
  const labels: Record<string, string> = {};
  const body = match[2] ?? '';
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  let consumed = 0;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
    consumed = re.lastIndex;
  }
  if (body.trim() && consumed !== body.length) return null;
  return { name: match[1]!, labels };
}

const fmt = (n: number) => (Math.abs(n) >= 1e6 ? n.toExponential(3) : Number(n.toFixed(3)).toString());
const labelText = (labels: Record<string, string>) => {
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return inner ? `{${inner}}` : '';
};

export function formatSeriesList(store: SqliteMetricsStore, now: number, name?: string): string {
  const series = store.series(name);
  if (series.length === 0) return name ? `No series named ${name}.\n` : 'No metrics collected yet.\n';
  return `${series
    .map((s) => {
      const age = s.lastAt === null ? 'never' : `${Math.round((now - s.lastAt) / 1000)} s ago`;
      const unit = familyOf(s.name).unit ?? '';
      return `${`${s.name}${labelText(s.labels)}`.padEnd(70)} ${s.lastValue === null ? '-' : fmt(s.lastValue)}${unit ? ` ${unit}` : ''}  (${age})`;
    })
    .join('\n')}\n`;
}

export function formatPoints(points: readonly Point[], resolution: string): string {
  if (points.length === 0) return 'No points in that range.\n';
  const rows = points.map(
    (p) =>
      `${new Date(p.at).toISOString().replace('.000Z', 'Z')}  ${fmt(p.value)}${resolution === 'raw' ? '' : `  (min ${fmt(p.min)}, max ${fmt(p.max)})`}`,
  );
  return `resolution: ${resolution}, ${points.length} point(s)\n${rows.join('\n')}\n`;
}
