// Issue 9 over HTTP: every route has a rule, reads and writes need the right person, writes are
// JSON-only, bounded and recorded, failed sign-ins are limited, approvals and updates come only
// from the right people, the public page shows only public text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApi } from '../../src/api/server.js';
import { ACCESS_RULES } from '../../src/api/access-rules.js';
import { ruleFor } from '../../src/access/middleware.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { asPerson, PEOPLE, tokenFor } from '../helpers/access.js';

let app: TestApp;
let api: Hono;
const tokens: Record<string, string> = {};
const as = (name: string) => asPerson(api, tokens[name]!);

beforeAll(async () => {
  app = await testApp({
    stakeholders: [...PEOPLE, { name: 'Alice', roles: ['SRE'], access: 'operator' }],
    channels: { status: { type: 'status_page' } },
  });
  api = createApi(app);
  for (const p of [...PEOPLE.map((x) => x.name), 'Alice']) tokens[p] = await tokenFor(app.store.db, p);
});
afterAll(() => app.dispose());

const activity = async (kind: string) => app.store.listActivity({ kind, limit: 1000 });

describe('the access rule table', () => {
  it('covers every route the API serves, and a route without a rule would be refused', () => {
    const routes = api.routes.filter((r) => r.method !== 'ALL');
    expect(routes.length).toBeGreaterThan(30);
    const missing = routes.filter((r) => {
      const sample = r.path.replace(/:[^/]+/g, '1').replace(/\*$/, 'x');
      return ruleFor(ACCESS_RULES, r.method, sample) === null;
    });
    expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(ruleFor(ACCESS_RULES, 'POST', '/api/not-a-route')).toBeNull();
  });

  it('answers only /healthz and /status without a token; every other route is 401', async () => {
    expect((await api.request('/healthz')).status).toBe(200);
    expect((await api.request('/status')).status).toBe(200);
    expect((await api.request('/status/status.json')).status).toBe(200);
    for (const path of ['/', '/api/runs', '/api/plan', '/api/activity', '/api/silences', '/api/alerts', '/api/tokens'])
      expect((await api.request(path)).status, path).toBe(401);
    const post = await api.request('/api/silences', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ component: 'PostgreSQL', reason: 'x' }),
    });
    expect(post.status).toBe(401);
    expect(app.monitoring.alerts.activeSilences(Date.now())).toEqual([]);
  });
});

