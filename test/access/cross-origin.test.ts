// The critical hole of issue 9: a page on any site could silence every alert through an operator's
// browser. Here a real headless Chromium holds an operator's signed-in session for the API, opens
// a page on another origin that posts to /api/silences (a text/plain form, a form-encoded form and
// a no-cors fetch with credentials), and nothing is silenced; each attempt is refused and recorded.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createApi } from '../../src/api/server.js';
import { SESSION_COOKIE } from '../../src/access/middleware.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { PEOPLE, tokenFor } from '../helpers/access.js';
import { serveApp } from '../approvals/serve.js';

let app: TestApp;
let apiServer: { url: string; close(): Promise<void> };
let attacker: Server;
let attackerUrl: string;
let browser: Browser;

const page = (target: string) => `<!DOCTYPE html><html><body>
<iframe name="sink"></iframe><iframe name="sink2"></iframe>
<form id="plain" method="POST" action="${target}/api/silences" enctype="text/plain" target="sink">
  <input name='{"component":"PostgreSQL","reason":"x","pad":"' value='"}'>
</form>
<form id="urlencoded" method="POST" action="${target}/api/silences" target="sink2">
  <input name="component" value="Redis"><input name="reason" value="x">
</form>
<script>
  document.getElementById('plain').submit();
  document.getElementById('urlencoded').submit();
  fetch('${target}/api/silences', { method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ component: 'host', reason: 'x' }) })
    .finally(() => { document.title = 'sent'; });
</script></body></html>`;

beforeAll(async () => {
  app = await testApp({ stakeholders: PEOPLE });
  apiServer = await serveApp(createApi(app));
  attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page(apiServer.url)));
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const port = (attacker.address() as { port: number }).port;
  // localhost and 127.0.0.1 are different sites to the browser.
  attackerUrl = `http://localhost:${port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => attacker?.close(() => resolve()));
  await apiServer?.close();
  await app?.dispose();
});

describe('a page on another origin', () => {
  it('cannot silence alerts through an operator’s signed-in browser', async () => {
    // Olga (operator) signs her browser in: the session cookie is the one the API sets.
    const olga = await tokenFor(app.store.db, 'Olga');
    const signIn = await fetch(`${apiServer.url}/api/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${olga}` },
    });
    expect(signIn.status).toBe(201);
    const cookie = /drydock_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
    expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(signIn.headers.get('set-cookie')).toMatch(/SameSite=Strict/);
    const context = await browser.newContext();
    await context.addCookies([
      { name: SESSION_COOKIE, value: cookie, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict' },
    ]);
    // The session works from the API's own origin (a same-site read).
    const own = await context.newPage();
    const whoami = await own.goto(`${apiServer.url}/api/whoami`);
    expect(await whoami?.json()).toMatchObject({ name: 'Olga', access: 'operator' });

    const evil = await context.newPage();
    await evil.goto(attackerUrl);
    await evil.waitForFunction(() => document.title === 'sent', undefined, { timeout: 20_000 });
    // Wait until the API has seen all three attempts (each is recorded), polling the activity log.
    const deadline = Date.now() + 20_000;
    let attempts: Awaited<ReturnType<typeof app.store.listActivity>> = [];
    while (Date.now() < deadline) {
      attempts = (await app.store.listActivity({ kind: 'access.refused', limit: 100 })).filter(
        (a) => (a.data as { path: string }).path === '/api/silences',
      );
      if (attempts.length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.every((a) => [401, 403, 415].includes((a.data as { status: number }).status))).toBe(true);
    expect(app.monitoring.alerts.activeSilences(Date.now())).toEqual([]);
    await context.close();
  }, 90_000);
});
