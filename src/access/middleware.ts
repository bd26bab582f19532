// The one access check every HTTP request passes (createApi mounts it before any route):
//   1. the rule of the route (src/api/access-rules.ts); a request no rule covers is refused;
//   2. who is asking: `Authorization: Bearer <token>` or the session cookie; failures are rate
//      limited per address and per person;
//   3. the level or right the rule needs;
//   4. for writes: a body under http.max_body (413), and only JSON, or a form carrying the
//      session's CSRF token (415 otherwise): a page on another origin can send neither;
//   5. every write and every refusal goes to the activity log: who, what, when, the status and the
//      address, never a token.
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import { timingSafeEqual } from 'node:crypto';
import type { ActivityEntry } from '../store/types.js';
import type { Access } from './access.js';
import { atLeast, type Principal } from './levels.js';
import type { AuthLimiter } from './rate-limit.js';
import { sha256 } from './tokens.js';

export type Need = 'public' | 'metrics' | 'viewer' | 'operator' | 'approver' | 'admin';

export interface AccessRule {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A hono-style path: `:name` is one segment, a trailing `*` any rest. */
  path: string;
  need: Need;
}

export const SESSION_COOKIE = 'drydock_session';
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

export type AccessEnv = {
  Variables: { principal: Principal; form: Record<string, unknown> | undefined; csrf: string | undefined };
};

const compiled = new WeakMap<readonly AccessRule[], Array<{ rule: AccessRule; re: RegExp }>>();

export function ruleFor(rules: readonly AccessRule[], method: string, path: string): AccessRule | null {
  let list = compiled.get(rules);
  if (!list) {
    list = rules.map((rule) => ({
      rule,
      re: new RegExp(
        `^${rule.path
          .split('/')
          .map((part) =>
            part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('/')}/?$`,
      ),
    }));
    compiled.set(rules, list);
  }
  const m = method === 'HEAD' ? 'GET' : method;
  return list.find((r) => r.rule.method === m && r.re.test(path))?.rule ?? null;
}

export interface GuardOptions {
  access: Access;
  rules: readonly AccessRule[];
  limiter: AuthLimiter;
  activity: (entry: ActivityEntry) => void | Promise<void>;
  now: () => Date;
  maxBodyBytes: number;
  /** /metrics credentials (resolved secrets); unset means /metrics is public. */
  metricsAuth?: { bearer?: string; basic?: { user: string; password: string } } | undefined;
}

const REFUSALS = new Set([400, 401, 403, 404, 409, 413, 415, 422, 429]);
const isWrite = (method: string) => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';

function address(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // app.request() in tests has no socket.
    return 'local';
  }
}

function bearer(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
}

const same = (a: string, b: string) => {
  const x = sha256(a);
  const y = sha256(b);
  return timingSafeEqual(x, y);
};

function metricsAllowed(c: Context, auth: NonNullable<GuardOptions['metricsAuth']>): boolean {
  const header = c.req.header('authorization') ?? '';
  let ok = false;
  if (auth.bearer) {
    const token = bearer(c);
    if (token && same(token, auth.bearer)) ok = true;
  }
  if (auth.basic) {
    const m = /^Basic\s+(\S+)\s*$/i.exec(header);
    if (m) {
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (
        colon > 0 &&
        same(decoded.slice(0, colon), auth.basic.user) &&
        same(decoded.slice(colon + 1), auth.basic.password)
      )
        ok = true;
    }
  }
  return ok;
}

