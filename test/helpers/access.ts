// Tokens for tests: written straight into the state's token table (the setup a test needs, not
// the admin flow under test, which test/access/ covers), and a fetch-like caller with the token.
import type { Hono } from 'hono';
import { SqliteAccessStore } from '../../src/access/token-store.js';
import { newToken } from '../../src/access/tokens.js';
import type { SqliteDatabase } from '../../src/store/sqlite/open.js';

export async function tokenFor(db: SqliteDatabase, person: string): Promise<string> {
  const t = newToken();
  await new SqliteAccessStore(db).insertToken({
    id: t.id,
    person,
    secretHash: t.secretHash,
    label: 'test',
    createdAt: new Date(),
    createdBy: 'test setup',
  });
  return t.token;
}

/** `api.request` with `Authorization: Bearer <token>` and JSON bodies. */
export function asPerson(api: Hono, token: string) {
  return (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    api.request(path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
}

/** People of every access level, for policies in tests. */
export const PEOPLE = [
  { name: 'Vera', roles: ['Support'], access: 'viewer' },
  { name: 'Olga', roles: ['SRE'], access: 'operator' },
  { name: 'Ada', roles: ['Platform lead'], access: 'admin' },
  { name: 'Carol', roles: ['CTO'], access: 'viewer' },
  { name: 'Hank', roles: ['Head of Operations'], access: 'operator' },
] as const;
