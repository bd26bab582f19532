import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import type { ImplementedTask } from '../../src/engine/types.js';
import { schedule } from '../helpers/phrases.js';
import { activityPruneTask } from '../../src/tasks/drydock/activity-prune.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { freshDatabase } from '../helpers/pg.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function counting(
  id: string,
  frequency: string,
  counter: { n: number },
  extra: Partial<ImplementedTask> = {},
): ImplementedTask {
  return {
    id,
    title: id,
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: () => schedule(frequency, '03:00 UTC'),
    resources: () => [],
    execute: async () => {
      counter.n++;
    },
    validate: async () => ({ ok: true, checks: [] }),
    ...extra,
  };
}

let apps: TestApp[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const app of apps) await app.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  apps = [];
  dirs = [];
});

async function settle(app: TestApp): Promise<void> {
  for (let i = 0; i < 100 && app.daemon.activeRuns > 0; i++) await sleep(20);
}

describe('daemon', () => {
  it('runs each due slot once as a simulated day passes', async () => {
    const clock = fixedClock(new Date('2026-11-26T02:59:00Z'));
    const counter = { n: 0 };
    const app = await testApp({}, { clock, tasks: [counting('t.daily', 'daily', counter)] });
    apps.push(app);
    await app.daemon.register();
    await app.daemon.tick();
    expect(counter.n).toBe(0);
    // 02:59 + 3 days in 7-minute ticks ends at 02:58 on the 29th: slots on the 26th, 27th and 28th.
    for (let minute = 7; minute <= 3 * 24 * 60 - 1; minute += 7) {
      clock.advance(7 * 60_000);
      await app.daemon.tick();
      await settle(app);
    }
    expect(clock.now().toISOString() < '2026-11-29T03:00:00.000Z').toBe(true);
    expect(counter.n).toBe(3);
    const run = (await app.store.listRuns({ taskId: 't.daily' })).at(-1);
    expect(run).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
    expect(run!.slotAt!.toISOString()).toBe('2026-11-26T03:00:00.000Z');
  });

  it('lets only one of two daemons on one state file run a slot, and a restarted daemon never runs it again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-two-'));
    dirs.push(dir);
    const clock = fixedClock(new Date('2026-11-26T02:59:30Z'));
    const counter = { n: 0 };
    const make = async () => {
      const app = await testApp({}, { dir, clock, kind: 'daemon', tasks: [counting('t.daily', 'daily', counter)] });
      apps.push(app);
      await app.daemon.register();
      return app;
    };
    const [a, b] = [await make(), await make()];
    await Promise.all([a.daemon.tick(), b.daemon.tick()]);
    clock.set(new Date('2026-11-26T03:00:01Z'));
    await Promise.all([a.daemon.tick(), b.daemon.tick()]);
    await Promise.all([settle(a), settle(b)]);
    expect(counter.n).toBe(1);

    // A third daemon starting right after the slot (inside misfire_grace) sees it claimed.
    const c = await make();
    clock.set(new Date('2026-11-26T03:02:00Z'));
    await c.daemon.tick();
    await settle(c);
    expect(counter.n).toBe(1);
    expect(await a.store.listRuns({ taskId: 't.daily' })).toHaveLength(1);
  });

  it('catches up a slot missed while it was down only within misfire_grace', async () => {
    const counter = { n: 0 };
    const clock = fixedClock(new Date('2026-11-26T03:05:00Z'));
    const app = await testApp(
      { engine: { misfire_grace: '10 minutes' } },
      { clock, tasks: [counting('t.daily', 'daily', counter)] },
    );
    apps.push(app);
    await app.daemon.register();
    await app.daemon.tick();
    await settle(app);
    expect(counter.n).toBe(1);

    const late = { n: 0 };
    const clock2 = fixedClock(new Date('2026-11-26T04:00:00Z'));
    const app2 = await testApp(
      { engine: { misfire_grace: '10 minutes' } },
      { clock: clock2, tasks: [counting('t.daily', 'daily', late)] },
    );
    apps.push(app2);
    await app2.daemon.tick();
    await settle(app2);
    expect(late.n).toBe(0);
  });

  it('marks runs of a dead instance as interrupted, runs the clean-up, and schedules a retry', async () => {
    const cleaned: string[] = [];
    const counter = { n: 0 };
    const task = counting('t.cleanup', 'daily', counter, {
      recoverInterrupted: async () => {
        cleaned.push('dropped listings_pkey_ccnew');
        return ['dropped listings_pkey_ccnew'];
      },
    });
    const app = await testApp({}, { tasks: [task] });
    apps.push(app);
    // A real process that registered and then died: its pid is gone.
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    await app.store.registerInstance({
      id: 'daemon-dead',
      host: (await import('node:os')).hostname(),
      pid: deadPid,
      kind: 'daemon',
      startedAt: new Date(),
    });
    const orphan = await app.store.createRun({
      taskId: 't.cleanup',
      trigger: 'schedule',
      slotAt: null,
      attempt: 1,
      instanceId: 'daemon-dead',
      startedAt: new Date(),
    });
    await app.store.acquireLocks(['pg:x.y'], orphan.id, 't.cleanup', 'daemon-dead', new Date());

    await app.daemon.register();
    expect(await app.daemon.recoverOrphans()).toBe(1);
    const run = await app.store.getRun(orphan.id);
    expect(run!.status).toBe('interrupted');
    expect(run!.reason).toMatch(new RegExp(`pid ${deadPid}\\) died without finishing the run`));
    expect(cleaned).toEqual(['dropped listings_pkey_ccnew']);
    expect((await app.store.listSteps(orphan.id)).map((s) => [s.name, s.output])).toEqual([
      ['recover after interruption', 'dropped listings_pkey_ccnew'],
    ]);
    expect(await app.store.acquireLocks(['pg:x.y'], 999, 'other', app.instanceId, new Date())).toEqual({ ok: true });
    expect((await app.store.listInstances()).map((i) => i.id)).not.toContain('daemon-dead');
    const [retry] = await app.store.claimDueRetries(new Date(Date.now() + 1000), 'x');
    expect(retry).toMatchObject({ taskId: 't.cleanup', attempt: 2, retryOf: orphan.id });
  });

  it('leaves alone a live process on this host however old its heartbeat, but recovers a silent instance on another host', async () => {
    const app = await testApp(
      { engine: { instance_timeout: '1 minute' } },
      { tasks: [counting('t.long', 'daily', { n: 0 })] },
    );
    apps.push(app);
    const { hostname } = await import('node:os');
    const longAgo = new Date(Date.now() - 3_600_000);
    // A `drydock run` of a long backup in another process on this host: alive, heartbeat old.
    const helper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await app.store.registerInstance({
        id: 'cli-alive',
        host: hostname(),
        pid: helper.pid!,
        kind: 'cli',
        startedAt: longAgo,
      });
      const alive = await app.store.createRun({
        taskId: 't.long',
        trigger: 'manual',
        slotAt: null,
        attempt: 1,
        instanceId: 'cli-alive',
        startedAt: longAgo,
      });
      await app.store.registerInstance({
        id: 'daemon-far',
        host: 'another-host',
        pid: 1,
        kind: 'daemon',
        startedAt: longAgo,
      });
      const far = await app.store.createRun({
        taskId: 't.long',
        trigger: 'schedule',
        slotAt: null,
        attempt: 1,
        instanceId: 'daemon-far',
        startedAt: longAgo,
      });
      await app.daemon.register();
      expect(await app.daemon.recoverOrphans()).toBe(1);
      expect((await app.store.getRun(alive.id))!.status).toBe('running');
      const recovered = (await app.store.getRun(far.id))!;
      expect(recovered.status).toBe('interrupted');
      expect(recovered.reason).toMatch(/instance daemon-far on another-host stopped sending heartbeats/);
    } finally {
      helper.kill('SIGKILL');
    }
  });

  it('records what was running when it is stopped gracefully', async () => {
    const app = await testApp(
      {},
      {
        tasks: [
          counting(
            't.long',
            'daily',
            { n: 0 },
            {
              execute: async (ctx) => {
                await new Promise<void>((resolve) =>
                  ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
                );
              },
            },
          ),
        ],
      },
    );
    apps.push(app);
    await app.daemon.register();
    const pending = app.daemon.launch('t.long', { trigger: 'manual', slotAt: null, attempt: 1 });
    await sleep(100);
    await app.daemon.stop('daemon stopped by SIGTERM', 2000);
    const run = await pending;
    expect(run!.status).toBe('interrupted');
    const kinds = (await app.store.listActivity({ limit: 50 })).map((a) => a.kind);
    expect(kinds).toContain('daemon.stopped');
    expect(await app.store.listInstances()).toEqual([]);
  });
});

