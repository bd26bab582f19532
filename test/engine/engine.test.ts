import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DrydockError } from '../../src/errors.js';
import type { Gate, ImplementedTask, TaskContext } from '../../src/engine/types.js';
import { schedule } from '../helpers/phrases.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { startHttp, type HttpPeer } from '../helpers/peers.js';
import { fixedClock } from '../../src/engine/clock.js';

function task(
  id: string,
  overrides: Partial<ImplementedTask> & { run?: (ctx: TaskContext) => Promise<unknown> } = {},
): ImplementedTask {
  return {
    id,
    title: `test task ${id}`,
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: () => schedule('daily', '03:00 UTC'),
    resources: () => [],
    execute: overrides.run ?? (async () => ({})),
    validate: async () => ({ ok: true, checks: [{ name: 'fine', ok: true, detail: 'ok' }] }),
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let apps: TestApp[] = [];
let peers: HttpPeer[] = [];
afterEach(async () => {
  for (const app of apps) await app.dispose();
  for (const peer of peers) await peer.close();
  apps = [];
  peers = [];
  delete process.env.DRYDOCK_TEST_HOOK_TOKEN;
});

async function open(
  tasks: ImplementedTask[],
  policy: Record<string, unknown> = {},
  gates: Gate[] = [],
): Promise<TestApp> {
  const app = await testApp(policy, { tasks, gates });
  apps.push(app);
  return app;
}

/** A real HTTP receiver for webhook notices. */
/** A webhook receiver (the suite's HTTP peer) that answers `status`; bodies parsed as JSON. */
async function receiver(
  status = 200,
): Promise<{ url: string; requests: Array<{ headers: IncomingMessage['headers']; body: Record<string, unknown> }> }> {
  const peer = await startHttp((_req, res) => res.writeHead(status).end());
  peers.push(peer);
  return {
    url: `${peer.url}/hook`,
    get requests() {
      return peer.requests.map((r) => ({ headers: r.headers, body: JSON.parse(r.body) as Record<string, unknown> }));
    },
  };
}

describe('run lifecycle', () => {
  it('notifies, executes, validates and records steps, figures and activity', async () => {
    const app = await open([
      task('t.ok', {
        run: async (ctx) => {
          await ctx.step('work', async (s) => s.output('did the work'));
          ctx.figure('rows', { before: 10, after: 2, unit: 'rows' });
          ctx.summary('cleaned 8 rows');
          return { cleaned: 8 };
        },
      }),
    ]);
    const run = await app.engine.run('t.ok', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');
    expect(run.figures).toEqual({ rows: { before: 10, after: 2, unit: 'rows' } });
    expect(run.summary).toEqual(['cleaned 8 rows']);
    expect(run.validation).toEqual({ ok: true, checks: [{ name: 'fine', ok: true, detail: 'ok' }] });
    expect(run.endedAt!.getTime()).toBeGreaterThanOrEqual(run.startedAt.getTime());
    const steps = await app.store.listSteps(run.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['notify stakeholders', 'succeeded'],
      ['work', 'succeeded'],
      ['validate results', 'succeeded'],
    ]);
    expect(steps[1]!.output).toBe('did the work');
    expect(steps.every((s) => s.durationMs !== null && s.durationMs >= 0)).toBe(true);
    const kinds = (await app.store.listActivity({ taskId: 't.ok' })).map((a) => a.kind).reverse();
    expect(kinds).toEqual(['run.started', 'notify.sent', 'run.finished', 'notify.sent']);
  });

  it('records validation_failed when the checks do not pass', async () => {
    const app = await open([
      task('t.invalid', {
        validate: async () => ({
          ok: false,
          checks: [{ name: 'index valid', ok: false, detail: 'listings_pkey_ccnew is invalid' }],
        }),
      }),
    ]);
    const run = await app.engine.run('t.invalid', { trigger: 'manual' });
    expect(run.status).toBe('validation_failed');
    expect(run.error).toContain('listings_pkey_ccnew is invalid');
  });

  it('keeps going after a step marked continueOnError, then records the run as failed naming the step', async () => {
    const app = await open([
      task('t.partial', {
        run: async (ctx) => {
          await ctx.step(
            'table bookngs',
            async () => {
              throw new DrydockError('TABLE_MISSING', 'table "bookngs" does not exist');
            },
            { continueOnError: true },
          );
          await ctx.step('table listings', async (s) => s.output('vacuumed'));
        },
      }),
    ]);
    const run = await app.engine.run('t.partial', { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(run.error).toBe('table bookngs: table "bookngs" does not exist');
    const steps = await app.store.listSteps(run.id);
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
    // A missing table cannot be fixed by trying again.
    const retries = await app.store.claimDueRetries(new Date(Date.now() + 86_400_000), 'x');
    expect(retries).toEqual([]);
  });

  it('retries a retryable failure with exponential backoff as the policy says, up to its attempts', async () => {
    const app = await open(
      [
        task('t.flaky', {
          run: async () => {
            throw new DrydockError('TARGET_UNREACHABLE', 'cannot reach PostgreSQL at 127.0.0.1:1', { retryable: true });
          },
        }),
      ],
      {
        engine: { retry: { attempts: 3, backoff: '1 minute', max_backoff: '90 seconds' } },
      },
    );
    const first = await app.engine.run('t.flaky', { trigger: 'manual' });
    expect(first.status).toBe('failed');
    const far = new Date(Date.now() + 86_400_000);
    const [retry1] = await app.store.claimDueRetries(far, 'x');
    expect(retry1!.attempt).toBe(2);
    expect(retry1!.dueAt.getTime() - first.endedAt!.getTime()).toBeGreaterThanOrEqual(59_000);
    expect(retry1!.dueAt.getTime() - first.endedAt!.getTime()).toBeLessThanOrEqual(61_000);
    const second = await app.engine.run('t.flaky', { trigger: 'retry', attempt: 2 });
    const [retry2] = await app.store.claimDueRetries(far, 'x');
    expect(retry2!.attempt).toBe(3);
    // 2 minutes doubled backoff, capped at max_backoff 90 s.
    expect(retry2!.dueAt.getTime() - second.endedAt!.getTime()).toBeLessThanOrEqual(91_000);
    await app.engine.run('t.flaky', { trigger: 'retry', attempt: 3 });
    expect(await app.store.claimDueRetries(far, 'x')).toEqual([]);
  });

  it('does not retry a plain error (a bug, damaged data), but retries a dropped connection', async () => {
    const app = await open([
      task('t.bug', {
        run: async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'rows')");
        },
      }),
      task('t.dropped', {
        run: async () => {
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        },
      }),
    ]);
    const far = new Date(Date.now() + 86_400_000);
    const bug = await app.engine.run('t.bug', { trigger: 'manual' });
    expect(bug.status).toBe('failed');
    expect(await app.store.claimDueRetries(far, 'x')).toEqual([]);
    const activity = await app.store.listActivity({ taskId: 't.bug', limit: 20 });
    expect(activity.map((a) => a.kind)).toContain('run.not_retried');
    await app.engine.run('t.dropped', { trigger: 'manual' });
    const [retry] = await app.store.claimDueRetries(far, 'x');
    expect(retry).toMatchObject({ taskId: 't.dropped', attempt: 2 });
  });

  it('sends failures to the webhook channel, with the token in the header but never in the activity log', async () => {
    const hook = await receiver();
    process.env.DRYDOCK_TEST_HOOK_TOKEN = 'tok-s3cret-value';
    const app = await open(
      [
        task('t.fail', {
          run: async () => {
            throw new Error('boom with tok-s3cret-value inside');
          },
        }),
      ],
      {
        channels: {
          log: { type: 'log' },
          ops: { type: 'webhook', url: hook.url, token: { env: 'DRYDOCK_TEST_HOOK_TOKEN' } },
        },
        notify: { failure: ['log', 'ops'], start: ['log'], success: ['log'] },
      },
    );
    const run = await app.engine.run('t.fail', { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(run.error).toBe('boom with [redacted] inside');
    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0]!.headers.authorization).toBe('Bearer tok-s3cret-value');
    expect(hook.requests[0]!.headers['idempotency-key']).toBe(`run-${run.id}-failure`);
    expect(hook.requests[0]!.body).toMatchObject({
      kind: 'run.failure',
      subject: '[drydock] t.fail failed',
      text: 'boom with [redacted] inside',
    });
    const activity = JSON.stringify(await app.store.listActivity({ limit: 1000 }));
    expect(activity).toContain('failure notice sent to ops: HTTP 200');
    expect(activity).not.toContain('tok-s3cret-value');
    const steps = JSON.stringify(await app.store.listSteps(run.id));
    expect(steps).not.toContain('tok-s3cret-value');
  });

  it('logs a failed delivery after its attempts without failing the run', async () => {
    const hook = await receiver(503);
    const app = await open([task('t.ok2')], {
      channels: { ops: { type: 'webhook', url: hook.url } },
      notify: { start: ['ops'], success: [], failure: [] },
    });
    const run = await app.engine.run('t.ok2', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');
    expect(hook.requests).toHaveLength(2);
    const failed = await app.store.listActivity({ kind: 'notify.failed' });
    expect(failed[0]!.message).toMatch(/start notice to ops failed: HTTP 503/);
  });

  it('skips a run while the previous run of the same task is still going, with the reason', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = await open([task('t.slow', { run: async () => gate })]);
    const first = app.engine.run('t.slow', { trigger: 'manual' });
    await sleep(100);
    const second = await app.engine.run('t.slow', { trigger: 'schedule' });
    expect(second.status).toBe('skipped');
    expect(second.reason).toMatch(/previous run #\d+ of t\.slow is still running/);
    release();
    expect((await first).status).toBe('succeeded');
  });

  it('never runs two tasks that touch the same table at once', async () => {
    const spans: Record<string, [number, number]> = {};
    const slow = (id: string) =>
      task(id, {
        resources: () => ['pg:dokkerr.listings'],
        run: async () => {
          const start = Date.now();
          await sleep(300);
          spans[id] = [start, Date.now()];
        },
      });
    const app = await open([slow('t.a'), slow('t.b')]);
    const [a, b] = await Promise.all([
      app.engine.run('t.a', { trigger: 'manual' }),
      app.engine.run('t.b', { trigger: 'manual' }),
    ]);
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
    const [first, second] = Object.values(spans).sort((x, y) => x[0] - y[0]);
    expect(second![0]).toBeGreaterThanOrEqual(first![1]);
    expect((await app.store.listActivity({ kind: 'run.waiting' }))[0]!.message).toMatch(
      /pg:dokkerr\.listings is held by run #\d+ of t\.(a|b)/,
    );
  });

  it('skips a run that cannot get its table within engine.lock_wait', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const app = await open(
      [
        task('t.holder', { resources: () => ['pg:x.t'], run: async () => hold }),
        task('t.waiter', { resources: () => ['pg:x.t'] }),
      ],
      { engine: { lock_wait: '300ms' } },
    );
    const holder = app.engine.run('t.holder', { trigger: 'manual' });
    await sleep(100);
    const waiter = await app.engine.run('t.waiter', { trigger: 'manual' });
    expect(waiter.status).toBe('skipped');
    expect(waiter.reason).toMatch(/pg:x\.t is held by run #\d+ of t\.holder \(waited 300ms\)/);
    release();
    await holder;
  });

  it('asks the gates first and records why a run was skipped or delayed', async () => {
    const until = new Date(Date.now() + 3_600_000);
    const blackout: Gate = {
      name: 'blackout',
      check: (t) =>
        t.id === 't.blocked' ? { decision: 'skip', reason: 'inside holiday_season' } : { decision: 'run' },
    };
    const window: Gate = {
      name: 'window',
      check: (t) =>
        t.id === 't.disruptive'
          ? { decision: 'delay', until, reason: 'disruptive tasks wait for the next window' }
          : { decision: 'run' },
    };
    const app = await open([task('t.blocked'), task('t.disruptive'), task('t.free')], {}, [blackout, window]);
    expect(await app.engine.run('t.blocked', { trigger: 'schedule' })).toMatchObject({
      status: 'skipped',
      reason: 'blackout: inside holiday_season',
    });
    const delayed = await app.engine.run('t.disruptive', { trigger: 'schedule' });
    expect(delayed.status).toBe('skipped');
    expect(delayed.reason).toContain(`delayed until ${until.toISOString()}`);
    const [job] = await app.store.claimDueRetries(until, 'x');
    expect(job).toMatchObject({ taskId: 't.disruptive', attempt: 1 });
    expect((await app.engine.run('t.free', { trigger: 'schedule' })).status).toBe('succeeded');
  });

  it('refuses to run a procedure this version does not implement, and names unknown tasks helpfully', async () => {
    const app = await open([]);
    await expect(app.engine.run('cache.metrics', { trigger: 'manual' })).rejects.toThrow(
      /is not a run of its own: it is carried out by the daemon's metrics collector/,
    );
    await expect(app.engine.run('cache.metric', { trigger: 'manual' })).rejects.toMatchObject({
      message: 'unknown task "cache.metric"',
      hint: 'did you mean cache.metrics?',
    });
    expect(await app.store.listRuns()).toEqual([]);
  });
});

describe('failure notices are grouped and repeated, like Alertmanager', () => {
  it('a task failing the same way every 5 minutes notifies once per repeat interval, then once when it recovers', async () => {
    const hook = await receiver();
    const clock = fixedClock(new Date('2026-11-29T10:00:00Z'));
    let diskFull = true;
    let memoryFull = false;
    const check = task('t.health', {
      validate: async () => {
        const checks = [
          { name: 'disk /', ok: !diskFull, detail: `${diskFull ? 81 + Math.random() : 40}% used` },
          { name: 'memory', ok: !memoryFull, detail: 'memory' },
        ];
        return { ok: checks.every((c) => c.ok), checks };
      },
    });
    const app = await testApp(
      {
        channels: { log: { type: 'log' }, ops: { type: 'webhook', url: hook.url } },
        notify: { failure: ['ops'], start: [], success: [], repeat: '1 hour' },
      },
      { tasks: [check], clock },
    );
    apps.push(app);
    const subjects = () => hook.requests.map((r) => r.body.subject);
    const runEvery5Minutes = async (times: number) => {
      for (let i = 0; i < times; i++) {
        await app.engine.run('t.health', { trigger: 'manual' });
        clock.advance(5 * 60_000);
      }
    };

    await runEvery5Minutes(6); // 10:00 .. 10:25: one notice, five held back
    expect(subjects()).toEqual(['[drydock] t.health validation failed']);
    const held = await app.store.listActivity({ taskId: 't.health', kind: 'notice.held' });
    expect(held).toHaveLength(5);
    expect(held[0]!.message).toContain('same failure as the notice of 2026-11-29T10:00:00.000Z');

    memoryFull = true; // a different failure is sent at once
    await runEvery5Minutes(1);
    expect(subjects()).toHaveLength(2);

    await runEvery5Minutes(12); // an hour later the same failure is sent again
    expect(subjects()).toHaveLength(3);

    diskFull = false;
    memoryFull = false;
    await runEvery5Minutes(2); // one recovery notice, then silence
    expect(subjects()).toEqual([
      '[drydock] t.health validation failed',
      '[drydock] t.health validation failed',
      '[drydock] t.health validation failed',
      '[drydock] t.health recovered',
    ]);
    expect(hook.requests[3]!.body.kind).toBe('run.recovered');
  });
});
