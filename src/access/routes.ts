// Issue 9's routes: who am I, browser sessions, tokens (admin), and the operator's writes: run a
// task now, cancel a run, schedule, reschedule and cancel windows. All JSON, checked by the access
// guard first (src/api/access-rules.ts), with bounded text fields; the guard records each one.
import type { Store } from '../store/types.js';
import { Hono, type Context } from 'hono';
import { setCookie, deleteCookie, getCookie } from 'hono/cookie';
import type { App } from '../app.js';
import { DrydockError } from '../errors.js';
import { parseWhen } from '../cli/commands/windows.js';
import type { WindowKind } from '../windows/types.js';
import { InputError, TEXT_LIMITS, textField } from './limits.js';
import { readBody, SESSION_COOKIE, type AccessEnv } from './middleware.js';

const list = (body: Record<string, unknown>, name: string): string[] => {
  const v = body[name];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length > TEXT_LIMITS.name) || v.length > 50)
    throw new InputError(`${name}: expected a list of at most 50 names`);
  return v as string[];
};

function positiveId(c: Context, what: string): number {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id < 1) throw new InputError(`${what} id: expected a positive whole number`);
  return id;
}

function failure(c: Context, error: unknown) {
  if (error instanceof InputError) return c.json({ error: error.message }, 400);
  if (error instanceof DrydockError) {
    const status = (error.details.status as 403 | 404 | 409 | undefined) ?? (/^no /.test(error.message) ? 404 : 422);
    return c.json(
      { error: error.message, ...(error.details.reasons ? { reasons: error.details.reasons } : {}) },
      status,
    );
  }
  throw error;
}

const when = (body: Record<string, unknown>, name: string) => {
  const text = textField(body, name, 64, true);
  if (!text) return undefined;
  try {
    return parseWhen(text, name);
  } catch (error) {
    throw new InputError((error as Error).message);
  }
};

/** What the operator routes use of the app. */
export type OperatorDeps = Pick<App, 'access' | 'registry' | 'daemon' | 'engine'> & {
  store: Store;
  windows: Pick<App['windows'], 'service'>;
};

