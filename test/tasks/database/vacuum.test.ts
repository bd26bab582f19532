// database.vacuum against the real PostgreSQL server, on a fresh demo database.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGentleMaintenance, connectPostgres } from '../../../src/adapters/postgres.js';
import { churn, flushStats, markDemoDatabase, seedDemo } from '../../../src/demo/seed.js';
import { DrydockError } from '../../../src/errors.js';
import { isDisruptive } from '../../../src/engine/types.js';
import type { PolicyInput } from '../../../src/policy/schema.js';
import { vacuumTask, type VacuumResult } from '../../../src/tasks/database/vacuum.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/pg.js';
import { closedPort } from '../../helpers/peers.js';

let db: FreshDatabase;

beforeAll(async () => {
  db = await freshDatabase('vacuum');
  await markDemoDatabase(db.target);
  await seedDemo({ target: db.target, scale: 0.2 });
});

afterAll(async () => {
  await db?.drop();
});

function policyFor(vacuum: NonNullable<NonNullable<PolicyInput['database']>['vacuum']> = {}, port?: number) {
  const { host, database } = db.target;
  return testPolicy({
    targets: { postgres: { host, port: port ?? db.target.port, database } },
    database: { vacuum: { lock_timeout: '500ms', ...vacuum } },
  });
}

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function addChurn(round: number): Promise<void> {
  await withClient(async (c) => {
    await churn(c, round);
    await flushStats(c);
  });
}