describe('daemon periodic work', () => {
  it('collects metrics on the policy interval from its own ticks, without holding up the schedule', async () => {
    const clock = fixedClock(new Date('2026-11-26T10:00:00Z'));
    const app = await testApp({ cache: { metrics: { collection: 'every 1 minute' } } }, { clock, tasks: [] });
    apps.push(app);
    await app.daemon.register();
    await app.daemon.tick();
    await app.daemon.settlePeriodic();
    const first = app.monitoring.metrics.series().length;
    expect(first).toBeGreaterThan(0);
    expect(app.monitoring.metrics.series().map((s) => s.name)).toEqual(expect.arrayContaining(['drydock_target_up']));
    // 30 s later nothing new is due; 60 s later the next round runs.
    clock.advance(30_000);
    await app.daemon.tick();
    await app.daemon.settlePeriodic();
    const points = () =>
      app.monitoring.metrics.read(
        'drydock_target_up',
        { kind: 'redis', target: '127.0.0.1:6379' },
        { since: 0, until: Date.parse('2027-01-01'), resolution: 'raw' },
      ).points.length;
    expect(points()).toBe(1);
    clock.advance(30_000);
    await app.daemon.tick();
    await app.daemon.settlePeriodic();
    expect(points()).toBe(2);
  });
});