export function operatorRoutes(app: OperatorDeps): Hono<AccessEnv> {
  const r = new Hono<AccessEnv>();

  r.get('/api/whoami', (c) => {
    const p = c.get('principal');
    return c.json({ name: p.name, roles: p.roles, access: p.level, approver: p.approver });
  });

  // A token holder signs a browser in: an HttpOnly, SameSite=Strict cookie (Secure behind TLS) and
  // a CSRF token that every form or fetch of that session must carry.
  r.post('/api/session', async (c) => {
    const session = await app.access.createSession(c.get('principal'));
    const tls = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
    setCookie(c, SESSION_COOKIE, session.cookie, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: tls,
      path: '/',
      expires: session.expiresAt,
    });
    return c.json({ csrf: session.csrf, expiresAt: session.expiresAt.toISOString() }, 201);
  });
  r.delete('/api/session', async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) await app.access.endSession(cookie);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });

  r.get('/api/tokens', async (c) => c.json(await app.access.list(c.get('principal'))));
  r.post('/api/tokens', async (c) => {
    const b = await readBody(c);
    try {
      const person = textField(b, 'person', TEXT_LIMITS.name);
      const label = textField(b, 'label', TEXT_LIMITS.label, true) ?? '';
      const issued = await app.access.issue(c.get('principal'), person, label);
      // Shown once; only the hash of its secret is kept.
      return c.json({ id: issued.id, token: issued.token, person }, 201);
    } catch (error) {
      return failure(c, error);
    }
  });
  r.delete('/api/tokens/:which', async (c) => {
    try {
      const count = await app.access.revoke(c.get('principal'), decodeURIComponent(c.req.param('which')));
      return c.json({ revoked: count });
    } catch (error) {
      return failure(c, error);
    }
  });

  r.post('/api/tasks/:id/run', (c) => {
    const id = c.req.param('id');
    const task = app.registry.get(id);
    if (!task) return c.json({ error: `no task ${id}` }, 404);
    if (!task.implemented) return c.json({ error: `task ${id} is not implemented in this version` }, 409);
    // Started, not awaited: the run is recorded like any other and appears in /api/runs.
    void app.daemon.launch(id, { trigger: 'manual', slotAt: null, attempt: 1 });
    return c.json({ task: id, started: true, by: c.get('principal').name }, 202);
  });

  r.post('/api/runs/:id/cancel', async (c) => {
    const id = positiveId(c, 'run');
    const run = await app.store.getRun(id);
    if (!run) return c.json({ error: `no run #${id}` }, 404);
    if (run.status !== 'running') return c.json({ error: `run #${id} is not running (${run.status})` }, 409);
    const who = c.get('principal').name;
    if (!app.engine.cancel(id, `cancelled by ${who}`))
      return c.json({ error: `run #${id} runs in another Drydock process (${run.instanceId})` }, 409);
    return c.json({ run: id, cancelling: true, by: who }, 202);
  });

  r.post('/api/windows', async (c) => {
    const b = await readBody(c);
    try {
      const kind = textField(b, 'kind', 20, true) ?? 'planned';
      if (!['planned', 'regular', 'emergency'].includes(kind))
        throw new InputError('kind: expected planned, regular or emergency');
      const taskClass = textField(b, 'class', 20, true) ?? 'maintenance';
      if (!['maintenance', 'security', 'critical_bug'].includes(taskClass))
        throw new InputError('class: expected maintenance, security or critical_bug');
      const start = when(b, 'start');
      const end = when(b, 'end');
      const publicTitle = textField(b, 'public_title', TEXT_LIMITS.title, true);
      const publicDescription = textField(b, 'public_description', TEXT_LIMITS.description, true);
      const { window, notices } = await app.windows.service.scheduleWindow({
        kind: kind as WindowKind,
        title: textField(b, 'title', TEXT_LIMITS.title),
        ...(start ? { start } : {}),
        ...(end ? { end } : {}),
        summary: textField(b, 'what', TEXT_LIMITS.description),
        rollbackPlan: textField(b, 'rollback', TEXT_LIMITS.description),
        owner: textField(b, 'owner', TEXT_LIMITS.name),
        standby: list(b, 'standby'),
        components: list(b, 'components'),
        tasks: list(b, 'tasks'),
        taskClass: taskClass as 'maintenance' | 'security' | 'critical_bug',
        requestedBy: c.get('principal').name,
        ...(publicTitle ? { publicTitle } : {}),
        ...(publicDescription ? { publicDescription } : {}),
      });
      return c.json(
        {
          id: window.id,
          status: window.status,
          plan: window.planHash,
          notices: { delivered: notices.sent.length, failed: notices.failed.length },
        },
        201,
      );
    } catch (error) {
      return failure(c, error);
    }
  });

  r.post('/api/windows/:id/reschedule', async (c) => {
    const b = await readBody(c);
    try {
      const id = positiveId(c, 'window');
      const start = when(b, 'start');
      const end = when(b, 'end');
      if (!start || !end) throw new InputError('start and end: required');
      const reason = textField(b, 'reason', TEXT_LIMITS.reason, true);
      const { window } = await app.windows.service.rescheduleWindow(
        id,
        { start, end, ...(reason ? { reason } : {}) },
        c.get('principal').name,
      );
      return c.json({ id, status: window.status, plan: window.planHash });
    } catch (error) {
      return failure(c, error);
    }
  });

  r.post('/api/windows/:id/cancel', async (c) => {
    const b = await readBody(c);
    try {
      const id = positiveId(c, 'window');
      const reason = textField(b, 'reason', TEXT_LIMITS.reason);
      await app.windows.service.cancelWindow(id, reason, c.get('principal').name);
      return c.json({ id, status: 'cancelled' });
    } catch (error) {
      return failure(c, error);
    }
  });

  return r;
}
