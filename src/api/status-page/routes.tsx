/** @jsxImportSource hono/jsx */
// The public, read-only status page as a hono sub-app (mount it at /status or at /):
//   GET /             the page (HTML, no JavaScript)
//   GET /status.json  the same data as JSON
//   GET /feed.atom    an Atom feed of maintenance updates
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Clock } from '../../clock.js';
import type { Policy } from '../../policy/schema.js';
import type { WindowStore } from '../../store/sqlite/windows.js';
import { statusSnapshot } from './data.js';
import { atomFeed } from './feed.js';
import { StatusPage } from './page.js';

export interface StatusPageDeps {
  store: WindowStore;
  clock: Clock;
  title?: string;
  /** Absolute URL where the page is served, for the feed's links (e.g. https://status.example.com/status). */
  baseUrl?: string;
  /** Components always listed, even before any health is recorded. */
  components?: readonly string[];
  historyDays?: number;
}

/** The page's title, components and base URL from the policy's status_page channel, if it has one. */
export function statusPageOptions(policy: Policy): Pick<StatusPageDeps, 'title' | 'components' | 'baseUrl'> {
  const page = Object.values(policy.channels).find((c) => c.type === 'status_page');
  return page && page.type === 'status_page'
    ? { title: page.title, components: page.components, ...(page.base_url ? { baseUrl: page.base_url } : {}) }
    : {};
}

export function statusPageRoutes(deps: StatusPageDeps): Hono {
  const app = new Hono();
  const title = deps.title ?? 'System status';
  const snapshot = () =>
    statusSnapshot(deps.store, deps.clock.now(), {
      ...(deps.components ? { components: deps.components } : {}),
      ...(deps.historyDays ? { historyDays: deps.historyDays } : {}),
    });

  app.get('/', async (c) => {
    c.header('cache-control', 'public, max-age=30');
    const base = c.req.path.replace(/\/+$/, '');
    return c.html(html`<!DOCTYPE html>${(<StatusPage snapshot={snapshot()} title={title} base={base} />)}`);
  });

  app.get('/status.json', (c) => {
    c.header('cache-control', 'public, max-age=30');
    return c.json(snapshot());
  });

  app.get('/feed.atom', (c) => {
    const base = deps.baseUrl ?? new URL(c.req.url).href.replace(/\/feed\.atom$/, '');
    c.header('content-type', 'application/atom+xml; charset=utf-8');
    return c.body(atomFeed(snapshot(), { title, baseUrl: base }));
  });

  return app;
}