export function accessGuard(options: GuardOptions): MiddlewareHandler<AccessEnv>[] {
  const record = async (c: Context, principal: string | null, status: number, detail: string) => {
    const write = isWrite(c.req.method);
    const refused = REFUSALS.has(status);
    await options.activity({
      at: options.now(),
      kind: refused ? 'access.refused' : 'access.write',
      actor: principal,
      message:
        `${c.req.method} ${c.req.path} ${status}${principal ? ` by ${principal}` : ''}${detail ? `: ${detail}` : ''}`.slice(
          0,
          500,
        ),
      data: { method: c.req.method, path: c.req.path, status, address: address(c), write },
    });
  };

  const blockedRecorded = new Map<string, number>();
  const authenticate: MiddlewareHandler<AccessEnv> = async (c, next) => {
    const rule = ruleFor(options.rules, c.req.method, c.req.path);
    // Unknown paths are not recorded: a scanner would fill the activity log with them.
    if (!rule) return c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404);
    if (rule.need === 'public') return next();
    const from = address(c);
    const refuse = async (status: 401 | 403 | 429, error: string, who: string | null, retryAfter?: number) => {
      if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="drydock"');
      if (retryAfter) c.header('Retry-After', String(retryAfter));
      // A blocked address is recorded once a minute, not for every request it keeps sending.
      const key = `${from}|${who ?? ''}`;
      const last = status === 429 ? blockedRecorded.get(key) : undefined;
      if (last === undefined || Date.now() - last > 60_000) {
        if (status === 429) blockedRecorded.set(key, Date.now());
        await record(c, who, status, error);
      }
      return c.json({ error }, status);
    };
    const wait = await options.limiter.blocked(from);
    if (wait !== null) return refuse(429, `too many failed sign-ins from ${from}; try again in ${wait} s`, null, wait);

    if (rule.need === 'metrics') {
      if (!options.metricsAuth || metricsAllowed(c, options.metricsAuth)) return next();
      const blockedFor = await options.limiter.fail(from);
      if (blockedFor !== null)
        return refuse(429, `too many failed sign-ins; try again in ${blockedFor} s`, null, blockedFor);
      c.header(
        'WWW-Authenticate',
        options.metricsAuth.basic ? 'Basic realm="drydock metrics"' : 'Bearer realm="drydock metrics"',
      );
      await record(c, null, 401, 'wrong or missing /metrics credentials');
      return c.json({ error: '/metrics needs the credentials set in http.metrics_auth' }, 401);
    }

    let principal: Principal | null = null;
    let sessionCsrf: string | undefined;
    const token = bearer(c);
    if (token) {
      const result = await options.access.authenticate(token);
      if (!result.ok) {
        const blockedFor = await options.limiter.fail(from, result.person);
        if (blockedFor !== null)
          return refuse(
            429,
            `too many failed sign-ins; try again in ${blockedFor} s`,
            result.person ?? null,
            blockedFor,
          );
        return refuse(401, `unknown or revoked API token (${result.reason})`, result.person ?? null);
      }
      principal = result.principal;
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      const session = await options.access.session(cookie);
      if (cookie && !session) {
        const blockedFor = await options.limiter.fail(from);
        if (blockedFor !== null)
          return refuse(429, `too many failed sign-ins; try again in ${blockedFor} s`, null, blockedFor);
        return refuse(401, 'the session has expired or ended; sign in again', null);
      }
      if (session) {
        principal = session.principal;
        sessionCsrf = session.csrf;
      }
    }
    if (!principal) return refuse(401, 'sign in: send Authorization: Bearer <token> (drydock tokens issue)', null);
    const personWait = await options.limiter.blocked(from, principal.name);
    if (personWait !== null)
      return refuse(
        429,
        `too many failed sign-ins for ${principal.name}; try again in ${personWait} s`,
        principal.name,
        personWait,
      );

    const need = rule.need;
    const allowed =
      need === 'approver' ? principal.approver : need === 'viewer' ? true : atLeast(principal.level, need);
    if (!allowed)
      return refuse(
        403,
        need === 'approver'
          ? `${principal.name} holds no approval role (${principal.roles.join(', ') || 'no roles'})`
          : `${principal.name} has ${principal.level} access; ${c.req.method} ${c.req.path} needs ${need}`,
        principal.name,
      );
    c.set('principal', principal);
    c.set('csrf', sessionCsrf);
    await next();
    if (isWrite(c.req.method) || REFUSALS.has(c.res.status)) {
      let detail = '';
      if (REFUSALS.has(c.res.status)) {
        const body = (await c.res
          .clone()
          .json()
          .catch(() => null)) as { error?: unknown } | null;
        if (typeof body?.error === 'string') detail = body.error;
      }
      await record(c, principal.name, c.res.status, detail);
    }
  };

  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) =>
      c.json({ error: `request body too large: at most ${options.maxBodyBytes} bytes (http.max_body)` }, 413),
  }) as MiddlewareHandler<AccessEnv>;
  const bodies: MiddlewareHandler<AccessEnv> = async (c, next) => {
    if (!isWrite(c.req.method)) return next();
    return limitBody(c, next);
  };

  const contentType: MiddlewareHandler<AccessEnv> = async (c, next) => {
    if (!isWrite(c.req.method) || !c.get('principal')) return next();
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const csrf = c.get('csrf');
    if (type === 'application/json' || type === '') {
      if (type === '' && Number(c.req.header('content-length') ?? 0) > 0)
        return c.json({ error: 'send JSON (Content-Type: application/json)' }, 415);
      // A session (cookie) write also needs its CSRF token: cookies travel by themselves, headers do not.
      if (csrf !== undefined && !same(c.req.header(CSRF_HEADER) ?? '', csrf))
        return c.json({ error: `a signed-in browser write needs the ${CSRF_HEADER} header of its session` }, 403);
      return next();
    }
    if ((type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') && csrf !== undefined) {
      const form = (await c.req.parseBody()) as Record<string, unknown>;
      if (typeof form[CSRF_FIELD] !== 'string' || !same(form[CSRF_FIELD], csrf))
        return c.json({ error: `a form needs the session's CSRF token in ${CSRF_FIELD}` }, 403);
      c.set('form', form);
      return next();
    }
    return c.json({ error: `writes accept JSON only (Content-Type: application/json), got ${type || 'none'}` }, 415);
  };

  return [authenticate, bodies, contentType];
}

/** The body of a write: the form the guard checked, or the JSON object; anything else is {}. */
export async function readBody(c: Context): Promise<Record<string, unknown>> {
  const form = (c as Context<AccessEnv>).get('form');
  if (form) return form;
  const parsed = (await c.req.json().catch(() => null)) as unknown;
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}
