// The one PostgreSQL connection factory, against the machine's real server: a backend terminated
// while its connection sits idle must not crash the process (pg emits 'error' on an idle client;
// without the factory's listener Node would throw it as an uncaught exception), and the next query
// fails with an error instead. Also the session settings the factory applies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connectPostgres, openPostgres } from '../../src/adapters/postgres.js';
import { DrydockError } from '../../src/errors.js';
import { freshDatabase, PG_HOST, PG_PORT, type FreshDatabase } from '../helpers/pg.js';
import { closedPort } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

let db: FreshDatabase;
let admin: pg.Client;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  db = await freshDatabase('adapter');
  admin = await db.connect();
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await admin?.end();
  await db?.drop();
});

/** Terminates the backend behind `client` from another session and waits until the client has seen it. */
async function terminateWhileIdle(client: pg.Client): Promise<void> {
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]!.pid;
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await waitFor(`backend ${pid} to be gone`, async () => {
    const r = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    return r.rowCount === 0;
  });
  await ended;
}

describe('the PostgreSQL connection factory', () => {
  it('survives pg_terminate_backend on an idle connection from the policy target; the next query fails', async () => {
    const client = await connectPostgres(db.target, { applicationName: 'drydock test idle' });
    await terminateWhileIdle(client);
    const error = await client.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(uncaught).toEqual([]);
    await client.end().catch(() => undefined);
  });

  it('survives it on a held session opened from resolved settings (the backup and restore-test sessions)', async () => {
    const client = await openPostgres(
      { host: PG_HOST, port: PG_PORT, user: 'postgres', database: db.name },
      { applicationName: 'drydock backup' },
    );
    await client.query('BEGIN');
    await terminateWhileIdle(client);
    expect(await client.query('SELECT 1').catch((e: unknown) => e)).toBeInstanceOf(Error);
    expect(uncaught).toEqual([]);
    await client.end().catch(() => undefined);
  });

  it('applies application_name and statement_timeout, and a statement past the timeout fails', async () => {
    const client = await openPostgres(
      { host: PG_HOST, port: PG_PORT, user: 'postgres', database: db.name },
      { applicationName: 'drydock test settings', statementTimeoutMs: 300 },
    );
    try {
      const { rows } = await client.query<{ name: string; timeout: string }>(
        "SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout",
      );
      expect(rows[0]).toEqual({ name: 'drydock test settings', timeout: '300ms' });
      const error = await client.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('57014');
    } finally {
      await client.end();
    }
  });

  it('names host and port when nothing listens', async () => {
    const port = await closedPort();
    const error = await openPostgres({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DrydockError);
    expect((error as DrydockError).code).toBe('TARGET_UNREACHABLE');
    expect((error as DrydockError).message).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port}`);
  });
});
