// Issue 9: tokens written in the policy must be long and random; /metrics takes its own
// credentials; the state file is 0600; the one-time setup is recorded; an operator runs a task now
// and cancels a run over HTTP; failed sign-ins for one person are limited across addresses.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/server.js';
import { AuthLimiter } from '../../src/access/rate-limit.js';
import { tokenWeakness } from '../../src/access/strength.js';
import type { ImplementedTask } from '../../src/engine/types.js';
import { schedule } from '../helpers/phrases.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { asPerson, PEOPLE, tokenFor } from '../helpers/access.js';

const STRONG = 'mtr_4Qz8Kp2Wx7Lr9Tv3Nb6Hc1Jd5Gf0YsA';

describe('tokens written in the policy', () => {
  it('are refused when short or guessable, naming the key', async () => {
    expect(tokenWeakness('short-token')).toMatch(/11 characters; at least 32/);
    expect(tokenWeakness('passwordpasswordpasswordpassword1')).toMatch(/guessable/);
    expect(tokenWeakness('abcdefghijklmnopqrstuvwxyz0123456789')).toMatch(/guessable/);
    expect(tokenWeakness(STRONG)).toBeNull();
    await expect(
      testApp(
        { stakeholders: [{ name: 'Carol', roles: ['CTO'], token: { env: 'WEAK' } }] },
        { env: { WEAK: 'carol-token-0123456789-abcdefghij' } },
      ),
    ).rejects.toThrow(/stakeholders\.0\.token \(Carol\): it is guessable/);
  });

  it('protect /metrics with its own bearer or basic credentials', async () => {
    const app = await testApp(
      { http: { metrics_auth: { bearer: { env: 'M_BEARER' }, basic: { user: 'prom', password: { env: 'M_PASS' } } } } },
      { env: { M_BEARER: STRONG, M_PASS: `${STRONG}x` } },
    );
    try {
      const api = createApi(app, { env: { M_BEARER: STRONG, M_PASS: `${STRONG}x` } });
      expect((await api.request('/metrics')).status).toBe(401);
      expect((await api.request('/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await api.request('/metrics', { headers: { authorization: `Bearer ${STRONG}` } })).status).toBe(200);
      const basic = Buffer.from(`prom:${STRONG}x`).toString('base64');
      expect((await api.request('/metrics', { headers: { authorization: `Basic ${basic}` } })).status).toBe(200);
      expect(() => createApi(app, { env: { M_BEARER: 'prometheus-scrape', M_PASS: `${STRONG}x` } })).toThrow(
        /http\.metrics_auth\.bearer: it has 17 characters/,
      );
    } finally {
      await app.dispose();
    }
  });
});

const slow: ImplementedTask = {
  id: 'database.vacuum',
  title: 'a stand-in that waits until it is cancelled',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: () => schedule('daily', '03:00 UTC'),
  resources: () => [],
  execute: (ctx) =>
    new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
    }),
  validate: async () => ({ ok: true, checks: [] }),
};

let app: TestApp;
beforeAll(async () => {
  app = await testApp({ stakeholders: PEOPLE }, { tasks: [slow] });
});
afterAll(() => app.dispose());

describe('the state file and the operator routes', () => {
  it('keeps the state file and its WAL readable by its owner only', () => {
    for (const suffix of ['', '-wal', '-shm'])
      expect((statSync(join(app.dir, `state.sqlite${suffix}`)).mode & 0o777).toString(8)).toBe('600');
  });

  it('records the one-time setup and refuses a second one', async () => {
    const first = await app.access.init('Ada');
    expect(first.token).toMatch(/^ddk_[0-9a-f]{12}_/);
    await expect(app.access.init('Ada')).rejects.toThrow(/already done/);
    await expect(app.access.init('Olga')).rejects.toThrow(/Olga has operator access; the first token is for an admin/);
    const kinds = (await app.store.listActivity({ limit: 50 })).map((a) => `${a.kind} ${a.actor}`);
    expect(kinds).toEqual(expect.arrayContaining(['token.init Ada', 'access.refused Ada']));
  });

  it('no longer accepts tokens minted the old way (without authority)', async () => {
    const old = 'ddk_mintedWithoutAuthority0123456789abcdefgh';
    app.store.db
      .prepare('INSERT INTO api_tokens (person, token_hash, label, created_at) VALUES (?, ?, ?, ?)')
      .run('Carol', createHash('sha256').update(old).digest('hex'), 'old', Date.now());
    expect(await app.access.authenticate(old)).toEqual({ ok: false, reason: 'unknown token' });
  });

  it('lets an operator run a task now and cancel the run, and nobody else', async () => {
    const api = createApi(app);
    const olga = asPerson(api, await tokenFor(app.store.db, 'Olga'));
    const vera = asPerson(api, await tokenFor(app.store.db, 'Vera'));
    expect((await vera('/api/tasks/database.vacuum/run', { method: 'POST' })).status).toBe(403);
    expect((await olga('/api/tasks/no.such/run', { method: 'POST' })).status).toBe(404);
    const started = await olga('/api/tasks/database.vacuum/run', { method: 'POST' });
    expect(started.status).toBe(202);
    let running: Awaited<ReturnType<typeof app.store.openRuns>> = [];
    for (let i = 0; i < 100 && running.length === 0; i++) {
      running = await app.store.openRuns('database.vacuum');
      if (running.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    const id = running[0]!.id;
    expect((await vera(`/api/runs/${id}/cancel`, { method: 'POST' })).status).toBe(403);
    expect((await olga(`/api/runs/${id}/cancel`, { method: 'POST' })).status).toBe(202);
    let run = await app.store.getRun(id);
    for (let i = 0; i < 100 && run?.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      run = await app.store.getRun(id);
    }
    expect(run?.status).toBe('interrupted');
    expect((await olga(`/api/runs/${id}/cancel`, { method: 'POST' })).status).toBe(409);
    const writes = (await app.store.listActivity({ kind: 'access.write', limit: 20 })).map((a) => a.message);
    expect(writes).toEqual(expect.arrayContaining([`POST /api/runs/${id}/cancel 202 by Olga`]));
  });
});

describe('failed sign-ins per person', () => {
  it('block a person whose token is guessed from many addresses', async () => {
    const limiter = new AuthLimiter({ points: 5 });
    for (let i = 0; i < 5; i++) expect(await limiter.fail(`10.0.0.${i}`, 'Carol')).toBeNull();
    expect(await limiter.fail('10.0.0.99', 'Carol')).toBeGreaterThan(0);
    expect(await limiter.blocked('10.0.0.100', 'Carol')).toBeGreaterThan(0);
    expect(await limiter.blocked('10.0.0.100', 'Hank')).toBeNull();
  });
});
