// Per-person API tokens. Drydock stores only a SHA-256 hash: issued tokens are shown once, and
// tokens named in the policy (stakeholders[].token, a secret reference) are hashed when loaded.
// A presented token is hashed and looked up; the token itself is never logged or stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Policy } from '../policy/schema.js';
import { redactor } from '../policy/redact.js';
import { resolveSecret } from '../policy/secrets.js';
import type { ApprovalStore } from '../store/sqlite/approvals.js';
import type { Person } from './rules.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Issues a new token for a person; the returned token is shown once and only its hash is kept. */
export function issueToken(store: ApprovalStore, person: string, label: string, at: Date): string {
  const token = `ddk_${randomBytes(24).toString('base64url')}`;
  redactor.register(token);
  store.addTokenHash(person, hashToken(token), label, at);
  return token;
}

export interface Authenticator {
  /** The person a bearer token belongs to, or null for an unknown or revoked token. */
  authenticate(token: string | undefined): Person | null;
}

export function createAuthenticator(
  policy: Policy,
  store: ApprovalStore,
  env: NodeJS.ProcessEnv = process.env,
): Authenticator {
  const fromPolicy = policy.stakeholders
    .filter((s) => s.token)
    .map((s, i) => ({
      name: s.name,
      hash: Buffer.from(hashToken(resolveSecret(s.token, `stakeholders.${i}.token`, env)!), 'hex'),
    }));
  const person = (name: string): Person | null => {
    const s = policy.stakeholders.find((x) => x.name === name);
    return s ? { name: s.name, roles: s.roles } : null;
  };
  return {
    authenticate(token) {
      if (!token || token.length < 8) return null;
      const hash = hashToken(token);
      const digest = Buffer.from(hash, 'hex');
      const match = fromPolicy.find((p) => timingSafeEqual(p.hash, digest));
      if (match) return person(match.name);
      const name = store.personForHash(hash);
      return name ? person(name) : null;
    },
  };
}
