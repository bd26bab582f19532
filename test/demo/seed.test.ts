// `drydock demo seed` against the real PostgreSQL server.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TABLES, dropDemo, seedDemo } from '../../src/demo/seed.js';
import { freshDatabase, PG_HOST, PG_PORT, testTarget } from '../helpers/pg.js';
import { closedPort } from '../helpers/peers.js';

const database = `drydock_test_seed_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const target = testTarget(database);

afterAll(async () => {
  await dropDemo(target);
});

async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('seedDemo', () => {
  it('creates the database and Dokkerr tables at scale 1 in a few seconds, with dead tuples left by churn', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const result = await seedDemo({ target, scale: 1, log: (line) => lines.push(line) });
    const elapsed = Date.now() - started;

    expect(result.created).toBe(true);
    expect(result.database).toBe(database);
    expect(lines[0]).toBe(`created database "${database}"`);
    expect(elapsed).toBeLessThan(20_000);
    expect(result.rows.users).toBe(5_000);
    const expected = { listings: 10_000, bookings: 30_000, messages: 60_000, reviews: 15_000, notifications: 40_000 };
    for (const [table, rows] of Object.entries(expected)) {
      // Churn deletes and inserts, so counts drift around the nominal size.
      expect(result.rows[table], table).toBeGreaterThan(rows * 0.7);
      expect(result.rows[table], table).toBeLessThan(rows * 1.3);
    }
    for (const table of DEMO_TABLES) expect(result.deadTuples[table], table).toBeGreaterThan(1_000);
  });

  it('creates foreign keys and the secondary indexes the app queries by, and turns autovacuum off', async () => {
    const indexes = await query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`,
    );
    const defs = indexes.map((i) =>
      i.indexdef.replace(/^.* USING btree /, `${i.indexdef.match(/ON public\.(\w+)/)![1]} `),
    );
    for (const def of [
      'listings (owner_id)',
      'listings (city, price_cents)',
      'bookings (listing_id)',
      'bookings (guest_id, starts_on)',
      'messages (booking_id, sent_at)',
      'reviews (listing_id)',
      'notifications (user_id, read_at)',
      'users (email)',
    ]) {
      expect(defs).toContain(def);
    }
    const fks = await query<{ conrelid: string; confrelid: string }>(
      `SELECT conrelid::regclass::text AS conrelid, confrelid::regclass::text AS confrelid FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2`,
    );
    expect(fks.map((f) => `${f.conrelid}->${f.confrelid}`)).toEqual(
      expect.arrayContaining([
        'listings->users',
        'bookings->listings',
        'bookings->users',
        'messages->bookings',
        'reviews->listings',
        'reviews->bookings',
        'notifications->users',
      ]),
    );
    const options = await query<{ relname: string; reloptions: string[] | null }>(
      `SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1::text[]) AND relkind = 'r'`,
      [[...DEMO_TABLES]],
    );
    expect(options).toHaveLength(DEMO_TABLES.length);
    for (const row of options) expect(row.reloptions, row.relname).toContain('autovacuum_enabled=false');
  });

  it('on an existing database adds churn instead of failing', async () => {
    const before = await query<{ relname: string; n_dead_tup: string }>(
      `SELECT relname, n_dead_tup FROM pg_stat_user_tables`,
    );
    const result = await seedDemo({ target, scale: 1 });
    expect(result.created).toBe(false);
    expect(result.rows.users).toBe(5_000);
    for (const row of before) {
      expect(result.deadTuples[row.relname], row.relname).toBeGreaterThan(Number(row.n_dead_tup));
    }
    const rounds = await query<{ n: string }>(`SELECT count(*) AS n FROM users WHERE email LIKE '%+r3@dokkerr.test'`);
    expect(Number(rounds[0]!.n)).toBeGreaterThan(500);
  });

  it('refuses to seed or drop a database it did not create as a demo, naming it', async () => {
    const other = await freshDatabase('not_a_demo');
    try {
      const client = await other.connect();
      await client.query('CREATE TABLE users (id int PRIMARY KEY, email text)');
      await client.query("INSERT INTO users VALUES (1, 'real@customer.example')");
      await client.end();
      for (const attempt of [() => seedDemo({ target: other.target, scale: 0.1 }), () => dropDemo(other.target)]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
        expect((error as Error).message).toContain(`database "${other.name}" on 127.0.0.1:5432`);
        expect((error as Error).message).toContain('Drydock did not create it as a demo database');
      }
      const check = await other.connect();
      const rows = (await check.query<{ email: string }>('SELECT email FROM users')).rows;
      await check.end();
      expect(rows).toEqual([{ email: 'real@customer.example' }]);
    } finally {
      await other.drop();
    }
  });

  it('names host and port when PostgreSQL is unreachable', async () => {
    const port = await closedPort();
    const error = await seedDemo({ target: testTarget(database, { port }), scale: 0.1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_UNREACHABLE' });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('dropDemo removes the database', async () => {
    await dropDemo(target);
    const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