describe('writes', () => {
  it('silences only for an operator, only as JSON; every write and refusal is recorded without the token', async () => {
    const viewer = await as('Vera')('/api/silences', { body: { component: 'PostgreSQL', reason: 'noisy' } });
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { error: string }).error).toMatch(
      /Vera has viewer access; POST \/api\/silences needs operator/,
    );
    const plain = await api.request('/api/silences', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.Olga}`, 'content-type': 'text/plain' },
      body: 'component=PostgreSQL&reason=x',
    });
    expect(plain.status).toBe(415);
    const form = await api.request('/api/silences', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.Olga}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'component=PostgreSQL&reason=x',
    });
    expect(form.status).toBe(415);
    expect(app.monitoring.alerts.activeSilences(Date.now())).toEqual([]);
    const ok = await as('Olga')('/api/silences', {
      body: { component: 'PostgreSQL', reason: 'failover drill', for: '1 hour' },
    });
    expect(ok.status).toBe(201);
    const { id } = (await ok.json()) as { id: number };
    expect((await as('Olga')(`/api/silences/${id}`, { method: 'DELETE' })).status).toBe(204);

    const refused = await activity('access.refused');
    expect(refused.map((a) => `${a.actor} ${(a.data as { status: number }).status}`)).toEqual(
      expect.arrayContaining(['Vera 403', 'Olga 415']),
    );
    const writes = await activity('access.write');
    expect(writes.map((a) => a.message)).toEqual(
      expect.arrayContaining([`POST /api/silences 201 by Olga`, `DELETE /api/silences/${id} 204 by Olga`]),
    );
    const all = JSON.stringify(await app.store.listActivity({ limit: 1000 }));
    for (const token of Object.values(tokens)) expect(all).not.toContain(token.slice(17));
  });

  it('accepts a signed-in browser form only with its CSRF token', async () => {
    const signIn = await as('Olga')('/api/session', { method: 'POST' });
    expect(signIn.status).toBe(201);
    const { csrf } = (await signIn.json()) as { csrf: string };
    const cookie = /drydock_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')![0];
    const post = (body: string, type: string, extra: Record<string, string> = {}) =>
      api.request('/api/silences', { method: 'POST', headers: { cookie, 'content-type': type, ...extra }, body });
    expect((await post('component=API&reason=deploy', 'application/x-www-form-urlencoded')).status).toBe(403);
    expect((await post(JSON.stringify({ component: 'API', reason: 'deploy' }), 'application/json')).status).toBe(403);
    const form = await post(
      `component=API&reason=deploy&_csrf=${encodeURIComponent(csrf)}`,
      'application/x-www-form-urlencoded',
    );
    expect(form.status).toBe(201);
    const json = await post(JSON.stringify({ component: 'API', reason: 'deploy 2' }), 'application/json', {
      'x-csrf-token': csrf,
    });
    expect(json.status).toBe(201);
    expect(app.monitoring.alerts.activeSilences(Date.now()).filter((x) => x.component === 'API')).toHaveLength(2);
    for (const x of app.monitoring.alerts.activeSilences(Date.now())) app.monitoring.silences.lift(x.id);
  });

  it('refuses oversized bodies (413) and over-long text (400), storing nothing', async () => {
    const huge = 'x'.repeat(60 * 1024 * 1024);
    const big = await as('Olga')('/api/silences', { body: { component: 'Redis', reason: huge } });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/request body too large: at most 65536 bytes/);
    const long = await as('Olga')('/api/silences', { body: { component: 'Redis', reason: 'y'.repeat(5000) } });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: string }).error).toBe('reason: at most 1000 characters, got 5000');
    expect(app.monitoring.alerts.activeSilences(Date.now()).filter((s) => s.component === 'Redis')).toEqual([]);
    expect((await activity('access.refused')).some((a) => (a.data as { status: number }).status === 413)).toBe(true);
  });

  it('parses limit and days strictly and bounds the plan', async () => {
    for (const q of [
      '/api/runs?limit=-1',
      '/api/runs?limit=abc',
      '/api/activity?limit=0',
      '/api/plan?days=400',
      '/api/plan?days=-3',
      '/api/plan?days=NaN',
    ])
      expect((await as('Vera')(q)).status, q).toBe(400);
    const page = (await (await as('Vera')('/api/plan?days=2&limit=5')).json()) as {
      runs: unknown[];
      next: string | null;
    };
    expect(page.runs.length).toBeGreaterThanOrEqual(5);
    expect(page.next).not.toBeNull();
    const second = (await (await as('Vera')(`/api/plan?days=2&limit=5&from=${page.next}`)).json()) as {
      runs: Array<{ at: string }>;
    };
    expect(new Date(second.runs[0]!.at).getTime()).toBeGreaterThan(new Date(page.next!).getTime());
  });

  it('issues tokens only for an admin, recorded', async () => {
    expect((await as('Olga')('/api/tokens', { body: { person: 'Olga' } })).status).toBe(403);
    const issued = await as('Ada')('/api/tokens', { body: { person: 'Carol', label: 'phone' } });
    expect(issued.status).toBe(201);
    const { token, id } = (await issued.json()) as { token: string; id: string };
    expect((await asPerson(api, token)('/api/whoami')).status).toBe(200);
    expect((await as('Ada')(`/api/tokens/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await asPerson(api, token)('/api/whoami')).status).toBe(401);
    const issuedLog = await activity('token.issued');
    expect(issuedLog.at(0)?.message).toBe(`Ada issued token ${id} for Carol`);
  });
});

