// /api/alerts: current alert states, their history, and silences.
import { Hono } from 'hono';
import { systemClock, type Clock } from '../clock.js';
import { parseDuration } from '../policy/phrases.js';
import type { SqliteAlertStore } from '../store/sqlite/alerts.js';
import type { Silences } from './silences.js';
import { queryInt, readBodyLimited, TEXT_LIMITS, textField } from '../access/http-input.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function alertRoutes(options: { store: SqliteAlertStore; silences: Silences; clock?: Clock }): Hono {
  const app = new Hono();
  const clock = options.clock ?? systemClock;
  app.get('/api/alerts', (c) => {
    const all = c.req.query('all') === '1';
    const states = options.store.states().filter((s) => all || s.status !== 'inactive');
    return c.json(
      states.map((s) => ({
        ...s,
        since: iso(s.since),
        firedAt: iso(s.firedAt),
        lastSentAt: iso(s.lastSentAt),
        updatedAt: iso(s.updatedAt),
      })),
    );
  });
  app.get('/api/alerts/history', (c) => {
    const limit = queryInt(c, 'limit', { min: 1, max: 1000, fallback: 100 });
    const rule = c.req.query('rule');
    const rows = options.store.history({ ...(rule ? { rule } : {}), limit });
    return c.json(rows.map((r) => ({ ...r, at: iso(r.at) })));
  });
  app.get('/api/silences', (c) =>
    c.json(
      options.store
        .activeSilences(clock.now().getTime())
        .map((s) => ({ ...s, startsAt: iso(s.startsAt), endsAt: iso(s.endsAt) })),
    ),
  );
  app.post('/api/silences', async (c) => {
    const body = await readBodyLimited(c);
    if (typeof body.component !== 'string' || typeof body.reason !== 'string')
      return c.json({ error: 'expected {component, reason, for?}' }, 400);
    textField(body, 'component', TEXT_LIMITS.name);
    textField(body, 'reason', TEXT_LIMITS.reason);
    let endsAt: Date | undefined;
    if (body.for !== undefined) {
      if (typeof body.for !== 'string') return c.json({ error: 'for: expected a duration like "2 hours"' }, 400);
      const d = parseDuration(body.for);
      if (!d.ok) return c.json({ error: `for: expected ${d.expected}` }, 400);
      endsAt = new Date(clock.now().getTime() + d.value.ms);
    }
    // Who silenced it (proven by the access guard) stays with the silence.
    const by = (c.get as (key: string) => { name: string } | undefined)('principal')?.name;
    const reason = by ? `${body.reason} (by ${by})` : body.reason;
    const id = options.silences.begin(body.component, { reason, ...(endsAt ? { endsAt } : {}) });
    return c.json({ id }, 201);
  });
  app.delete('/api/silences/:id', (c) => {
    const lifted = options.silences.lift(Number(c.req.param('id')));
    return lifted ? c.body(null, 204) : c.json({ error: 'no such open silence' }, 404);
  });
  return app;
}
