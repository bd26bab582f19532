/** @jsxImportSource hono/jsx */
// The HTTP API, the dashboard and /metrics: readers of the same store and engine as the CLI. Every
// HTTP route of the process is mounted here; features export sub-apps, they do not mount them.
import { Hono } from 'hono';
import type { Clock } from '../clock.js';
import type { Registry } from '../engine/types.js';
import type { Monitoring } from '../monitoring/metrics-and-alerts.js';
import type { LoadedPolicy } from '../policy/load.js';
import type { Store } from '../store/types.js';
import type { WindowsModule } from '../windows/module.js';
import { nextSlot } from '../schedule/frequency.js';
import { planRuns, taskEnabled } from '../schedule/planner.js';
import { approvalRoutes } from './approvals.js';
import { Dashboard } from './dashboard.js';
import { statusPageOptions, statusPageRoutes } from './status-page/routes.js';

/** What the API reads; the composition root (app.ts) provides it. */
export interface ApiDeps {
  instanceId: string;
  clock: Clock;
  loaded: LoadedPolicy;
  store: Store;
  registry: Registry;
  monitoring: Pick<Monitoring, 'routes'>;
  windows: Pick<WindowsModule, 'service' | 'patches' | 'auth'>;
}

export function createApi(app: ApiDeps): Hono {
  const api = new Hono();

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
    const limit = Math.min(500, Number(c.req.query('limit') ?? 50) || 50);
    return c.json(await app.store.listRuns({ ...(task ? { taskId: task } : {}), limit }));
  });

  api.get('/api/runs/:id', async (c) => {
    const run = await app.store.getRun(Number(c.req.param('id')));
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

  api.get('/api/plan', (c) => {
    const days = Math.min(400, Math.max(1, Number(c.req.query('days') ?? 7) || 7));
    const now = app.clock.now();
    return c.json(planRuns(app.registry.all(), app.loaded.policy, now, new Date(now.getTime() + days * 86_400_000)));
  });

  api.get('/api/activity', async (c) => {
    const limit = Math.min(1000, Number(c.req.query('limit') ?? 100) || 100);
    const task = c.req.query('task');
    return c.json(await app.store.listActivity({ limit, ...(task ? { taskId: task } : {}) }));
  });

  // Issue 4: /metrics (collected series + run metrics), /api/metrics/*, /api/alerts*, /api/silences.
  api.route('/', app.monitoring.routes);

  // Issue 5: approvals with per-person bearer tokens, and the public status page.
  const { service, patches, auth } = app.windows;
  api.route('/api/approvals', approvalRoutes({ windows: service, patches, auth }) as unknown as Hono);
  api.route(
    '/status',
    statusPageRoutes({ ...statusPageOptions(app.loaded.policy), store: service.store, clock: app.clock }),
  );

  api.get('/', async (c) => {
    const runs = await app.store.listRuns({ limit: 30 });
    const now = app.clock.now();
    const upcoming = planRuns(
      app.registry.all(),
      app.loaded.policy,
      now,
      new Date(now.getTime() + 2 * 86_400_000),
    ).slice(0, 20);
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

  return api;
}