describe('who may approve and post', () => {
  it('refuses a security patch approval by its reporter', async () => {
    const patch = await app.windows.patches.reportPatch(
      { ref: 'CVE-2026-4242', title: 'nginx request smuggling', severity: 'high' },
      'Hank',
    );
    expect(patch.status).toBe('pending_approval');
    const own = await as('Hank')(`/api/approvals/patches/${patch.id}/approve`, { body: { plan: patch.planHash } });
    expect(own.status).toBe(403);
    expect(((await own.json()) as { error: string }).error).toMatch(
      /Hank requested patch CVE-2026-4242 and cannot approve/,
    );
    const carol = await as('Carol')(`/api/approvals/patches/${patch.id}/approve`, { body: { plan: patch.planHash } });
    expect(carol.status).toBe(200);
    expect(((await carol.json()) as { status: string }).status).toBe('approved');
  });

  it('takes status updates only from the window owner or standby; the public page shows only public text', async () => {
    const start = new Date(app.clock.now().getTime() + 8 * 86_400_000);
    start.setUTCHours(2, 0, 0, 0);
    while (start.getUTCDay() !== 0) start.setUTCDate(start.getUTCDate() + 1);
    const created = await as('Alice')('/api/windows', {
      body: {
        title: 'Rotate leaked DB password',
        public_title: 'Database maintenance',
        public_description: 'Short interruptions of saving listings.',
        what: 'Rotate the app role password after the leak in ticket 4711',
        rollback: 'Restore the previous password from the vault',
        owner: 'Alice',
        standby: ['Hank'],
        components: ['Database'],
        start: start.toISOString(),
        end: new Date(start.getTime() + 3_600_000).toISOString(),
        class: 'security',
      },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const stranger = await as('Olga')(`/api/approvals/windows/${id}/updates`, {
      body: { message: 'All done!', phase: 'completed' },
    });
    expect(stranger.status).toBe(403);
    expect(((await stranger.json()) as { error: string }).error).toMatch(
      /Olga may not post updates on window #\d+: only its owner \(Alice\) or standby \(Hank\)/,
    );
    expect(
      (await as('Hank')(`/api/approvals/windows/${id}/updates`, { body: { message: 'Starting soon' } })).status,
    ).toBe(201);
    const huge = await as('Alice')(`/api/approvals/windows/${id}/updates`, {
      body: { message: 'z'.repeat(20 * 1024 * 1024) },
    });
    expect(huge.status).toBe(413);

    const page = await (await api.request('/status')).text();
    const json = await (await api.request('/status/status.json')).text();
    const feed = await (await api.request('/status/feed.atom')).text();
    for (const text of [page, json, feed]) {
      expect(text).not.toContain('Rotate leaked DB password');
      expect(text).not.toContain('ticket 4711');
    }
    expect(page).toContain('Database maintenance');
    expect(page).toContain('Short interruptions of saving listings.');
    expect(json).not.toContain('All done!');
  });
});

describe('failed sign-ins', () => {
  it('answers 429 after 20 wrong tokens from one address, for 100 tries, and records them without the token', async () => {
    const limited = createApi(app);
    const wrong = (i: number) => `ddk_${'0123456789ab'}_${String(i).padStart(43, 'A')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++)
      statuses.push((await limited.request('/api/runs', { headers: { authorization: `Bearer ${wrong(i)}` } })).status);
    expect(statuses.slice(0, 19).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Blocked means blocked: a right token from the same address waits too.
    const right = await limited.request('/api/runs', { headers: { authorization: `Bearer ${tokens.Vera}` } });
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toMatch(/^\d+$/);
    // Each failure is recorded, and the block once (not once per request, which would flood the log).
    const refused = await activity('access.refused');
    const blocked = refused.filter((a) => (a.data as { status: number }).status === 429);
    const failed = refused.filter(
      (a) =>
        (a.data as { status: number; path: string }).status === 401 && /unknown token id 0123456789ab/.test(a.message),
    );
    expect(failed.length).toBeGreaterThanOrEqual(19);
    expect(blocked.length).toBe(1);
    expect(blocked[0]!.message).toMatch(/GET \/api\/runs 429: too many failed sign-ins/);
    expect(JSON.stringify(refused)).not.toContain(wrong(5).slice(17));
  });
});