describe('alerts in the activity log', () => {
  it('records an alert that fires for an unreachable target, naming it, and none for a reachable one', async () => {
    const clock = fixedClock(new Date('2026-11-26T10:00:00Z'));
    // Its own database, so the machine's databases (or their absence) never decide the outcome.
    const db = await freshDatabase('daemon_alerts');
    try {
      const app = await testApp(
        {
          targets: {
            redis: { port: 1, connect_timeout: '1 second' },
            postgres: { host: db.target.host, port: db.target.port, user: 'postgres', database: db.name },
          },
          alerts: { for: 'immediate' },
        },
        { clock, tasks: [] },
      );
      apps.push(app);
      await app.daemon.register();
      await app.daemon.tick();
      await app.daemon.settlePeriodic();
      const alerts = await app.store.listActivity({ kind: 'alert.' });
      // Only target_down is this test's business (the host's own CPU or disk may alert on a busy machine).
      const sent = alerts
        .filter((a) => a.kind === 'alert.sent' && a.message.startsWith('target_down'))
        .map((a) => a.message);
      expect(alerts.map((a) => a.kind)).toEqual(expect.arrayContaining(['alert.transition', 'alert.sent']));
      expect(sent).toEqual([expect.stringMatching(/^target_down redis:127\.0\.0\.1:1: firing via log/)]);
      const [state] = app.monitoring.alerts.states({ rule: 'target_down' }).filter((s) => s.status === 'firing');
      expect(state!.message).toMatch(/redis 127\.0\.0\.1:1 is unreachable \(.*ECONNREFUSED/);
      expect(
        app.monitoring.metrics.series('drydock_target_up').find((s) => s.labels.kind === 'postgres')?.lastValue,
      ).toBe(1);
    } finally {
      await db.drop();
    }
  });
});

describe('activity log retention', () => {
  it('deletes entries older than activity_log.retention and records the pruning', async () => {
    const app = await testApp({ activity_log: { retention: '30 days' } }, { tasks: [activityPruneTask] });
    apps.push(app);
    const now = Date.now();
    await app.store.logActivity({ at: new Date(now - 40 * 86_400_000), kind: 'old', message: 'old entry' });
    await app.store.logActivity({ at: new Date(now - 20 * 86_400_000), kind: 'recent', message: 'recent entry' });
    const run = await app.engine.run('drydock.activity_log.prune', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');
    expect(run.figures['activity.deleted_entries']).toEqual({ value: 1, unit: 'entries' });
    const kinds = (await app.store.listActivity({ limit: 100 })).map((a) => a.kind);
    expect(kinds).not.toContain('old');
    expect(kinds).toContain('recent');
    expect(kinds).toContain('activity.pruned');
  });
});
