import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { redisMetrics } from '../../src/metrics/collect-redis.js';
import { MetricsCollector } from '../../src/metrics/collector.js';
import { renderPrometheus } from '../../src/metrics/prometheus.js';
import { metricsRoutes } from '../../src/metrics/routes.js';
import { SqliteMetricsStore } from '../../src/store/sqlite/metrics.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { policyFrom } from '../tasks/cache/task-context.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;
const dirs: string[] = [];
const servers: TestRedis[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-prom-'));
  dirs.push(dir);
  const file = join(dir, 'metrics.txt');
  writeFileSync(file, text);
  try {
    const { stdout, stderr } = await run('sh', ['-c', `promtool check metrics < ${file}`]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('redisMetrics (pure)', () => {
  const info = {
    used_memory: String(GiB),
    maxmemory: '0',
    total_system_memory: String(8 * GiB),
    keyspace_hits: '90',
    keyspace_misses: '10',
    db0: 'keys=5,expires=0',
  };
  it('measures maxmemory 0 against host memory', () => {
    const { values } = redisMetrics('r:1', info, 0.5, undefined, 4 * GiB);
    expect(values.find((v) => v.name === 'redis_memory_used_ratio')!.value).toBe(0.125);
    expect(values.find((v) => v.name === 'redis_memory_max_bytes')!.value).toBe(8 * GiB);
    expect(values.find((v) => v.name === 'redis_keys')!.value).toBe(5);
  });
  it('computes the hit rate over the interval, and leaves a gap when nothing was looked up', () => {
    const first = redisMetrics('r:1', info, 1, undefined, GiB);
    expect(first.values.find((v) => v.name === 'redis_hit_rate_ratio')!.value).toBe(0.9);
    const second = redisMetrics(
      'r:1',
      { ...info, keyspace_hits: '100', keyspace_misses: '50' },
      1,
      first.counters,
      GiB,
    );
    expect(second.values.find((v) => v.name === 'redis_hit_rate_ratio')!.value).toBe(0.2);
    const idle = redisMetrics('r:1', { ...info, keyspace_hits: '100', keyspace_misses: '50' }, 1, second.counters, GiB);
    expect(idle.values.find((v) => v.name === 'redis_hit_rate_ratio')).toBeUndefined();
  });
});

describe('renderPrometheus', () => {
  it('writes HELP and TYPE once per family and escapes label values', async () => {
    const text = renderPrometheus([
      { name: 'redis_keys', labels: { target: 'a:1' }, value: 3 },
      { name: 'redis_keys', labels: { target: 'b"\\\n:2' }, value: 4 },
      { name: 'redis_evicted_keys_total', labels: { target: 'a:1' }, value: 0 },
    ]);
    expect(text.match(/# TYPE redis_keys gauge/g)).toHaveLength(1);
    expect(text).toContain('# TYPE redis_evicted_keys_total counter');
    expect(text).toContain('redis_keys{target="b\\"\\\\\\n:2"} 4');
    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.ok).toBe(true);
  });
});

describe('MetricsCollector against real Redis and PostgreSQL', () => {
  it('collects host, Redis and PostgreSQL metrics that promtool accepts, served on /metrics', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteMetricsStore(db);
    const policy = policyFrom({
      targets: {
        redis: { host: '127.0.0.1', port: 6379 },
        postgres: { host: '127.0.0.1', port: 5432, database: 'postgres', user: 'postgres' },
      },
      server: { health_check: { services: [{ name: 'redis', tcp: '127.0.0.1:6379' }] } },
    });
    const collector = new MetricsCollector({ store, policy });
    const report = await collector.collectOnce();
    expect(report.targets.every((t) => t.up)).toBe(true);
    const names = new Set(report.samples.map((s) => s.name));
    for (const name of [
      'host_disk_used_ratio',
      'host_memory_used_ratio',
      'host_cpu_busy_ratio',
      'host_service_up',
      'redis_memory_used_ratio',
      'redis_latency_seconds',
      'redis_keys',
      'pg_connections',
      'pg_database_size_bytes',
      'pg_longest_transaction_seconds',
    ]) {
      expect(names, name).toContain(name);
    }
    expect(report.samples.find((s) => s.name === 'redis_keys')!.retentionMs).toBe(30 * 86_400_000);
    expect(report.samples.find((s) => s.name === 'pg_connections')!.retentionMs).toBe(90 * 86_400_000);
    const response = await metricsRoutes({ store }).request('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await response.text();
    expect(text).toContain('# HELP redis_memory_used_ratio');
    expect(text).toMatch(/^drydock_target_up\{kind="postgres",target="127.0.0.1:5432\/postgres"\} 1$/m);
    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.ok).toBe(true);
    db.close();
  });

  it('turns an unreachable target into a gap and an error naming it, and recovers when it comes back', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteMetricsStore(db);
    const redisPort = await freePort();
    const pgPort = await freePort();
    const clock = fixedClock(new Date('2026-11-26T12:00:00Z'));
    const policy = policyFrom({});
    const collector = new MetricsCollector({
      store,
      policy,
      clock,
      timeoutMs: 1000,
      targets: {
        host: false,
        redis: [{ host: '127.0.0.1', port: redisPort }],
        postgres: [{ ...policy.targets.postgres, port: pgPort, database: 'postgres' }],
      },
    });
    const down = await collector.collectOnce();
    expect(down.targets.map((t) => [t.kind, t.up])).toEqual(
      expect.arrayContaining([
        ['redis', false],
        ['postgres', false],
      ]),
    );
    expect(down.targets.find((t) => t.kind === 'redis')!.error).toContain(`127.0.0.1:${redisPort}`);
    expect(down.targets.find((t) => t.kind === 'postgres')!.error).toContain(`127.0.0.1:${pgPort}`);
    expect(down.samples.filter((s) => s.name !== 'drydock_target_up')).toEqual([]);

    const redis = await startRedis([]);
    servers.push(redis);
    const revived = new MetricsCollector({
      store,
      policy,
      clock,
      timeoutMs: 1000,
      targets: { host: false, redis: [{ host: '127.0.0.1', port: redis.port }], postgres: [] },
    });
    clock.advance(60_000);
    await revived.collectOnce();
    redis.pause();
    clock.advance(60_000);
    const paused = await revived.collectOnce();
    expect(paused.targets[0]).toMatchObject({ up: false });
    // /metrics serves the gap: drydock_target_up 0 and none of the old values as if current.
    const served = await (await metricsRoutes({ store, clock }).request('/metrics')).text();
    expect(served).toContain(`drydock_target_up{kind="redis",target="127.0.0.1:${redis.port}"} 0`);
    expect(served).not.toMatch(new RegExp(`^redis_\\w+\\{[^}]*target="127\\.0\\.0\\.1:${redis.port}"`, 'm'));
    redis.resume();
    clock.advance(60_000);
    const back = await revived.collectOnce();
    expect(back.targets[0]).toMatchObject({ up: true });
    const again = await (await metricsRoutes({ store, clock }).request('/metrics')).text();
    expect(again).toMatch(new RegExp(`^redis_keys\\{target="127\\.0\\.0\\.1:${redis.port}"\\} \\d+$`, 'm'));
    const name = `127.0.0.1:${redis.port}`;
    const keys = store.read(
      'redis_keys',
      { target: name },
      { since: clock.now().getTime() - 3600_000, until: clock.now().getTime() },
    );
    // Three rounds, one gap in the middle.
    expect(keys.points.map((p) => p.at)).toEqual([clock.now().getTime() - 120_000, clock.now().getTime()]);
    const up = store.read(
      'drydock_target_up',
      { kind: 'redis', target: name },
      { since: 0, until: clock.now().getTime() },
    );
    expect(up.points.map((p) => p.value)).toEqual([1, 0, 1]);
    db.close();
  }, 30_000);

  it('runs on an interval without overlapping and stops cleanly', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteMetricsStore(db);
    let rounds = 0;
    const collector = new MetricsCollector({
      store,
      policy: policyFrom({}),
      targets: { host: false, redis: [{ host: '127.0.0.1', port: 6379 }], postgres: [] },
      onRound: () => {
        rounds += 1;
      },
    });
    collector.start(100);
    await new Promise((r) => setTimeout(r, 450));
    await collector.stop();
    const after = rounds;
    expect(after).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 250));
    expect(rounds).toBe(after);
    db.close();
  });
});
