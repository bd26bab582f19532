import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/server.js';
import type { ImplementedTask } from '../../src/engine/types.js';
import { schedule } from '../helpers/phrases.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { asPerson, PEOPLE, tokenFor } from '../helpers/access.js';

const task: ImplementedTask = {
  id: 'database.vacuum',
  title: 'stand-in vacuum <script>',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: () => schedule('daily', '03:00 UTC'),
  resources: () => [],
  execute: async (ctx) => ctx.summary('vacuumed <b>3</b> tables'),
  validate: async () => ({ ok: true, checks: [] }),
};

let app: TestApp;
let vera: string;
beforeAll(async () => {
  app = await testApp({ stakeholders: PEOPLE }, { tasks: [task] });
  vera = await tokenFor(app.store.db, 'Vera');
  await app.engine.run('database.vacuum', { trigger: 'manual' });
});
afterAll(() => app.dispose());

describe('HTTP API', () => {
  it('serves runs, one run with its steps, tasks, plan and activity as JSON', async () => {
    const api = { request: asPerson(createApi(app), vera) };
    const runs = (await (await api.request('/api/runs')).json()) as Array<{ id: number; status: string }>;
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('succeeded');
    const one = (await (await api.request(`/api/runs/${runs[0]!.id}`)).json()) as { steps: Array<{ name: string }> };
    expect(one.steps.map((s) => s.name)).toEqual(['notify stakeholders', 'validate results']);
    expect((await api.request('/api/runs/999')).status).toBe(404);
    const tasks = (await (await api.request('/api/tasks')).json()) as Array<{ id: string; implemented: boolean }>;
    expect(tasks.find((t) => t.id === 'database.vacuum')!.implemented).toBe(true);
    expect(tasks.find((t) => t.id === 'cache.metrics')!.implemented).toBe(false);
    const plan = ((await (await api.request('/api/plan?days=3')).json()) as { runs: Array<{ taskId: string }> }).runs;
    expect(plan.filter((p) => p.taskId === 'database.vacuum').length).toBeGreaterThanOrEqual(2);
    const activity = (await (await api.request('/api/activity')).json()) as Array<{ kind: string }>;
    expect(activity.map((a) => a.kind)).toContain('run.finished');
  });

  it('renders the dashboard with every value escaped', async () => {
    const html = await (await asPerson(createApi(app), vera)('/')).text();
    expect(html).toContain('database.vacuum');
    expect(html).toContain('vacuumed &lt;b&gt;3&lt;/b&gt; tables');
    expect(html).not.toContain('<b>3</b>');
  });

  it('mounts the public status page (HTML, JSON, Atom) and the approvals API behind tokens', async () => {
    const api = createApi(app);
    const page = await api.request('/status');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    expect((await api.request('/status/status.json')).headers.get('content-type')).toContain('application/json');
    expect(await (await api.request('/status/feed.atom')).text()).toContain('<feed');
    expect((await api.request('/api/approvals/patches')).status).toBe(401);
  });

  it('serves /metrics in Prometheus format that promtool accepts', async () => {
    const response = await createApi(app).request('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# TYPE drydock_task_last_run_success gauge');
    expect(text).toMatch(/drydock_task_last_run_success\{task="database.vacuum"\} 1/);
    // Prometheus conventions: a build-info series, the process and runtime series, ratios 0-1.
    expect(text).toMatch(/^drydock_build_info\{version="\d+\.\d+\.\d+",nodejs_version="20\.\d+\.\d+"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).not.toMatch(/_percent\b/);
    const checked = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(checked).toBe('');
  });
});
