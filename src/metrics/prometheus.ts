// Prometheus text exposition (format 0.0.4) of the latest value of every series: one # HELP and
// # TYPE per family, label values escaped. Written by hand because the values come from the
// store (shared by every Drydock instance), not from in-process counters.
import { familyOf } from './catalog.js';

export interface ExposedSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export function renderPrometheus(series: readonly ExposedSeries[]): string {
  const byFamily = new Map<string, ExposedSeries[]>();
  for (const s of series) {
    if (!METRIC_NAME.test(s.name)) continue;
    const list = byFamily.get(s.name) ?? [];
    list.push(s);
    byFamily.set(s.name, list);
  }
  const lines: string[] = [];
  for (const name of [...byFamily.keys()].sort()) {
    const family = familyOf(name);
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${name} ${family.type}`);
    for (const s of byFamily.get(name)!) {
      const labels = Object.entries(s.labels)
        .filter(([k]) => LABEL_NAME.test(k))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
