// Collects host, Redis and PostgreSQL metrics every interval (the spec's "every 1 minute") into
// the store. A target that cannot be reached gets drydock_target_up 0 and no other points (a
// gap), and its error is reported to the round's listener (the alerts); the collector never
// throws out of a round and picks the target up again as soon as it answers.
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import type { PostgresTarget } from '../adapters/postgres.js';
import { redisTargetName, type RedisTargetConfig } from '../adapters/redis.js';
import { systemClock, type Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { Sample, SqliteMetricsStore } from '../store/sqlite/metrics.js';
import { familyOf } from './catalog.js';
import { HostCollector } from './collect-host.js';
import { backupRepositoryExists, collectBackup } from './collect-backup.js';
import { collectPostgres, postgresTargetName } from './collect-postgres.js';
import { collectRedis, type RedisCounters } from './collect-redis.js';
import type { MetricValue } from './types.js';

export type TargetKind = 'host' | 'redis' | 'postgres' | 'backup';

export interface TargetStatus {
  kind: TargetKind;
  target: string;
  up: boolean;
  error?: string;
}

export interface RoundReport {
  at: number;
  durationMs: number;
  samples: Sample[];
  targets: TargetStatus[];
}

export interface CollectorTargets {
  host: boolean;
  /** Backup outcomes from the backup repository (backup.repository.path). */
  backup: boolean;
  redis: RedisTargetConfig[];
  postgres: PostgresTarget[];
}

export interface MetricsCollectorOptions {
  store: SqliteMetricsStore;
  policy: Policy;
  clock?: Clock;
  targets?: Partial<CollectorTargets>;
  /** Per-target connect and command timeout. */
  timeoutMs?: number;
  onRound?: (report: RoundReport) => Promise<void> | void;
  log?: Logger;
}

function targetsFromPolicy(policy: Policy): CollectorTargets {
  return {
    host: true,
    backup: true,
    redis: [policy.targets.redis, ...policy.cache.metrics.extra_targets],
    postgres: [policy.targets.postgres],
  };
}

/**
 * Collection interval from the policy: the shorter of cache.metrics.collection and
 * server.monitoring.metrics.collection (the schema accepts only "every N ..." there).
 */
export function collectionIntervalMs(policy: Policy): number {
  return Math.min(policy.cache.metrics.collection.ms, policy.server.monitoring.metrics.collection.ms);
}

function retentionsFromPolicy(policy: Policy): Record<'cache' | 'server', number> {
  return { cache: policy.cache.metrics.retention.ms, server: policy.server.monitoring.metrics.retention.ms };
}

export class MetricsCollector {
  private readonly clock: Clock;
  private readonly targets: CollectorTargets;
  private readonly timeoutMs: number;
  private readonly host: HostCollector | null;
  private readonly counters = new Map<string, RedisCounters>();
  private readonly retention: Record<'cache' | 'server', number>;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private lastCompactBucket = -1;

  constructor(private readonly options: MetricsCollectorOptions) {
    this.clock = options.clock ?? systemClock;
    this.targets = { ...targetsFromPolicy(options.policy), ...options.targets };
    this.timeoutMs = options.timeoutMs ?? 5000;
    const health = options.policy.server.health_check;
    this.host = this.targets.host ? new HostCollector({ mounts: health.mounts, services: health.services }) : null;
    this.retention = retentionsFromPolicy(options.policy);
  }

  private toSamples(values: MetricValue[], at: number): Sample[] {
    return values.map((v) => ({ ...v, at, retentionMs: this.retention[familyOf(v.name).scope] }));
  }

  async collectOnce(): Promise<RoundReport> {
    const at = this.clock.now().getTime();
    const started = performance.now();
    const statuses: TargetStatus[] = [];
    const values: MetricValue[] = [];
    const attempt = async (kind: TargetKind, target: string, work: () => Promise<MetricValue[]>) => {
      const slot = statuses.length;
      statuses.push({ kind, target, up: false });
      try {
        values.push(...(await work()));
        statuses[slot] = { kind, target, up: true };
        values.push({ name: 'drydock_target_up', labels: { kind, target }, value: 1 });
      } catch (error) {
        statuses[slot] = { kind, target, up: false, error: describeError(error) };
        values.push({ name: 'drydock_target_up', labels: { kind, target }, value: 0 });
        this.options.log?.warn({ kind, target, error: describeError(error) }, 'metrics target unreachable');
      }
    };
    const jobs: Array<Promise<void>> = [];
    if (this.host) jobs.push(attempt('host', 'localhost', () => this.host!.collect()));
    for (const t of this.targets.redis) {
      const name = redisTargetName(t);
      jobs.push(
        attempt('redis', name, async () => {
          const { values: v, counters } = await collectRedis(t, this.counters.get(name), totalmem(), this.timeoutMs);
          this.counters.set(name, counters);
          return v;
        }),
      );
    }
    for (const t of this.targets.postgres)
      jobs.push(attempt('postgres', postgresTargetName(t), () => collectPostgres(t, this.timeoutMs)));
    if (this.targets.backup && backupRepositoryExists(this.options.policy))
      jobs.push(
        attempt('backup', this.options.policy.backup.repository.path, async () => collectBackup(this.options.policy)),
      );
    await Promise.all(jobs);
    const samples = this.toSamples(values, at);
    try {
      this.options.store.write(samples);
      const bucket = Math.floor(at / 300_000);
      if (bucket !== this.lastCompactBucket) {
        this.lastCompactBucket = bucket;
        this.options.store.compact(at);
      }
    } catch (error) {
      this.options.log?.error({ error: describeError(error) }, 'metrics could not be stored');
    }
    const report: RoundReport = { at, durationMs: performance.now() - started, samples, targets: statuses };
    try {
      await this.options.onRound?.(report);
    } catch (error) {
      this.options.log?.error({ error: describeError(error) }, 'metrics round listener failed');
    }
    return report;
  }

  /** Collects now and then every interval; rounds never overlap. */
  start(intervalMs = collectionIntervalMs(this.options.policy)): void {
    if (this.timer) return;
    const tick = () => {
      if (this.running) return;
      this.running = this.collectOnce().finally(() => {
        this.running = null;
      });
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
