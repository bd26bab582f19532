import { describe, expect, it } from 'vitest';
import { alertRules, componentCovers, componentOf, observedForRule } from '../../src/alerts/rules.js';
import { parsePolicy } from '../../src/policy/load.js';
import { policyFrom } from '../tasks/cache/task-context.js';

describe('alertRules', () => {
  it("has the spec's thresholds as defaults", () => {
    const rules = Object.fromEntries(alertRules(policyFrom({})).map((r) => [r.name, r.condition.text]));
    expect(rules).toMatchObject({
      redis_hit_rate: '< 80%',
      redis_memory: '> 90%',
      redis_latency: '> 100ms',
      host_disk: '> 80%',
      host_memory: '> 85%',
      host_cpu: '> 90%',
      redis_replica_lag: '> 5 seconds',
    });
    const memory = alertRules(policyFrom({})).find((r) => r.name === 'redis_memory')!;
    expect(memory.forMs).toBe(5 * 60_000);
    expect(memory.repeatMs).toBe(4 * 3600_000);
  });
  it('lets the policy add, change and remove rules', () => {
    const rules = alertRules(
      policyFrom({
        alerts: {
          rules: {
            host_cpu: { enabled: false },
            host_disk: { condition: '> 95%', for: '1 minute' },
            pg_dead_tuples_high: { metric: 'pg_dead_tuples', condition: '> 100000', summary: 'Dead tuples' },
            auth_failures: { metric: 'auth_failures_total', condition: '> 0', class: 'security' },
          },
        },
      }),
    );
    const byName = Object.fromEntries(rules.map((r) => [r.name, r]));
    expect(byName.host_cpu).toBeUndefined();
    expect(byName.host_disk!.condition.text).toBe('> 95%');
    expect(byName.host_disk!.forMs).toBe(60_000);
    expect(byName.pg_dead_tuples_high!.title).toBe('Dead tuples');
    expect(byName.auth_failures!.class).toBe('security');
  });
  it('refuses a new rule without metric and condition when the policy is loaded', () => {
    expect(() => parsePolicy({ alerts: { rules: { mystery: { for: '1 minute' } } } })).toThrow(
      /alerts\.rules\.mystery: a new rule needs "metric".*\n.*alerts\.rules\.mystery: a new rule needs "condition"/,
    );
    // Overriding a built-in rule needs neither.
    const rules = alertRules(policyFrom({ alerts: { rules: { host_cpu: { for: '1 minute' } } } }));
    expect(rules.find((r) => r.name === 'host_cpu')).toMatchObject({ metric: 'host_cpu_busy_ratio', forMs: 60_000 });
  });
  it('compares a seconds metric against a threshold in ms', () => {
    const latency = alertRules(policyFrom({})).find((r) => r.name === 'redis_latency')!;
    expect(observedForRule(latency, 0.15)).toBe(150);
  });
});

describe('components', () => {
  it('names the component of a series and matches silences by prefix', () => {
    expect(componentOf('redis_memory_used_ratio', { target: '10.0.0.1:6379' })).toBe('redis:10.0.0.1:6379');
    expect(componentOf('drydock_target_up', { kind: 'postgres', target: 'db:5432/app' })).toBe('postgres:db:5432/app');
    expect(componentOf('host_disk_used_ratio', { mount: '/' })).toBe('host');
    expect(componentCovers('redis', 'redis:10.0.0.1:6379')).toBe(true);
    expect(componentCovers('postgres:db:5432', 'postgres:db:5432/app')).toBe(true);
    expect(componentCovers('redis:10.0.0.1:6379', 'redis:10.0.0.1:63790')).toBe(false);
    expect(componentCovers('*', 'host')).toBe(true);
  });
});

describe('silenceRun', () => {
  it('silences the components a task touches until its validation lifts it', async () => {
    const { openSqlite } = await import('../../src/store/sqlite/open.js');
    const { SqliteAlertStore } = await import('../../src/store/sqlite/alerts.js');
    const { Silences, silenceRun } = await import('../../src/alerts/silences.js');
    const { cacheEvictionTask } = await import('../../src/tasks/cache/eviction.js');
    const db = openSqlite(':memory:');
    const policy = policyFrom({});
    const silences = new Silences(new SqliteAlertStore(db));
    const lift = silenceRun(silences, cacheEvictionTask, policy, 7);
    expect(silences.reason('redis:127.0.0.1:6379', new Date())).toBe('maintenance run of cache.eviction (run 7)');
    expect(silences.isSilenced('host', new Date())).toBe(false);
    expect(lift()).toBe(1);
    expect(silences.isSilenced('redis:127.0.0.1:6379', new Date())).toBe(false);
    db.close();
  });
});
