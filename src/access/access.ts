// Who is asking: tokens (issued ones, policy ones, pre-issue-9 ones), browser sessions, and the
// admin acts on tokens (the one-time setup, issue, revoke, list), each recorded in the activity log.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../engine/clock.js';
import { DrydockError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { resolveSecret } from '../policy/secrets.js';
import type { ActivityEntry } from '../store/types.js';
import { atLeast, principalFor, type Principal } from './levels.js';
import { tokenWeakness } from './strength.js';
import type { AccessStore, TokenRecord } from './token-store.js';
import { newToken, parseToken, secretMatches, sha256 } from './tokens.js';

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string; person?: string };

export interface Session {
  /** The cookie value (shown once, to the browser). */
  cookie: string;
  csrf: string;
  expiresAt: Date;
}

export interface AccessDeps {
  policy: Policy;
  store: AccessStore;
  clock: Clock;
  env?: NodeJS.ProcessEnv;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
  /** How long a browser session lasts. */
  sessionTtlMs?: number;
}

export class Access {
  private readonly policyTokens: Array<{ name: string; hash: Buffer }>;

  constructor(private readonly deps: AccessDeps) {
    const env = deps.env ?? process.env;
    const problems: string[] = [];
    this.policyTokens = [];
    deps.policy.stakeholders.forEach((s, i) => {
      if (!s.token) return;
      const where = `stakeholders.${i}.token`;
      const value = resolveSecret(s.token, where, env)!;
      const weak = tokenWeakness(value);
      if (weak) problems.push(`${where} (${s.name}): ${weak}`);
      else this.policyTokens.push({ name: s.name, hash: sha256(value) });
    });
    if (problems.length)
      throw new DrydockError('CONFIG_INVALID', `policy tokens refused: ${problems.join('; ')}`, {
        hint: 'issue tokens with `drydock tokens issue` instead, or set a long random value',
      });
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private async record(kind: string, actor: string | null, message: string, data: Record<string, unknown>) {
    await this.deps.activity?.({ at: this.now(), kind, actor, message, data });
  }

  /** The person a bearer token proves; never throws, never logs the token. */
  async authenticate(token: string | undefined): Promise<AuthResult> {
    if (!token) return { ok: false, reason: 'no token' };
    const parsed = parseToken(token);
    if (parsed) {
      const record = await this.deps.store.token(parsed.id);
      if (!record) return { ok: false, reason: `unknown token id ${parsed.id}` };
      if (!secretMatches(parsed.secret, record.secretHash))
        return { ok: false, reason: `wrong secret for token ${parsed.id}`, person: record.person };
      if (record.revokedAt) return { ok: false, reason: `token ${parsed.id} was revoked`, person: record.person };
      const principal = principalFor(this.deps.policy, record.person, { kind: 'token', tokenId: record.id });
      if (!principal)
        return {
          ok: false,
          reason: `${record.person} is no longer a stakeholder in the policy`,
          person: record.person,
        };
      return { ok: true, principal };
    }
    const digest = sha256(token);
    let match: string | undefined;
    // Every policy token is compared (no early exit), in constant time.
    for (const p of this.policyTokens) if (timingSafeEqual(p.hash, digest)) match = p.name;
    if (match) {
      const principal = principalFor(this.deps.policy, match, { kind: 'policy-token' });
      if (principal) return { ok: true, principal };
    }
    // Tokens from before issue 9 (`ddk_<random>`, kept in api_tokens) are not accepted: anyone could
    // mint them without authority, so they cannot prove who someone is. An admin issues new ones.
    return { ok: false, reason: 'unknown token' };
  }

  /** The person of DRYDOCK_TOKEN or DRYDOCK_TOKEN_FILE, for the CLI; a clear error otherwise. */
  async fromEnvironment(env: NodeJS.ProcessEnv, doing: string): Promise<Principal> {
    let token = env.DRYDOCK_TOKEN;
    if (!token && env.DRYDOCK_TOKEN_FILE) token = resolveSecret({ file: env.DRYDOCK_TOKEN_FILE }, 'DRYDOCK_TOKEN_FILE');
    if (!token)
      throw new DrydockError(
        'USAGE',
        `${doing} needs your API token in DRYDOCK_TOKEN or a file named by DRYDOCK_TOKEN_FILE: Drydock records who acts from the token, never from a name typed on the command line`,
        { hint: 'an admin issues tokens with `drydock tokens issue <your name>`' },
      );
    const result = await this.authenticate(token);
    if (!result.ok) {
      await this.record('access.refused', result.person ?? null, `CLI: ${doing} refused: ${result.reason}`, {
        status: 401,
        via: 'cli',
      });
      throw new DrydockError('USAGE', `${doing}: the token given is not valid (${result.reason})`, {
        hint: 'ask an admin for a new token (`drydock tokens issue <your name>`)',
      });
    }
    return result.principal;
  }

  /** Refuses (recorded) unless the principal has the level; returns them. */
  async require(principal: Principal, level: 'operator' | 'admin', doing: string): Promise<Principal> {
    if (atLeast(principal.level, level)) return principal;
    await this.record('access.refused', principal.name, `${principal.name} may not ${doing}: needs ${level} access`, {
      status: 403,
      level: principal.level,
    });
    throw new DrydockError(
      'USAGE',
      `${principal.name} has ${principal.level} access; ${doing} needs ${level} (stakeholders[].access in the policy)`,
    );
  }

  private stakeholder(person: string): void {
    if (!this.deps.policy.stakeholders.some((s) => s.name === person))
      throw new DrydockError('USAGE', `"${person}" is not a stakeholder in the policy`, {
        hint: 'add them under stakeholders: with their roles and access level',
      });
  }

  /**
   * The very first admin token, once per state file: the person must be a stakeholder with
   * `access: admin`. A second call is refused (and recorded): later tokens come from an admin.
   */
  async init(person: string, label = 'setup'): Promise<{ id: string; token: string }> {
    this.stakeholder(person);
    const who = principalFor(this.deps.policy, person, { kind: 'setup' })!;
    if (who.level !== 'admin')
      throw new DrydockError('USAGE', `${person} has ${who.level} access; the first token is for an admin`, {
        hint: `set access: admin on ${person} under stakeholders: in the policy`,
      });
    const done = await this.deps.store.setup();
    if (done) {
      await this.record('access.refused', person, `tokens init refused: already done for ${done.person}`, {
        status: 409,
        setupAt: done.at.toISOString(),
      });
      throw new DrydockError(
        'USAGE',
        `tokens init was already done on ${done.at.toISOString()} (for ${done.person}); ask an admin to issue a token`,
      );
    }
    const t = newToken();
    if (!(await this.deps.store.recordSetup(person, t.id, this.now())))
      throw new DrydockError('USAGE', 'tokens init was already done; ask an admin to issue a token');
    await this.deps.store.insertToken({
      id: t.id,
      person,
      secretHash: t.secretHash,
      label,
      createdAt: this.now(),
      createdBy: 'setup',
    });
    await this.record('token.init', person, `first admin token ${t.id} created for ${person} (tokens init)`, {
      tokenId: t.id,
    });
    return { id: t.id, token: t.token };
  }

  /** Whether `tokens init` was done on this state file. */
  async setupDone(): Promise<boolean> {
    return (await this.deps.store.setup()) !== null;
  }

  async issue(issuer: Principal, person: string, label = ''): Promise<{ id: string; token: string }> {
    await this.require(issuer, 'admin', `issue a token for ${person}`);
    this.stakeholder(person);
    const t = newToken();
    await this.deps.store.insertToken({
      id: t.id,
      person,
      secretHash: t.secretHash,
      label,
      createdAt: this.now(),
      createdBy: issuer.name,
    });
    await this.record('token.issued', issuer.name, `${issuer.name} issued token ${t.id} for ${person}`, {
      tokenId: t.id,
      person,
      label,
    });
    return { id: t.id, token: t.token };
  }

  /** Revokes a token by id (12 hex characters) or every token of a person. */
  async revoke(issuer: Principal, which: string): Promise<number> {
    await this.require(issuer, 'admin', `revoke tokens of ${which}`);
    const byId = /^[0-9a-f]{12}$/.test(which);
    const count = await this.deps.store.revoke(byId ? { id: which } : { person: which }, this.now(), issuer.name);
    await this.record('token.revoked', issuer.name, `${issuer.name} revoked ${count} token(s) of ${which}`, {
      which,
      count,
    });
    return count;
  }

  async list(issuer: Principal): Promise<Array<Omit<TokenRecord, 'secretHash'>>> {
    await this.require(issuer, 'admin', 'list tokens');
    return (await this.deps.store.tokens()).map(({ secretHash: _hash, ...rest }) => rest);
  }

  async createSession(principal: Principal): Promise<Session> {
    const cookie = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const expiresAt = new Date(this.now().getTime() + (this.deps.sessionTtlMs ?? 12 * 3_600_000));
    await this.deps.store.insertSession({
      idHash: sha256(cookie),
      person: principal.name,
      csrf,
      createdAt: this.now(),
      expiresAt,
    });
    await this.record('session.created', principal.name, `${principal.name} signed in`, {
      expiresAt: expiresAt.toISOString(),
    });
    return { cookie, csrf, expiresAt };
  }

  async session(cookie: string | undefined): Promise<{ principal: Principal; csrf: string } | null> {
    if (!cookie) return null;
    const s = await this.deps.store.session(sha256(cookie), this.now());
    if (!s) return null;
    const principal = principalFor(this.deps.policy, s.person, { kind: 'session' });
    return principal ? { principal, csrf: s.csrf } : null;
  }

  async endSession(cookie: string): Promise<void> {
    await this.deps.store.deleteSession(sha256(cookie));
  }
}
