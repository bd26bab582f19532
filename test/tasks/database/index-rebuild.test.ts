// database.index_rebuild against the real PostgreSQL server, including a REINDEX CONCURRENTLY that
// is killed half-way and the run that cleans up after it.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { churn, flushStats, markDemoDatabase, seedDemo } from '../../../src/demo/seed.js';
import { DrydockError } from '../../../src/errors.js';
import type { PolicyInput } from '../../../src/policy/schema.js';
import { indexRebuildTask, recoverInterrupted } from '../../../src/tasks/database/index-rebuild.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/pg.js';
import { closedPort } from '../../helpers/peers.js';
import { waitFor } from '../../helpers/wait.js';

let db: FreshDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await freshDatabase('index_rebuild');
  await markDemoDatabase(db.target);
  await seedDemo({ target: db.target, scale: 0.3 });
  admin = await db.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

type RebuildInput = NonNullable<NonNullable<PolicyInput['database']>['index_rebuild']>;

function policyFor(rebuild: RebuildInput = {}, port?: number) {
  const { host, database } = db.target;
  return testPolicy({
    targets: { postgres: { host, port: port ?? db.target.port, database } },
    // Every index is rebuilt unless a test asks for the bloat threshold: these tests are about rebuilds.
    database: { index_rebuild: { lock_timeout: '500ms', min_bloat: '0%', pause: '0', ...rebuild } },
  });
}

async function invalidIndexes(): Promise<{ name: string; table: string }[]> {
  const { rows } = await admin.query<{ name: string; table: string }>(
    `SELECT c.relname AS name, t.relname AS table FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
      WHERE NOT i.indisvalid ORDER BY 1`,
  );
  return rows;
}

/** Waits until backend `pid` is in REINDEX CONCURRENTLY's "waiting for writers" phase, i.e. its _ccnew exists. */
async function waitForReindexWaiting(pid: number): Promise<string> {
  return waitFor(`pid ${pid} to wait in REINDEX CONCURRENTLY`, async () => {
    const { rows } = await admin.query<{ phase: string }>(
      'SELECT phase FROM pg_stat_progress_create_index WHERE pid = $1',
      [pid],
    );
    const phase = rows[0]?.phase;
    return phase?.startsWith('waiting for writers') ? phase : undefined;
  });
}

/** An open transaction that has written to `table`: REINDEX CONCURRENTLY must wait for it. */
async function openWriter(table: string): Promise<pg.Client & { pid: number }> {
  const writer = await db.connect();
  const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await writer.query('BEGIN');
  // One update of a row this transaction did not write: no foreign-key check fires, so the writer
  // holds a lock on `table` only (a second update of the same row would also lock the referenced users).
  await writer.query(`UPDATE ${table} SET id = id WHERE id = (SELECT min(id) FROM ${table})`);
  return Object.assign(writer, { pid });
}

