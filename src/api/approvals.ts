// The HTTP side of approvals (a hono sub-app; the server mounts it, e.g. at /api/approvals):
//   GET  /windows/:id            the plan to review (change record, plan hash, approvals so far)
//   POST /windows/:id/approve    {plan, role?, comment?}
//   POST /windows/:id/refuse     {plan, comment?}
//   POST /windows/:id/updates    {message, phase?}   (a status update from the owner or standby)
//   GET  /patches                security patches with their SLA dates
//   POST /patches/:id/approve    {plan, comment?} / POST /patches/:id/refuse
// Every route needs `Authorization: Bearer <token>`. Tokens are hashed before lookup and never
// written anywhere; an unknown token gets 401, a person without the role 403, a stale plan 409.
// Mounted in the API, the access guard (src/access/middleware.ts) has already proven the person;
// on its own (tests) this sub-app checks the bearer token itself.
import { Hono, type Context } from 'hono';
import { DrydockError } from '../errors.js';
import { redactor } from '../policy/redact.js';
import type { WindowsService } from '../windows/service.js';
import type { PatchService } from '../approvals/patches.js';
import type { Person } from '../approvals/rules.js';
import type { Access } from '../access/access.js';
import type { Principal } from '../access/levels.js';
import { readBody } from '../access/middleware.js';
import { InputError, TEXT_LIMITS, textField } from '../access/limits.js';

export interface ApprovalRouteDeps {
  windows: WindowsService;
  patches?: PatchService;
  auth: Pick<Access, 'authenticate'>;
}

type Env = { Variables: { person: Person; principal?: Principal } };

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function fail(c: Context, error: unknown) {
  if (error instanceof InputError) return c.json({ error: error.message }, 400);
  if (error instanceof DrydockError) {
    const status =
      (error.details.status as 403 | 404 | 409 | undefined) ??
      (/^no (maintenance window|security patch) #/.test(error.message) ? 404 : 422);
    return c.json(
      { error: redactor.text(error.message), ...(error.details.reasons ? { reasons: error.details.reasons } : {}) },
      status,
    );
  }
  return c.json({ error: 'internal error' }, 500);
}

const body = readBody;

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

function windowId(c: Context): number | null {
  const id = Number(c.req.param('id'));
  return Number.isInteger(id) && id > 0 ? id : null;
}

export function approvalRoutes(deps: ApprovalRouteDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    const guarded = c.get('principal');
    const result = guarded ? null : await deps.auth.authenticate(bearer(c.req.header('authorization')));
    const person = guarded ?? (result?.ok ? result.principal : null);
    if (!person) {
      c.header('WWW-Authenticate', 'Bearer realm="drydock"');
      return c.json({ error: 'unknown or missing API token (send Authorization: Bearer <token>)' }, 401);
    }
    c.set('person', person);
    await next();
  });

  app.get('/windows/:id', (c) => {
    const id = windowId(c);
    if (!id) return c.json({ error: 'window id must be a positive whole number' }, 400);
    try {
      const story = deps.windows.showWindow(id);
      return c.json({ ...story, plan: story.window.planHash });
    } catch (error) {
      return fail(c, error);
    }
  });

  for (const [path, decision] of [
    ['approve', 'approved'],
    ['refuse', 'refused'],
  ] as const) {
    app.post(`/windows/:id/${path}`, async (c) => {
      const id = windowId(c);
      if (!id) return c.json({ error: 'window id must be a positive whole number' }, 400);
      const b = await body(c);
      const plan = text(b.plan);
      if (!plan)
        return c.json(
          { error: 'send {"plan": "<plan hash>"}: the hash of the plan you reviewed (GET /windows/:id shows it)' },
          400,
        );
      try {
        const role = textField(b, 'role', TEXT_LIMITS.name, true);
        const comment = textField(b, 'comment', TEXT_LIMITS.comment, true);
        const result = await deps.windows.decide(id, c.get('person'), {
          decision,
          planHash: plan,
          ...(role ? { role } : {}),
          ...(comment ? { comment } : {}),
        });
        return c.json({ id, status: result.window.status, missing: result.missing, decidedBy: c.get('person').name });
      } catch (error) {
        return fail(c, error);
      }
    });
  }

  app.post('/windows/:id/updates', async (c) => {
    const id = windowId(c);
    if (!id) return c.json({ error: 'window id must be a positive whole number' }, 400);
    const b = await body(c);
    const message = text(b.message);
    if (!message) return c.json({ error: 'send {"message": "..."}' }, 400);
    try {
      textField(b, 'message', TEXT_LIMITS.message);
      const phase = textField(b, 'phase', TEXT_LIMITS.label, true);
      const result = await deps.windows.postUpdate(id, { message, ...(phase ? { phase } : {}) }, c.get('person').name);
      return c.json(
        { update: result.update, delivered: result.notices.sent.length, failed: result.notices.failed.length },
        201,
      );
    } catch (error) {
      return fail(c, error);
    }
  });

  app.get('/patches', (c) => {
    if (!deps.patches) return c.json({ error: 'security patches are not enabled' }, 404);
    return c.json({ patches: deps.patches.store.patches() });
  });

  for (const [path, decision] of [
    ['approve', 'approved'],
    ['refuse', 'refused'],
  ] as const) {
    app.post(`/patches/:id/${path}`, async (c) => {
      if (!deps.patches) return c.json({ error: 'security patches are not enabled' }, 404);
      const id = windowId(c);
      if (!id) return c.json({ error: 'patch id must be a positive whole number' }, 400);
      const b = await body(c);
      const plan = text(b.plan);
      if (!plan) return c.json({ error: 'send {"plan": "<plan hash>"}' }, 400);
      try {
        const comment = textField(b, 'comment', TEXT_LIMITS.comment, true);
        const patch = await deps.patches.decidePatch(id, c.get('person'), {
          decision,
          planHash: plan,
          ...(comment ? { comment } : {}),
        });
        return c.json({ id, status: patch.status, dueAt: patch.dueAt.toISOString() });
      } catch (error) {
        return fail(c, error);
      }
    });
  }

  return app;
}
