// Every metric family Drydock collects: help text and type for /metrics, and which retention it
// follows (cache metrics: cache.metrics.retention, 30 days; server and database metrics:
// server.monitoring.metrics.retention, 90 days).
export type MetricType = 'gauge' | 'counter';
export type MetricScope = 'cache' | 'server';

export interface MetricFamily {
  help: string;
  type: MetricType;
  scope: MetricScope;
  unit?: string;
}

const METRIC_FAMILIES: Record<string, MetricFamily> = {
  drydock_target_up: {
    help: '1 when the last collection from the target succeeded, 0 when it was unreachable.',
    type: 'gauge',
    scope: 'server',
  },
  host_disk_used_ratio: {
    help: 'Disk space used on the mount, 0-1 (used / (used + available), like df).',
    type: 'gauge',
    scope: 'server',
  },
  host_disk_used_bytes: { help: 'Disk space used on the mount, bytes.', type: 'gauge', scope: 'server', unit: 'bytes' },
  host_disk_size_bytes: {
    help: 'Size of the file system on the mount, bytes.',
    type: 'gauge',
    scope: 'server',
    unit: 'bytes',
  },
  host_memory_used_ratio: {
    help: 'Host memory in use, (total - available) / total, 0-1.',
    type: 'gauge',
    scope: 'server',
  },
  host_memory_total_bytes: { help: 'Host memory, bytes.', type: 'gauge', scope: 'server', unit: 'bytes' },
  host_cpu_busy_ratio: {
    help: 'CPU busy time over the last collection interval, share of all cores, 0-1.',
    type: 'gauge',
    scope: 'server',
  },
  host_load1: { help: 'One-minute load average.', type: 'gauge', scope: 'server' },
  host_service_up: {
    help: '1 when the configured service is up (systemd unit active, process running, port open, URL answering), 0 when down.',
    type: 'gauge',
    scope: 'server',
  },
  redis_memory_used_bytes: {
    help: 'Memory Redis has allocated (INFO used_memory), bytes.',
    type: 'gauge',
    scope: 'cache',
    unit: 'bytes',
  },
  redis_memory_max_bytes: {
    help: 'The memory Redis is measured against: maxmemory, or host memory when maxmemory is 0.',
    type: 'gauge',
    scope: 'cache',
    unit: 'bytes',
  },
  redis_memory_used_ratio: {
    help: 'Redis used memory / maxmemory (/ host memory when maxmemory is 0), 0-1.',
    type: 'gauge',
    scope: 'cache',
  },
  redis_hit_rate_ratio: {
    help: 'Keyspace hits / (hits + misses) over the last collection interval, 0-1; absent when there were no lookups.',
    type: 'gauge',
    scope: 'cache',
  },
  redis_latency_seconds: {
    help: 'Round-trip time of a PING from Drydock, seconds (median of three).',
    type: 'gauge',
    scope: 'cache',
    unit: 's',
  },
  redis_keys: { help: 'Keys over all databases.', type: 'gauge', scope: 'cache' },
  redis_evicted_keys_total: {
    help: 'Keys Redis evicted because of maxmemory since it started.',
    type: 'counter',
    scope: 'cache',
  },
  redis_connected_replicas: { help: 'Replicas connected to this Redis.', type: 'gauge', scope: 'cache' },
  redis_replica_lag_seconds: {
    help: 'Seconds since the replica last acknowledged the replication stream.',
    type: 'gauge',
    scope: 'cache',
    unit: 's',
  },
  pg_connections: { help: 'Connections to the PostgreSQL server (pg_stat_activity).', type: 'gauge', scope: 'server' },
  pg_database_size_bytes: { help: 'Size of the database, bytes.', type: 'gauge', scope: 'server', unit: 'bytes' },
  pg_dead_tuples: {
    help: 'Dead tuples in the table (pg_stat_user_tables.n_dead_tup).',
    type: 'gauge',
    scope: 'server',
  },
  pg_longest_transaction_seconds: {
    help: 'Age of the oldest open transaction, seconds (0 when none).',
    type: 'gauge',
    scope: 'server',
    unit: 's',
  },
  pg_replication_lag_seconds: {
    help: 'Replay lag of each streaming replica (pg_stat_replication.replay_lag), seconds.',
    type: 'gauge',
    scope: 'server',
    unit: 's',
  },
  backup_failed: {
    help: '1 when the most recent backup attempt of this kind failed, 0 when it succeeded (from the backup repository).',
    type: 'gauge',
    scope: 'server',
  },
  backup_size_change_ratio: {
    help: 'Absolute size change of the newest backup of this kind against the one before, 0-1 (from the backup repository).',
    type: 'gauge',
    scope: 'server',
  },
};

export function familyOf(name: string): MetricFamily {
  return METRIC_FAMILIES[name] ?? { help: `Drydock metric ${name}.`, type: 'gauge', scope: 'server' };
}
