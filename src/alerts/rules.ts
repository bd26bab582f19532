// Alert rules: the spec's thresholds are the built-in rules; policy `alerts.rules` adds rules,
// changes them by name, or removes them with {enabled: false}. Pure.
import { DrydockError } from '../errors.js';
import { formatDuration, parseDuration, parseThreshold, type Threshold } from '../policy/phrases.js';
import type { Policy } from '../policy/schema.js';

export type AlertClass = 'maintenance' | 'security';

export interface AlertRule {
  name: string;
  metric: string;
  condition: Threshold;
  forMs: number;
  repeatMs: number;
  class: AlertClass;
  /** What the alert is about, e.g. "Redis memory". */
  title: string;
}

const threshold = (text: string, where: string): Threshold => {
  const parsed = parseThreshold(text);
  if (!parsed.ok)
    throw new DrydockError('CONFIG_INVALID', `${where}: expected ${parsed.expected}, got ${JSON.stringify(text)}`);
  return parsed.value;
};

const duration = (text: string, where: string): number => {
  const parsed = parseDuration(text);
  if (!parsed.ok)
    throw new DrydockError('CONFIG_INVALID', `${where}: expected ${parsed.expected}, got ${JSON.stringify(text)}`);
  return parsed.value;
};

export function builtInRules(policy: Policy): Array<Omit<AlertRule, 'forMs' | 'repeatMs'> & { forMs?: number }> {
  const cache = policy.cache.metrics.alerts;
  const host = policy.server.monitoring.alerts;
  const lagMs = duration(policy.cache.replication.max_lag, 'cache.replication.max_lag');
  return [
    {
      name: 'redis_hit_rate',
      metric: 'redis_hit_rate_ratio',
      condition: threshold(cache.hit_rate, 'cache.metrics.alerts.hit_rate'),
      class: 'maintenance',
      title: 'Redis hit rate',
    },
    {
      name: 'redis_memory',
      metric: 'redis_memory_used_ratio',
      condition: threshold(cache.memory, 'cache.metrics.alerts.memory'),
      class: 'maintenance',
      title: 'Redis memory',
    },
    {
      name: 'redis_latency',
      metric: 'redis_latency_seconds',
      condition: threshold(cache.latency, 'cache.metrics.alerts.latency'),
      class: 'maintenance',
      title: 'Redis latency',
    },
    {
      name: 'redis_replica_lag',
      metric: 'redis_replica_lag_seconds',
      condition: { op: '>', value: lagMs, unit: 'ms', text: `> ${formatDuration(lagMs)}` },
      class: 'maintenance',
      title: 'Redis replica lag',
    },
    {
      name: 'host_disk',
      metric: 'host_disk_used_ratio',
      condition: threshold(host.disk, 'server.monitoring.alerts.disk'),
      class: 'maintenance',
      title: 'Disk usage',
    },
    {
      name: 'host_memory',
      metric: 'host_memory_used_ratio',
      condition: threshold(host.memory, 'server.monitoring.alerts.memory'),
      class: 'maintenance',
      title: 'Host memory',
    },
    {
      name: 'host_cpu',
      metric: 'host_cpu_busy_ratio',
      condition: threshold(host.cpu, 'server.monitoring.alerts.cpu'),
      class: 'maintenance',
      title: 'CPU load',
    },
    {
      name: 'service_down',
      metric: 'host_service_up',
      condition: threshold('< 1', 'service_down'),
      class: 'maintenance',
      title: 'Service down',
    },
    {
      name: 'target_down',
      metric: 'drydock_target_up',
      condition: threshold('< 1', 'target_down'),
      class: 'maintenance',
      title: 'Target unreachable',
    },
    // Reported by the backup tasks as metric samples; a failure alerts at once (backup.monitoring.alerts.failure).
    {
      name: 'backup_failed',
      metric: 'backup_failed',
      condition: threshold('> 0', 'backup_failed'),
      class: 'maintenance',
      title: 'Backup failed',
      forMs: 0,
    },
    {
      name: 'backup_size_change',
      metric: 'backup_size_change_ratio',
      condition: threshold(policy.backup.monitoring.alerts.size_change, 'backup.monitoring.alerts.size_change'),
      class: 'maintenance',
      title: 'Backup size change',
      forMs: 0,
    },
  ];
}

export function alertRules(policy: Policy): AlertRule[] {
  const forMs = duration(policy.alerts.for, 'alerts.for');
  const repeatMs = duration(policy.alerts.repeat, 'alerts.repeat');
  const rules = new Map<string, AlertRule>();
  for (const r of builtInRules(policy)) rules.set(r.name, { ...r, forMs: r.forMs ?? forMs, repeatMs });
  for (const [name, o] of Object.entries(policy.alerts.rules)) {
    const where = `alerts.rules.${name}`;
    if (!o.enabled) {
      rules.delete(name);
      continue;
    }
    const base = rules.get(name);
    if (!base && (!o.metric || !o.condition)) {
      throw new DrydockError('CONFIG_INVALID', `${where}: a new rule needs "metric" and "condition"`, {
        hint: `built-in rules: ${[...rules.keys()].join(', ')}`,
      });
    }
    rules.set(name, {
      name,
      metric: o.metric ?? base!.metric,
      condition: o.condition ? threshold(o.condition, `${where}.condition`) : base!.condition,
      forMs: o.for ? duration(o.for, `${where}.for`) : (base?.forMs ?? forMs),
      repeatMs: o.repeat ? duration(o.repeat, `${where}.repeat`) : (base?.repeatMs ?? repeatMs),
      class: o.class,
      title: o.summary ?? base?.title ?? name,
    });
  }
  return [...rules.values()];
}

/**
 * A metric in seconds against a threshold written in ms ("> 100ms") is compared in ms; a 0-1 ratio
 * against a threshold written in percent ("> 90%") is compared in percent.
 */
export function observedForRule(rule: Pick<AlertRule, 'metric' | 'condition'>, value: number): number {
  if (rule.condition.unit === 'ms' && rule.metric.endsWith('_seconds')) return value * 1000;
  if (rule.condition.unit === 'percent' && rule.metric.endsWith('_ratio')) return value * 100;
  return value;
}

/** The component an alert is about, which silences match: redis:<host:port>, postgres:<host:port/db>, host, host:service:<name>, backup. */
export function componentOf(metric: string, labels: Record<string, string>): string {
  if (metric === 'drydock_target_up') return labels.kind === 'host' ? 'host' : `${labels.kind}:${labels.target}`;
  if (metric.startsWith('redis_')) return `redis:${labels.target ?? ''}`;
  if (metric.startsWith('pg_')) return `postgres:${labels.target ?? ''}`;
  if (metric === 'host_service_up') return `host:service:${labels.service ?? ''}`;
  if (metric.startsWith('host_')) return 'host';
  if (metric.startsWith('backup_')) return 'backup';
  return metric;
}

/** A silence on "redis" covers every Redis; on "postgres:127.0.0.1:5432" every database there; "*" covers all. */
export function componentCovers(silenced: string, component: string): boolean {
  if (silenced === '*' || silenced === component) return true;
  return component.startsWith(`${silenced}:`) || component.startsWith(`${silenced}/`);
}
