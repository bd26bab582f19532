/** @jsxImportSource hono/jsx */
// The HTTP API, the dashboard and /metrics: readers of the same store and engine as the CLI. Every
// HTTP route of the process is mounted here; features export sub-apps, they do not mount them.
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Registry } from '../engine/types.js';
import type { Monitoring } from '../monitoring/metrics-and-alerts.js';
import type { LoadedPolicy } from '../policy/load.js';
import type { Store } from '../store/types.js';
import type { WindowsModule } from '../windows/module.js';
import { nextSlot } from '../schedule/frequency.js';
import { taskEnabled } from '../schedule/planner.js';
import { approvalRoutes } from './approvals.js';
import { Dashboard } from './dashboard.js';
import { statusPageOptions, statusPageRoutes } from './status-page/routes.js';
import { ACCESS_RULES } from './access-rules.js';
import { PLAN_MAX_DAYS, PLAN_MAX_LIMIT, planPage } from './plan-paged.js';
import type { Access } from '../access/access.js';
import { accessGuard, type AccessEnv } from '../access/middleware.js';
import { InputError, queryInt } from '../access/limits.js';
import { AuthLimiter, type AuthLimiterOptions } from '../access/rate-limit.js';
import { resolveMetricsAuth } from '../access/metrics-auth.js';
import { operatorRoutes, type OperatorDeps } from '../access/routes.js';

/** What the API reads; the composition root (app.ts) provides it. */
export interface ApiDeps extends OperatorDeps {
  instanceId: string;
  clock: Clock;
  logger: Logger;
  loaded: LoadedPolicy;
  store: Store;
  registry: Registry;
  access: Access;
  monitoring: Pick<Monitoring, 'routes'>;
  windows: Pick<WindowsModule, 'service' | 'patches' | 'access'>;
}

export interface ApiOptions {
  /** Failed sign-in limits (tests use small ones). */
  limiter?: AuthLimiterOptions;
  env?: NodeJS.ProcessEnv;
}

/**
 * Every route sits behind one access guard (src/access/middleware.ts) that checks the rule of
 * src/api/access-rules.ts: who may call it, bounded bodies, JSON-only writes, all recorded.
 */
export function createApi(app: ApiDeps, options: ApiOptions = {}): Hono {
  const api = new Hono<AccessEnv>();
  api.onError((error, c) => {
    if (error instanceof InputError) return c.json({ error: error.message }, 400);
    app.logger.error({ err: error, path: c.req.path }, 'API request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  api.use(
    '*',
    ...accessGuard({
      access: app.access,
      rules: ACCESS_RULES,
      limiter: new AuthLimiter(options.limiter),
      activity: (entry) => app.store.logActivity(entry),
      now: () => app.clock.now(),
      maxBodyBytes: app.loaded.policy.http.max_body.bytes,
      metricsAuth: resolveMetricsAuth(app.loaded.policy, options.env ?? process.env),
    }),
  );

  api.get('/healthz', (c) => c.json({ ok: true, instance: app.instanceId }));

  api.get('/api/tasks', (c) => {
    const now = app.clock.now();
    const policy = app.loaded.policy;
    return c.json(
      app.registry.all().map((t) => ({
        id: t.id,
        title: t.title,
        implemented: t.implemented,
        enabled: taskEnabled(t, policy),
        schedule: t.schedule(policy).text,
        next: t.implemented ? nextSlot(t.schedule(policy), now) : null,
      })),
    );
  });

  api.get('/api/runs', async (c) => {
    const task = c.req.query('task');
    const limit = queryInt(c, 'limit', { min: 1, max: 500, fallback: 50 });
    return c.json(await app.store.listRuns({ ...(task ? { taskId: task } : {}), limit }));
  });

  api.get('/api/runs/:id', async (c) => {
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id < 1) throw new InputError('run id: expected a positive whole number');
    const run = await app.store.getRun(id);
    if (!run) return c.json({ error: `no run #${c.req.param('id')}` }, 404);
    return c.json({ ...run, steps: await app.store.listSteps(run.id) });
  });

  api.get('/api/status', async (c) => {
    const last = await Promise.all(
      app.registry
        .implemented()
        .map(async (t) => ({ task: t.id, run: (await app.store.listRuns({ taskId: t.id, limit: 1 }))[0] ?? null })),
    );
    return c.json({ tasks: last, running: await app.store.openRuns(), instances: await app.store.listInstances() });
  });

  // Paged: ?days=1..90 &limit=1..1000 &from=<the previous page's "next">; computed a day at a time
  // so the scheduler's timers and heartbeats run between days.
  api.get('/api/plan', async (c) => {
    const days = queryInt(c, 'days', { min: 1, max: PLAN_MAX_DAYS, fallback: 7 });
    const limit = queryInt(c, 'limit', { min: 1, max: PLAN_MAX_LIMIT, fallback: 500 });
    const now = app.clock.now();
    const fromText = c.req.query('from');
    const from = fromText ? new Date(fromText) : now;
    if (Number.isNaN(from.getTime())) throw new InputError('from: expected an ISO date-time (the "next" of a page)');
    const until = new Date(now.getTime() + days * 86_400_000);
    return c.json(await planPage(app.registry.all(), app.loaded.policy, from, until, limit));
  });

  api.get('/api/activity', async (c) => {
    const limit = queryInt(c, 'limit', { min: 1, max: 1000, fallback: 100 });
    const task = c.req.query('task');
    return c.json(await app.store.listActivity({ limit, ...(task ? { taskId: task } : {}) }));
  });

  // Issue 4: /metrics (collected series + run metrics), /api/metrics/*, /api/alerts*, /api/silences.
  api.route('/', app.monitoring.routes);

  // Issue 5: approvals with per-person bearer tokens, and the public status page.
  const { service, patches, access } = app.windows;
  api.route('/api/approvals', approvalRoutes({ windows: service, patches, auth: access }) as unknown as Hono);
  api.route(
    '/status',
    statusPageRoutes({ ...statusPageOptions(app.loaded.policy), store: service.store, clock: app.clock }),
  );

  // Issue 9: sessions, tokens, and the operator's writes (run now, cancel, schedule windows).
  api.route('/', operatorRoutes(app));

  api.get('/', async (c) => {
    const runs = await app.store.listRuns({ limit: 30 });
    const now = app.clock.now();
    const upcoming = (
      await planPage(app.registry.all(), app.loaded.policy, now, new Date(now.getTime() + 2 * 86_400_000), 20)
    ).runs.slice(0, 20);
    const activity = await app.store.listActivity({ limit: 30 });
    return c.html(
      <Dashboard
        now={now}
        runs={runs}
        upcoming={upcoming}
        activity={activity}
        tasks={app.registry.all().length}
        implemented={app.registry.implemented().length}
      />,
    );
  });

  return api as unknown as Hono;
}
