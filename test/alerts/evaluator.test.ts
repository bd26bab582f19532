import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import { Silences, componentsForResources } from '../../src/alerts/silences.js';
import { fixedClock } from '../../src/clock.js';
import { MetricsCollector } from '../../src/metrics/collector.js';
import { SqliteAlertStore } from '../../src/store/sqlite/alerts.js';
import { SqliteMetricsStore } from '../../src/store/sqlite/metrics.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/open.js';
import { freePort, startRedis } from '../helpers/redis-server.js';
import { policyFrom } from '../tasks/cache/task-context.js';
import { startHttpSink, type HttpSink } from './http-sink.js';

const MIN = 60_000;
let sink: HttpSink;
beforeAll(async () => {
  sink = await startHttpSink();
});
afterAll(async () => {
  await sink.close();
});

function setup(policyInput: Parameters<typeof policyFrom>[0] = {}) {
  const db: SqliteDatabase = openSqlite(':memory:');
  const clock = fixedClock(new Date('2026-11-26T12:00:00Z'));
  const policy = policyFrom({
    channels: { log: { type: 'log' }, ops: { type: 'log' } },
    ...policyInput,
    alerts: { channels: ['ops'], ...(policyInput.alerts ?? {}) },
  });
  const store = new SqliteAlertStore(db);
  const silences = new Silences(store, clock);
  const evaluator = new AlertEvaluator({ store, policy, channels: new Map([['ops', sink.channel]]), silences, clock });
  const observe = (value: number, target = '127.0.0.1:6379') =>
    evaluator.evaluate({
      at: clock.now().getTime(),
      samples: [{ name: 'redis_memory_used_ratio', labels: { target }, value: value / 100 }],
    });
  return { db, clock, policy, store, silences, evaluator, observe };
}

