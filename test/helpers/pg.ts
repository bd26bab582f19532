// A fresh, uniquely named PostgreSQL database per test file on the machine's real server
// (127.0.0.1:5432, user postgres, trust auth). Tests never mock pg.
import pg from 'pg';
import { policySchema, type Policy } from '../../src/policy/schema.js';

export type PostgresTarget = Policy['targets']['postgres'];

export const PG_HOST = process.env.DRYDOCK_TEST_PGHOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.DRYDOCK_TEST_PGPORT ?? 5432);

export interface FreshDatabase {
  name: string;
  target: PostgresTarget;
  /** A plain client on the database, for arranging and inspecting test state. */
  connect(): Promise<pg.Client>;
  /** Disconnects everyone and drops the database; call it in afterAll. */
  drop(): Promise<void>;
}

/** A policy target for `database` on the test server, with every other field at its default. */
export function testTarget(database: string, overrides: Partial<PostgresTarget> = {}): PostgresTarget {
  const defaults = policySchema.parse({}).targets.postgres;
  return { ...defaults, host: PG_HOST, port: PG_PORT, user: 'postgres', database, ...overrides };
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `drydock_test_<name>_<pid>_<random>`; names stay unique across parallel test files and reruns. */
export async function freshDatabase(name: string): Promise<FreshDatabase> {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 30);
  const database = `drydock_test_${slug}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const target = testTarget(database);
  return {
    name: database,
    target,
    async connect() {
      const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    },
    async drop() {
      await admin(async (c) => {
        await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database],
        );
        await c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      });
    },
  };
}
