// Alert rules: the spec's thresholds are the built-in rules; policy `alerts.rules` adds rules,
// changes them by name, or removes them with {enabled: false}. Pure: the policy arrives resolved (and
// validated: a new rule has a metric and a condition), so nothing here parses or can be invalid.
import { formatDuration } from '../policy/phrases.js';
import type { BuiltInAlertRule, Policy } from '../policy/schema.js';
import { Threshold } from '../policy/values.js';

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

type BuiltIn = Omit<AlertRule, 'name' | 'forMs' | 'repeatMs'> & { forMs?: number };

const below1 = new Threshold('< 1', '<', 1, 'count');
const above0 = new Threshold('> 0', '>', 0, 'count');

/** The spec's rules by name; `satisfies` keeps this list and BUILT_IN_ALERT_RULES (what the policy accepts) equal. */
function builtInRules(policy: Policy): Array<BuiltIn & { name: BuiltInAlertRule }> {
  const cache = policy.cache.metrics.alerts;
  const host = policy.server.monitoring.alerts;
  const lagMs = policy.cache.replication.max_lag.ms;
  const rules = {
    redis_hit_rate: {
      metric: 'redis_hit_rate_ratio',
      condition: cache.hit_rate,
      class: 'maintenance',
      title: 'Redis hit rate',
    },
    redis_memory: {
      metric: 'redis_memory_used_ratio',
      condition: cache.memory,
      class: 'maintenance',
      title: 'Redis memory',
    },
    redis_latency: {
      metric: 'redis_latency_seconds',
      condition: cache.latency,
      class: 'maintenance',
      title: 'Redis latency',
    },
    redis_replica_lag: {
      metric: 'redis_replica_lag_seconds',
      condition: new Threshold(`> ${formatDuration(lagMs)}`, '>', lagMs, 'ms'),
      class: 'maintenance',
      title: 'Redis replica lag',
    },
    host_disk: { metric: 'host_disk_used_ratio', condition: host.disk, class: 'maintenance', title: 'Disk usage' },
    host_memory: {
      metric: 'host_memory_used_ratio',
      condition: host.memory,
      class: 'maintenance',
      title: 'Host memory',
    },
    host_cpu: { metric: 'host_cpu_busy_ratio', condition: host.cpu, class: 'maintenance', title: 'CPU load' },
    service_down: { metric: 'host_service_up', condition: below1, class: 'maintenance', title: 'Service down' },
    target_down: { metric: 'drydock_target_up', condition: below1, class: 'maintenance', title: 'Target unreachable' },
    // Reported by the backup tasks as metric samples; a failure alerts at once (backup.monitoring.alerts.failure).
    backup_failed: {
      metric: 'backup_failed',
      condition: above0,
      class: 'maintenance',
      title: 'Backup failed',
      forMs: 0,
    },
    backup_size_change: {
      metric: 'backup_size_change_ratio',
      condition: policy.backup.monitoring.alerts.size_change,
      class: 'maintenance',
      title: 'Backup size change',
      forMs: 0,
    },
  } satisfies Record<BuiltInAlertRule, BuiltIn>;
  return Object.entries(rules).map(([name, rule]) => ({ ...rule, name: name as BuiltInAlertRule }));
}

export function alertRules(policy: Policy): AlertRule[] {
  const forMs = policy.alerts.for.ms;
  const repeatMs = policy.alerts.repeat.ms;
  const rules = new Map<string, AlertRule>();
  for (const r of builtInRules(policy)) rules.set(r.name, { ...r, forMs: r.forMs ?? forMs, repeatMs });
  for (const [name, o] of Object.entries(policy.alerts.rules)) {
    if (!o.enabled) {
      rules.delete(name);
      continue;
    }
    const base = rules.get(name);
    // The schema guarantees a new rule (not built in) names its metric and condition.
    rules.set(name, {
      name,
      metric: o.metric ?? base!.metric,
      condition: o.condition ?? base!.condition,
      forMs: o.for?.ms ?? base?.forMs ?? forMs,
      repeatMs: o.repeat?.ms ?? base?.repeatMs ?? repeatMs,
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
