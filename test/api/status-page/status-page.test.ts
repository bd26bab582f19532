/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { Hono } from 'hono';
import { chromium, type Browser } from 'playwright-core';
import { fixedClock } from '../../../src/clock.js';
import { policySchema } from '../../../src/policy/schema.js';
import { openSqlite, type SqliteDatabase } from '../../../src/store/sqlite/open.js';
import { buildChannels } from '../../../src/notify/channels/registry.js';
import { statusPagePublisher } from '../../../src/notify/channels/status-page.js';
import { WindowStore } from '../../../src/store/sqlite/windows.js';
import { pino } from 'pino';
import { WindowsService } from '../../../src/windows/service.js';
import { statusPageRoutes } from '../../../src/api/status-page/routes.js';
import { statusSnapshot } from '../../../src/api/status-page/data.js';
import { serveApp } from '../../approvals/serve.js';

const ROLLBACK = 'Restore the 01:00 base backup and replay WAL to 01:59';

let db: SqliteDatabase;
let service: WindowsService;
let clock: ReturnType<typeof fixedClock>;
let server: { url: string; close(): Promise<void> };
let browser: Browser;

async function buildHistory(): Promise<void> {
  const policy = policySchema.parse({
    channels: { log: { type: 'log' }, status: { type: 'status_page' } },
    stakeholders: [
      { name: 'Alice', roles: ['SRE'], channels: [] },
      { name: 'Carol', roles: ['CTO'], channels: [] },
    ],
  });
  db = openSqlite(':memory:');
  clock = fixedClock(new Date('2026-11-01T00:00:00Z'));
  const { channels } = buildChannels(policy, {
    logger: pino({ level: 'silent' }),
    env: {},
    statusPage: statusPagePublisher(new WindowStore(db), clock),
  });
  service = new WindowsService({
    db,
    policy,
    clock,
    channels,
    healthCheck: async () => ({ ok: true, checks: [{ name: 'api', ok: true, detail: 'HTTP 200' }] }),
    sleep: async () => {},
  });
  const change = { rollbackPlan: ROLLBACK, owner: 'Alice', requestedBy: 'Alice', standby: ['Carol'] };
  const redis = await service.scheduleWindow({
    ...change,
    title: 'Redis 7.2 upgrade',
    publicTitle: 'Redis 7.2 upgrade',
    summary: 'Upgrade the cache servers to Redis 7.2.',
    components: ['Cache'],
    start: new Date('2026-11-15T02:00:00Z'),
    end: new Date('2026-11-15T04:00:00Z'),
  });
  const pg = await service.scheduleWindow({
    ...change,
    title: 'PostgreSQL 15.8 upgrade',
    publicTitle: 'PostgreSQL 15.8 upgrade',
    summary: 'Minor upgrade of the primary and its replica; writes pause for up to 10 minutes.',
    components: ['Database', 'API'],
    start: new Date('2026-11-29T02:00:00Z'),
    end: new Date('2026-11-29T04:00:00Z'),
  });
  const lb = await service.scheduleWindow({
    ...change,
    title: 'Load balancer swap',
    publicTitle: 'Load balancer swap',
    summary: 'Replace the load balancer pair.',
    components: ['API'],
    start: new Date('2026-11-22T02:00:00Z'),
    end: new Date('2026-11-22T03:00:00Z'),
  });
  await service.scheduleWindow({
    ...change,
    kind: 'regular',
    title: 'Monthly maintenance',
    publicTitle: 'Monthly maintenance',
    summary: 'Operating system and runtime updates.',
    components: ['API'],
  });
  await service.cancelWindow(lb.window.id, 'the new hardware was not delivered', 'Alice');
  clock.set(new Date('2026-11-15T02:00:00Z'));
  await service.startWindow(redis.window.id, 'Alice');
  clock.set(new Date('2026-11-15T02:40:00Z'));
  await service.postUpdate(redis.window.id, { message: 'Replicas upgraded; failing over the primary.' }, 'Alice');
  clock.set(new Date('2026-11-15T03:30:00Z'));
  await service.completeWindow(redis.window.id, {}, 'Alice');
  clock.set(new Date('2026-11-26T12:00:00Z'));
  await service.scheduleWindow({
    ...change,
    kind: 'emergency',
    taskClass: 'critical_bug',
    title: 'Secret emergency request',
    summary: 'not public yet',
    start: new Date('2026-11-26T14:00:00Z'),
    end: new Date('2026-11-26T15:00:00Z'),
  });
  const withdrawn = await service.scheduleWindow({
    ...change,
    kind: 'emergency',
    taskClass: 'critical_bug',
    title: 'Withdrawn emergency request',
    summary: 'never announced',
    start: new Date('2026-11-26T16:00:00Z'),
    end: new Date('2026-11-26T17:00:00Z'),
  });
  await service.cancelWindow(withdrawn.window.id, 'not needed after all', 'Alice');
  clock.set(new Date('2026-11-29T02:00:00Z'));
  await service.startWindow(pg.window.id, 'Alice');
  clock.set(new Date('2026-11-29T02:20:00Z'));
  await service.postUpdate(pg.window.id, { message: 'Primary upgraded; replica next.', phase: 'verifying' }, 'Alice');
  service.store.setComponent('Search', 'operational', '', clock.now());
  clock.set(new Date('2026-11-29T02:30:00Z'));
}

