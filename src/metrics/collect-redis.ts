// Redis metrics for one collection round, from INFO plus a measured PING round trip.
import { connectRedis, keyspaceKeys, memoryLimit, parseInfoFields, type RedisTargetConfig } from '../adapters/redis.js';
import type { MetricValue } from './types.js';

export interface RedisCounters {
  hits: number;
  misses: number;
}

/** Pure: INFO (all sections) + latency + the previous round's counters → metric values. */
export function redisMetrics(
  target: string,
  info: Record<string, string>,
  latencyMs: number,
  previous: RedisCounters | undefined,
  hostMemory: number,
): { values: MetricValue[]; counters: RedisCounters } {
  const labels = { target };
  const used = Number(info.used_memory ?? 0);
  const maxmemory = Number(info.maxmemory ?? 0);
  const system = Number(info.total_system_memory ?? 0) || hostMemory;
  const { limitBytes } = memoryLimit({ maxmemory, systemMemory: system });
  const counters = { hits: Number(info.keyspace_hits ?? 0), misses: Number(info.keyspace_misses ?? 0) };
  const values: MetricValue[] = [
    { name: 'redis_memory_used_bytes', labels, value: used },
    { name: 'redis_memory_max_bytes', labels, value: limitBytes },
    { name: 'redis_latency_seconds', labels, value: latencyMs / 1000 },
    { name: 'redis_keys', labels, value: keyspaceKeys(info) },
    { name: 'redis_evicted_keys_total', labels, value: Number(info.evicted_keys ?? 0) },
    { name: 'redis_connected_replicas', labels, value: Number(info.connected_slaves ?? 0) },
  ];
  if (limitBytes > 0) values.push({ name: 'redis_memory_used_ratio', labels, value: used / limitBytes });
  // Hit rate over the interval; after a restart (counters went down) or on the first round, since start.
  const restarted = previous !== undefined && (counters.hits < previous.hits || counters.misses < previous.misses);
  const base = previous && !restarted ? previous : { hits: 0, misses: 0 };
  const hits = counters.hits - base.hits;
  const lookups = hits + (counters.misses - base.misses);
  // No lookups: no hit rate (a gap), never a false 0%.
  if (lookups > 0) values.push({ name: 'redis_hit_rate_ratio', labels, value: hits / lookups });
  for (const [key, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(key)) continue;
    const f = parseInfoFields(value);
    if (f.lag !== undefined)
      values.push({
        name: 'redis_replica_lag_seconds',
        labels: { target, replica: `${f.ip}:${f.port}` },
        value: Number(f.lag),
      });
  }
  return { values, counters };
}

export async function collectRedis(
  target: RedisTargetConfig,
  previous: RedisCounters | undefined,
  hostMemory: number,
  timeoutMs: number,
): Promise<{ values: MetricValue[]; counters: RedisCounters }> {
  const conn = await connectRedis(target, { connectTimeoutMs: timeoutMs, commandTimeoutMs: timeoutMs });
  try {
    const info = await conn.info('everything').catch(() => conn.info());
    const pings = [await conn.ping(), await conn.ping(), await conn.ping()].sort((a, b) => a - b);
    return redisMetrics(conn.target, info, pings[1]!, previous, hostMemory);
  } finally {
    await conn.close();
  }
}