describe('AlertEvaluator with SQLite state and a real HTTP channel', () => {
  it('fires after `for`, sends once, repeats, resolves, and keeps the history', async () => {
    sink.received.length = 0;
    const { db, clock, store, observe } = setup({ alerts: { for: '5 minutes', repeat: '1 hour' } });
    for (let minute = 0; minute <= 70; minute += 1) {
      await observe(95);
      clock.advance(MIN);
    }
    await observe(40);
    expect(sink.received.map((m) => m.kind)).toEqual(['alert.firing', 'alert.repeat', 'alert.resolved']);
    expect(sink.received[0]!.subject).toBe('[FIRING] Redis memory: 127.0.0.1:6379');
    expect(sink.received[0]!.text).toContain(
      'Redis memory: 127.0.0.1:6379 at 95.0% (alert when > 90%) since 2026-11-26T12:00:00.000Z',
    );
    expect(sink.received[2]!.subject).toBe('[RESOLVED] Redis memory: 127.0.0.1:6379');
    const history = store.history({ rule: 'redis_memory' }).reverse();
    expect(history.map((h) => `${h.event}:${h.toStatus ?? h.message.split(':')[0]}`)).toEqual([
      'transition:pending',
      'transition:firing',
      'sent:firing via ops',
      'sent:repeat via ops',
      'transition:inactive',
      'sent:resolved via ops',
    ]);
    db.close();
  });

  it('holds alerts of a component while a maintenance run silences it and sends after the run lifts the silence; security alerts go through', async () => {
    sink.received.length = 0;
    const { db, clock, silences, evaluator, policy, observe } = setup({
      alerts: {
        for: '0',
        rules: { redis_intrusion: { metric: 'redis_rejected_auth', condition: '> 0', class: 'security', for: '0' } },
      },
    });
    const [component] = componentsForResources(['redis:127.0.0.1:6379'], policy);
    silences.begin(component!, { reason: 'maintenance run cache.eviction', runId: 42 });
    expect(silences.isSilenced('redis:127.0.0.1:6379', clock.now())).toBe(true);
    expect(silences.isSilenced('redis:10.0.0.9:6379', clock.now())).toBe(false);
    await observe(95);
    await observe(95, '10.0.0.9:6379'); // another Redis is not covered
    const intrusion = () =>
      evaluator.evaluate({
        at: clock.now().getTime(),
        samples: [{ name: 'redis_rejected_auth', labels: { target: '127.0.0.1:6379' }, value: 3 }],
      });
    await intrusion();
    expect(sink.received.map((m) => `${m.kind} ${(m.data.labels as Record<string, string>).target}`)).toEqual([
      'alert.firing 10.0.0.9:6379',
      'alert.firing 127.0.0.1:6379',
    ]);
    expect(sink.received[1]!.data.rule).toBe('redis_intrusion');
    clock.advance(MIN);
    await observe(95);
    await observe(95, '10.0.0.9:6379');
    await intrusion();
    expect(sink.received).toHaveLength(2);
    expect(silences.liftRun(42)).toBe(1);
    clock.advance(MIN);
    await observe(95);
    await observe(95, '10.0.0.9:6379');
    await intrusion();
    expect(sink.received.map((m) => m.kind)).toEqual(['alert.firing', 'alert.firing', 'alert.firing']);
    expect(sink.received[2]!.data.rule).toBe('redis_memory');
    db.close();
  });

  it('lets a windows source silence components', async () => {
    sink.received.length = 0;
    const { db, silences, observe } = setup({ alerts: { for: '0' } });
    silences.addSource((component) => (component.startsWith('redis:') ? 'maintenance window 7' : null));
    await observe(99);
    expect(sink.received).toHaveLength(0);
    db.close();
  });

  it('alerts on an unreachable Redis by name, from a real collection round, and resolves when it answers again', async () => {
    sink.received.length = 0;
    const { db, clock, policy, evaluator } = setup({ alerts: { for: '0' } });
    const metrics = new SqliteMetricsStore(db);
    const port = await freePort();
    const collector = new MetricsCollector({
      store: metrics,
      policy,
      clock,
      timeoutMs: 500,
      targets: { host: false, redis: [{ host: '127.0.0.1', port }], postgres: [] },
      onRound: async (report) => {
        await evaluator.evaluate(report);
      },
    });
    await collector.collectOnce();
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]!.subject).toBe(`[FIRING] Target unreachable: redis 127.0.0.1:${port}`);
    expect(sink.received[0]!.text).toContain(`Redis at 127.0.0.1:${port} is unreachable`);
    clock.advance(MIN);
    await collector.collectOnce();
    expect(sink.received).toHaveLength(1);
    const redis = await startRedis([], port);
    try {
      clock.advance(MIN);
      const report = await collector.collectOnce();
      expect(report.targets[0]!.up).toBe(true);
      expect(sink.received.map((m) => m.kind)).toEqual(['alert.firing', 'alert.resolved']);
      expect(sink.received[1]!.subject).toBe(`[RESOLVED] Target unreachable: redis 127.0.0.1:${port}`);
    } finally {
      await redis.stop();
    }
    db.close();
  });

  it('no data is not 0 %: a gap resets pending, so two single misses minutes apart never fire', async () => {
    sink.received.length = 0;
    const { db, clock, store, evaluator } = setup({ alerts: { for: '5 minutes' } });
    const hitRate = (value: number | null) =>
      evaluator.evaluate({
        at: clock.now().getTime(),
        samples: value === null ? [] : [{ name: 'redis_hit_rate_ratio', labels: { target: '127.0.0.1:6379' }, value }],
      });
    // A miss, then 3 rounds without lookups (no point), then another miss, and so on for 20 minutes.
    for (let minute = 0; minute < 20; minute += 1) {
      await hitRate(minute % 4 === 0 ? 0 : null);
      clock.advance(MIN);
    }
    expect(sink.received).toEqual([]);
    // Each miss made it pending; each gap after it started it over.
    const history = store.history({ rule: 'redis_hit_rate' }).reverse();
    expect(history.map((h) => h.toStatus)).toEqual(Array(5).fill(['pending', 'inactive']).flat());
    // Sustained traffic with a low hit rate still fires after `for`.
    for (let minute = 0; minute <= 5; minute += 1) {
      await hitRate(0.5);
      clock.advance(MIN);
    }
    expect(sink.received.map((m) => m.kind)).toEqual(['alert.firing']);
    expect(sink.received[0]!.text).toContain('at 50.0% (alert when < 80%)');
    db.close();
  });

  it('a firing alert whose series stops ends with a "no data" message, not a false recovery', async () => {
    sink.received.length = 0;
    const { db, clock, store, evaluator, observe } = setup({ alerts: { for: '0' } });
    await observe(95);
    clock.advance(MIN);
    await evaluator.evaluate({ at: clock.now().getTime(), samples: [] });
    expect(sink.received.map((m) => m.kind)).toEqual(['alert.firing']);
    clock.advance(MIN);
    await evaluator.evaluate({ at: clock.now().getTime(), samples: [] });
    expect(sink.received.map((m) => m.kind)).toEqual(['alert.firing', 'alert.resolved']);
    expect(sink.received[1]!.text).toContain('no data');
    expect(sink.received[1]!.text).not.toContain('back within');
    expect(store.states({ rule: 'redis_memory' })[0]!.status).toBe('inactive');
    db.close();
  });
});