beforeAll(async () => {
  await buildHistory();
  const app = new Hono().route(
    '/status',
    statusPageRoutes({ store: service.store, clock, title: 'Dokkerr status', components: ['Search'] }),
  );
  server = await serveApp(app);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync('test-results', { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  db?.close();
});

describe('public status page in headless Chromium', () => {
  it('shows a phone visitor components, the maintenance in progress, what is scheduled and recent history, without JavaScript', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      javaScriptEnabled: false,
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${server.url}/status`);
      expect(response?.status()).toBe(200);
      await page.screenshot({ path: 'test-results/status-page-phone.png', fullPage: true });

      expect(await page.title()).toBe('Dokkerr status');
      expect((await page.locator('[role=status]').innerText()).trim()).toBe('Maintenance in progress');
      const component = (name: string) => page.locator(`li[data-component="${name}"]`).innerText();
      expect(await component('Database')).toMatch(/Database\s+Under maintenance/);
      expect(await component('API')).toMatch(/API\s+Under maintenance/);
      expect(await component('Cache')).toMatch(/Cache\s+Operational/);
      expect(await component('Search')).toMatch(/Search\s+Operational/);

      const now = page.locator('#in-progress article');
      expect(await now.count()).toBe(1);
      const nowText = await now.innerText();
      expect(nowText).toContain('PostgreSQL 15.8 upgrade');
      expect(nowText).toContain('Sun 2026-11-29 02:00 UTC – 04:00 UTC');
      expect(nowText).toContain('In progress');
      expect(nowText).toMatch(/verifying\s+Sun 2026-11-29 02:20 UTC: Primary upgraded; replica next\./i);
      expect(nowText).toContain('Affects: Database, API');

      expect(await page.locator('#upcoming').innerText()).toContain('Monthly maintenance');
      expect(await page.locator('#upcoming').innerText()).toContain('Sun 2026-12-06 02:00 UTC – 06:00 UTC');
      const history = await page.locator('#history').innerText();
      expect(history).toMatch(/Redis 7\.2 upgrade[\s\S]*Completed[\s\S]*Replicas upgraded; failing over the primary\./);
      expect(history).toMatch(/Load balancer swap[\s\S]*Cancelled/);

      const body = await page.locator('body').innerText();
      for (const secret of [
        'Secret emergency request',
        'Withdrawn emergency request',
        ROLLBACK,
        'Carol',
        'Approved by',
      ])
        expect(body).not.toContain(secret);
      expect(await page.locator('script').count()).toBe(0);
      // Readable on a phone: nothing wider than the screen, text at a readable size.
      const widths = await page.locator('main').evaluate((el) => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        font: getComputedStyle(el).fontSize,
      }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      expect(parseFloat(widths.font)).toBeGreaterThanOrEqual(16);
    } finally {
      await context.close();
    }
  });

  it('serves JSON and a well-formed Atom feed', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      expect((await page.goto(`${server.url}/status`))?.status()).toBe(200);
      await page.click('text=Atom feed');
      expect(page.url()).toBe(`${server.url}/status/feed.atom`);
      await page.goto(`${server.url}/status`);
      await page.screenshot({ path: 'test-results/status-page-desktop.png', fullPage: true });
      const json = (await (await fetch(`${server.url}/status/status.json`)).json()) as ReturnType<
        typeof statusSnapshot
      >;
      expect(json.overall).toEqual({ status: 'under_maintenance', text: 'Maintenance in progress' });
      expect(json.upcoming.map((w) => w.title)).toEqual(['Monthly maintenance']);
      expect(JSON.stringify(json)).not.toContain(ROLLBACK);
      const feedResponse = await fetch(`${server.url}/status/feed.atom`);
      expect(feedResponse.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
      const xml = await feedResponse.text();
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'application/xml');
        return {
          error: doc.getElementsByTagName('parsererror').length,
          root: doc.documentElement.namespaceURI,
          titles: Array.from(doc.getElementsByTagName('entry')).map(
            (e) => e.getElementsByTagName('title')[0]?.textContent ?? '',
          ),
        };
      }, xml);
      expect(parsed.error).toBe(0);
      expect(parsed.root).toBe('http://www.w3.org/2005/Atom');
      expect(parsed.titles[0]).toBe('PostgreSQL 15.8 upgrade: verifying');
      expect(parsed.titles).toContain('Load balancer swap: cancelled');
      expect(parsed.titles.some((t) => t.startsWith('Secret emergency'))).toBe(false);
    } finally {
      await context.close();
    }
  });
});