describe('database.vacuum', () => {
  it('vacuums each table: dead tuples go down, last_vacuum advances, VERBOSE output is kept per table', async () => {
    const ctx = testContext(policyFor(), vacuumTask.id);
    const result = await vacuumTask.execute(ctx);

    expect(ctx.steps.map((s) => [s.name, s.ok])).toEqual([
      [`connect to 127.0.0.1:${db.target.port}/${db.name}`, true],
      ['vacuum listings', true],
      ['vacuum bookings', true],
      ['vacuum messages', true],
    ]);
    for (const table of ['listings', 'bookings', 'messages']) {
      const dead = ctx.figures[`${table}.dead_tuples`]!;
      expect(dead.before).toBeGreaterThan(100);
      expect(dead.after).toBeLessThan(dead.before!);
      expect(ctx.figures[`${table}.size_bytes`]?.before).toBeGreaterThan(0);
      // VERBOSE's report for this table, and only this table, lands in its own step.
      const output = ctx.findStep(`vacuum ${table}`)!.output;
      expect(output).toContain('VACUUM (ANALYZE, VERBOSE)');
      expect(output).toContain(`finished vacuuming "${db.name}.public.${table}"`);
      const others = ['listings', 'bookings', 'messages'].filter((t) => t !== table);
      for (const other of others) expect(output).not.toContain(`vacuuming "${db.name}.public.${other}"`);
    }
    expect(result.options.full).toBe(false);

    const validation = await vacuumTask.validate(ctx, result);
    expect(validation.checks.filter((c) => !c.ok)).toEqual([]);
    expect(validation.checks.map((c) => c.name)).toContain('listings.vacuumed');
    expect(validation.checks.map((c) => c.name)).toContain('messages.analyzed');

    const stats = await withClient((c) =>
      c.query<{ relname: string; last_vacuum: Date | null; n_dead_tup: string }>(
        `SELECT relname, last_vacuum, n_dead_tup FROM pg_stat_user_tables WHERE relname IN ('listings', 'bookings', 'messages')`,
      ),
    );
    for (const row of stats.rows) {
      expect(row.last_vacuum).toBeInstanceOf(Date);
      expect(Number(row.n_dead_tup)).toBe(0);
    }
  });

  it('fails only the step of a table that does not exist, and names it', async () => {
    await addChurn(10);
    const ctx = testContext(policyFor({ tables: ['listings', 'bookngs', 'messages'] }), vacuumTask.id);
    const result = await vacuumTask.execute(ctx);

    const missing = ctx.findStep('vacuum bookngs')!;
    expect(missing.ok).toBe(false);
    expect(missing.error).toBeInstanceOf(DrydockError);
    expect(missing.error).toMatchObject({ code: 'TABLE_MISSING', retryable: false });
    expect((missing.error as Error).message).toContain('"bookngs"');
    expect(ctx.findStep('vacuum listings')!.ok).toBe(true);
    expect(ctx.findStep('vacuum messages')!.ok).toBe(true);
    expect(ctx.summaries.join('\n')).toMatch(/bookngs: not vacuumed: table "bookngs" does not exist/);

    const validation = await vacuumTask.validate(ctx, result);
    expect(validation.ok).toBe(false);
    expect(validation.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['bookngs.vacuumed']);
  });

  it('gives up on a locked table after lock_timeout, names the blocker, and vacuums the others', async () => {
    await addChurn(11);
    const locker = await db.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');
      const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // The blocker's last statement should be the LOCK, as a DBA would see it.
      await locker.query('LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');

      const ctx = testContext(policyFor(), vacuumTask.id);
      const started = Date.now();
      const result = await vacuumTask.execute(ctx);
      expect(Date.now() - started).toBeLessThan(5_000);

      const blocked = ctx.findStep('vacuum listings')!;
      expect(blocked.ok).toBe(false);
      expect(blocked.error).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
      const message = (blocked.error as Error).message;
      expect(message).toContain('table "listings"');
      expect(message).toContain(`pid ${lockerPid}`);
      expect(message).toContain('idle in transaction');
      expect(message).toContain('LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');
      expect(message).toContain('500ms');
      expect(ctx.findStep('vacuum bookings')!.ok).toBe(true);
      expect(ctx.findStep('vacuum messages')!.ok).toBe(true);
      expect(ctx.figures['bookings.dead_tuples']!.after).toBeLessThan(ctx.figures['bookings.dead_tuples']!.before!);
      expect(ctx.figures['listings.dead_tuples']).toBeUndefined();

      const validation = await vacuumTask.validate(ctx, result);
      expect(validation.ok).toBe(false);
      expect(validation.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['listings.vacuumed']);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it('cancels the running VACUUM when the run is aborted', async () => {
    const locker = await db.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');
      // A long lock timeout: only the abort can end the wait quickly.
      const ctx = testContext(policyFor({ lock_timeout: '1 minute' }), vacuumTask.id);
      const started = Date.now();
      const run = vacuumTask.execute(ctx);
      setTimeout(() => ctx.abort(), 500);
      await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(ctx.findStep('vacuum listings')!.error).toMatchObject({ code: 'ABORTED' });
      expect(ctx.findStep('vacuum bookings')).toBeUndefined();
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it('runs VACUUM FULL only when the policy asks, and validates it by the table rewrite', async () => {
    await addChurn(12);
    const ctx = testContext(policyFor({ tables: ['messages'], options: { full: true } }), vacuumTask.id);
    const result: VacuumResult = await vacuumTask.execute(ctx);
    expect(ctx.findStep('vacuum messages')!.output).toContain('VACUUM (FULL, ANALYZE, VERBOSE)');
    const size = ctx.figures['messages.size_bytes']!;
    expect(size.after).toBeLessThan(size.before!);
    const validation = await vacuumTask.validate(ctx, result);
    expect(validation.checks.filter((c) => !c.ok)).toEqual([]);
    expect(validation.checks.find((c) => c.name === 'messages.vacuumed')!.detail).toContain('rewritten');
  });

  it('reports unreachable PostgreSQL with host and port', async () => {
    const port = await closedPort();
    const ctx = testContext(policyFor({}, port), vacuumTask.id);
    const error = await vacuumTask.execute(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrydockError);
    expect(error).toMatchObject({ code: 'TARGET_UNREACHABLE', retryable: true });
    expect((error as Error).message).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port}`);
    expect(ctx.steps).toHaveLength(1);
    expect(ctx.steps[0]!.ok).toBe(false);
  });

  it('takes the password from the secret reference and never shows it', async () => {
    const secret = 'pw-' + Math.random().toString(36).slice(2);
    process.env.DRYDOCK_TEST_VACUUM_PASSWORD = secret;
    try {
      // Trust auth accepts the connection; the password is resolved but must not leak anywhere.
      const policy = testPolicy({
        targets: {
          postgres: {
            host: db.target.host,
            port: db.target.port,
            database: db.name,
            password: { env: 'DRYDOCK_TEST_VACUUM_PASSWORD' },
          },
        },
        database: { vacuum: { tables: ['listings', 'nope'] } },
      });
      const ctx = testContext(policy, vacuumTask.id);
      await vacuumTask.execute(ctx);
      const everything = JSON.stringify([
        ctx.steps.map((s) => [s.name, s.output, String(s.error)]),
        ctx.summaries,
        ctx.figures,
      ]);
      expect(everything).not.toContain(secret);
      const unreachable = testPolicy({
        targets: {
          postgres: {
            host: db.target.host,
            port: await closedPort(),
            database: db.name,
            password: { env: 'DRYDOCK_TEST_VACUUM_PASSWORD' },
          },
        },
      });
      const error = await vacuumTask.execute(testContext(unreachable, vacuumTask.id)).catch((e: unknown) => e);
      expect(JSON.stringify({ message: (error as Error).message, hint: (error as DrydockError).hint })).not.toContain(
        secret,
      );
      delete process.env.DRYDOCK_TEST_VACUUM_PASSWORD;
      const missing = await vacuumTask.execute(testContext(policy, vacuumTask.id)).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'SECRET_MISSING' });
      expect((missing as Error).message).toContain('DRYDOCK_TEST_VACUUM_PASSWORD');
    } finally {
      delete process.env.DRYDOCK_TEST_VACUUM_PASSWORD;
    }
  });

  it('names a missing database and points at `drydock demo seed`', async () => {
    const policy = testPolicy({
      targets: { postgres: { host: db.target.host, port: db.target.port, database: `${db.name}_missing` } },
    });
    const error = await vacuumTask.execute(testContext(policy, vacuumTask.id)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_UNREACHABLE', retryable: false });
    expect((error as Error).message).toBe(
      `database "${db.name}_missing" does not exist on PostgreSQL at 127.0.0.1:${db.target.port}`,
    );
    expect((error as DrydockError).hint).toContain('drydock demo seed');
  });

  it('keeps its session gentle: no parallel maintenance workers, VACUUM throttled, WAL compressed', async () => {
    const client = await connectPostgres(db.target);
    try {
      await applyGentleMaintenance(client, { vacuumCostDelayMs: 2 });
      const show = async (name: string) => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
      expect(await show('max_parallel_maintenance_workers')).toBe('0');
      expect(await show('vacuum_cost_delay')).toBe('2ms');
      expect(['lz4', 'pglz', 'on']).toContain(await show('wal_compression'));
    } finally {
      await client.end();
    }
  });

  it('throttles VACUUM as database.vacuum.cost_delay says (10ms by default)', async () => {
    expect(policyFor().database.vacuum.cost_delay).toMatchObject({ text: '10ms', ms: 10 });
    const ctx = testContext(policyFor({ tables: ['listings'], cost_delay: '7ms' }), vacuumTask.id);
    await vacuumTask.execute(ctx);
    expect(ctx.findStep('connect to')!.output).toContain('vacuum_cost_delay 7 ms');
  });

  it('declares its schedule and the tables it holds', () => {
    const policy = policyFor();
    expect(vacuumTask.schedule(policy)).toMatchObject({ kind: 'cron', expression: '0 3 * * *' });
    expect(vacuumTask.resources(policy)).toEqual([
      `pg:${db.name}.listings`,
      `pg:${db.name}.bookings`,
      `pg:${db.name}.messages`,
    ]);
    expect(isDisruptive(vacuumTask, policy)).toBe(false);
  });
});

describe('gentle maintenance sessions', () => {
  it('run the maintenance backend at the lowest CPU priority when the server is on this host', async () => {
    const { lowerBackendPriority, connectPostgres: connect } = await import('../../../src/adapters/postgres.js');
    const { testTarget } = await import('../../helpers/pg.js');
    const { readFileSync } = await import('node:fs');
    const client = await connect(testTarget('postgres'));
    try {
      expect(await lowerBackendPriority(client)).toBe(true);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Field 19 of /proc/PID/stat is the nice value (fields after the command name, which is in parentheses).
      const stat = readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      expect(Number(fields[16])).toBe(19);
    } finally {
      await client.end();
    }
  });
});