describe('database.index_rebuild', () => {
  it('rebuilds high-priority tables first, shrinks bloated indexes, and validates that none is invalid', async () => {
    const ctx = testContext(policyFor(), indexRebuildTask.id);
    const result = await indexRebuildTask.execute(ctx);

    expect(ctx.steps.map((s) => [s.name, s.ok])).toEqual([
      [`connect to 127.0.0.1:${db.target.port}/${db.name}`, true],
      ['drop indexes left by interrupted concurrent rebuilds', true],
      ['reindex listings (high priority)', true],
      ['reindex users (high priority)', true],
      ['reindex reviews (normal)', true],
      ['reindex notifications (normal)', true],
    ]);
    expect(ctx.findStep('drop indexes')!.output).toContain('no invalid _ccnew/_ccold index');
    for (const table of ['listings', 'users', 'reviews', 'notifications']) {
      const bytes = ctx.figures[`${table}.index_bytes`]!;
      expect(bytes.unit).toBe('bytes');
      // The seed's churn left the indexes bloated; a rebuild packs them again.
      expect(bytes.after).toBeLessThan(bytes.before! * 0.9);
    }
    expect(ctx.findStep('reindex listings')!.output).toContain('REINDEX INDEX CONCURRENTLY listings_city_price_idx');
    expect(result.tables.find((t) => t.table === 'listings')!.indexes.map((i) => i.index)).toEqual([
      'listings_city_price_idx',
      'listings_owner_id_idx',
      'listings_pkey',
    ]);

    const validation = await indexRebuildTask.validate(ctx, result);
    expect(validation.checks.filter((c) => !c.ok)).toEqual([]);
    expect(validation.checks.find((c) => c.name === 'no_invalid_indexes')!.ok).toBe(true);
  });

  it('rebuilds only indexes whose estimated bloat reaches min_bloat and records every estimate', async () => {
    const listingsOnly = (min_bloat: string) =>
      testContext(policyFor({ min_bloat, tables: { high_priority: ['listings'], normal: [] } }), indexRebuildTask.id);
    const check = async (ctx: ReturnType<typeof listingsOnly>) => {
      const result = await indexRebuildTask.execute(ctx);
      const listings = result.tables[0]!;
      for (const index of listings.indexes) {
        expect(index.bloat, index.index).not.toBeNull();
        expect(ctx.figures[`${index.index}.bloat`]).toEqual({
          value: Number((index.bloat! * 100).toFixed(1)),
          unit: '%',
        });
        // Rebuilt exactly when the estimate reaches 20 %.
        expect(index.rebuilt, `${index.index} ${index.bloat}`).toBe(index.bloat! >= 0.2);
      }
      expect((await indexRebuildTask.validate(ctx, result)).ok).toBe(true);
      return listings.indexes;
    };
    // Packed by a rebuild of everything, the indexes are compact: a second run keeps them all.
    await indexRebuildTask.execute(listingsOnly('0%'));
    await admin.query('ANALYZE listings');
    const compact = listingsOnly('20%');
    expect((await check(compact)).map((i) => i.rebuilt)).toEqual([false, false, false]);
    expect(compact.findStep('reindex listings')!.output).toMatch(
      /listings_pkey: .*estimated bloat: under min_bloat 20%, kept/,
    );
    expect(compact.summaries.join('\n')).toMatch(
      /listings: 0 of 3 index\(es\) rebuilt concurrently \(3 under 20% estimated bloat kept\)/,
    );
    // A day of updates to an indexed column (not HOT: every index gets a new entry per row) bloats them all.
    await admin.query('UPDATE listings SET price_cents = price_cents + 1');
    await admin.query('VACUUM ANALYZE listings');
    const bloated = listingsOnly('20%');
    expect((await check(bloated)).map((i) => i.rebuilt)).toEqual([true, true, true]);
    expect(bloated.findStep('reindex listings')!.output).toMatch(
      /listings_city_price_idx: .*estimated bloat: rebuilding/,
    );
  });

  it('fails only the step of a missing table, naming it', async () => {
    const ctx = testContext(
      policyFor({ tables: { high_priority: ['listings', 'no_such_table'], normal: ['reviews'] } }),
      indexRebuildTask.id,
    );
    const result = await indexRebuildTask.execute(ctx);
    const missing = ctx.findStep('reindex no_such_table')!;
    expect(missing.ok).toBe(false);
    expect(missing.error).toBeInstanceOf(DrydockError);
    expect(missing.error).toMatchObject({ code: 'TABLE_MISSING' });
    expect((missing.error as Error).message).toContain('"no_such_table"');
    expect(ctx.findStep('reindex listings')!.ok).toBe(true);
    expect(ctx.findStep('reindex reviews')!.ok).toBe(true);
    const validation = await indexRebuildTask.validate(ctx, result);
    expect(validation.ok).toBe(false);
    expect(validation.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['no_such_table.rebuilt']);
  });

  it('cleans up after a REINDEX CONCURRENTLY that was killed half-way, and says so', async () => {
    const writer = await openWriter('listings');
    const rebuilder = await db.connect();
    try {
      const rebuilderPid = (await rebuilder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const killed = rebuilder.query('REINDEX INDEX CONCURRENTLY listings_city_price_idx').then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitForReindexWaiting(rebuilderPid);
      await admin.query('SELECT pg_terminate_backend($1)', [rebuilderPid]);
      expect(await killed).toBeInstanceOf(Error);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
      await rebuilder.end().catch(() => undefined);
    }
    expect(await invalidIndexes()).toEqual([{ name: 'listings_city_price_idx_ccnew', table: 'listings' }]);

    const ctx = testContext(policyFor(), indexRebuildTask.id);
    const result = await indexRebuildTask.execute(ctx);
    const cleanup = ctx.findStep('drop indexes left by interrupted concurrent rebuilds')!;
    expect(cleanup.ok).toBe(true);
    expect(cleanup.output).toMatch(
      /dropped invalid index listings_city_price_idx_ccnew \(on listings, .*\), left by an interrupted REINDEX CONCURRENTLY/,
    );
    expect(ctx.summaries[0]).toContain(
      'dropped 1 invalid index(es) left by an interrupted REINDEX CONCURRENTLY: listings_city_price_idx_ccnew',
    );
    expect(result.leftovers.dropped).toHaveLength(1);
    // The leftover was not "rebuilt" as if it were a real index.
    expect(result.tables.flatMap((t) => t.indexes.map((i) => i.index))).not.toContain('listings_city_price_idx_ccnew');
    expect(await invalidIndexes()).toEqual([]);
    const validation = await indexRebuildTask.validate(ctx, result);
    expect(validation.ok).toBe(true);
  });

  it('drops the _ccnew its own rebuild left when that rebuild is terminated', async () => {
    const writer = await openWriter('users');
    const ctx = testContext(
      policyFor({ lock_timeout: '30 seconds', tables: { high_priority: ['users'], normal: ['reviews'] } }),
      indexRebuildTask.id,
    );
    const run = indexRebuildTask.execute(ctx);
    try {
      const pid = await waitFor('the task to start rebuilding users', async () => {
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT p.pid FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.pid
            WHERE a.datname = current_database() AND a.application_name = 'drydock:database.index_rebuild' AND p.phase LIKE 'waiting for writers%'`,
        );
        return rows[0]?.pid;
      });
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // Let the clean-up's DROP INDEX CONCURRENTLY start waiting before the writer goes away.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
    const result = await run;
    const users = ctx.findStep('reindex users')!;
    expect(users.ok).toBe(false);
    expect(users.error).toMatchObject({ code: 'EXEC_FAILED' });
    expect((users.error as Error).message).toContain('table "users"');
    expect(users.output).toMatch(/dropped invalid index users_\w+_ccnew/);
    expect(ctx.summaries.join('\n')).toMatch(/dropped users_\w+_ccnew .* left by the failed rebuild/);
    // A fresh session took over after the terminated one: the next table was still rebuilt.
    expect(ctx.findStep('reindex reviews')!.ok).toBe(true);
    expect(await invalidIndexes()).toEqual([]);
    const validation = await indexRebuildTask.validate(ctx, result);
    expect(validation.checks.find((c) => c.name === 'no_invalid_indexes')!.ok).toBe(true);
    expect(validation.checks.find((c) => c.name === 'users.rebuilt')!.ok).toBe(false);
  });

  it('gives up on a table held by a long transaction, names the blocker, goes on, and the next run cleans up', async () => {
    await churn(admin, 20);
    await flushStats(admin);
    const writer = await openWriter('listings');
    let first;
    try {
      const ctx = testContext(policyFor(), indexRebuildTask.id);
      const started = Date.now();
      first = { ctx, result: await indexRebuildTask.execute(ctx) };
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
    const { ctx, result } = first;
    const blocked = ctx.findStep('reindex listings')!;
    expect(blocked.ok).toBe(false);
    expect(blocked.error).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
    const message = (blocked.error as Error).message;
    expect(message).toContain('table "listings"');
    expect(message).toContain(`pid ${writer.pid}`);
    expect(message).toContain('RowExclusiveLock');
    expect(message).toContain('UPDATE listings SET id = id');
    // The half-built copy could not be dropped while the writer was still there; the run says so.
    expect(blocked.output).toMatch(/could not drop invalid index listings_city_price_idx_ccnew/);
    for (const table of ['users', 'reviews', 'notifications'])
      expect(ctx.findStep(`reindex ${table}`)!.error, table).toBeUndefined();
    const validation = await indexRebuildTask.validate(ctx, result);
    expect(validation.ok).toBe(false);
    expect(validation.checks.find((c) => c.name === 'no_invalid_indexes')!.detail).toContain(
      'listings_city_price_idx_ccnew on listings',
    );

    const next = testContext(policyFor(), indexRebuildTask.id);
    const nextResult = await indexRebuildTask.execute(next);
    expect(next.findStep('drop indexes')!.output).toContain('dropped invalid index listings_city_price_idx_ccnew');
    expect((await indexRebuildTask.validate(next, nextResult)).ok).toBe(true);
  });

  it('recoverInterrupted drops what a crashed rebuild left and reports it', async () => {
    const writer = await openWriter('notifications');
    const rebuilder = await db.connect();
    try {
      const pid = (await rebuilder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const killed = rebuilder
        .query('REINDEX INDEX CONCURRENTLY notifications_user_id_read_at_idx')
        .catch((e: unknown) => e);
      await waitForReindexWaiting(pid);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await killed;
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
      await rebuilder.end().catch(() => undefined);
    }
    expect((await invalidIndexes()).map((i) => i.name)).toEqual(['notifications_user_id_read_at_idx_ccnew']);
    const lines = await recoverInterrupted(testContext(policyFor(), indexRebuildTask.id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('dropped invalid index notifications_user_id_read_at_idx_ccnew');
    expect(await invalidIndexes()).toEqual([]);
    expect(await recoverInterrupted(testContext(policyFor(), indexRebuildTask.id))).toEqual([
      'no invalid _ccnew/_ccold index left by an interrupted rebuild',
    ]);
  });

  it('reports unreachable PostgreSQL with host and port', async () => {
    const port = await closedPort();
    const error = await indexRebuildTask
      .execute(testContext(policyFor({}, port), indexRebuildTask.id))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_UNREACHABLE', retryable: true });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('declares its weekly schedule and every table it rebuilds, high priority first', () => {
    const policy = policyFor();
    expect(indexRebuildTask.schedule(policy)).toMatchObject({ kind: 'cron', expression: '0 4 * * 0' });
    expect(indexRebuildTask.resources(policy)).toEqual(
      ['listings', 'users', 'reviews', 'notifications'].map((t) => `pg:${db.name}.${t}`),
    );
  });
});
