// The Store contract, run against the SQLite store with two connections on one file (as two
// daemons would have). A PostgreSQL store must pass the same cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { migrations } from '../../src/store/sqlite/migrations/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

let dir: string;
let a: SqliteStore;
let b: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-store-'));
  a = new SqliteStore(openSqlite(join(dir, 'state.sqlite')));
  b = new SqliteStore(openSqlite(join(dir, 'state.sqlite')));
});
afterEach(async () => {
  await a.close();
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite store', () => {
  it('numbers its migrations uniquely and applies them once', () => {
    const versions = migrations.map((m) => m.version);
    expect(new Set(versions).size).toBe(versions.length);
    const applied = a.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{
      version: number;
    }>;
    expect(applied.map((r) => r.version)).toEqual([...versions].sort((x, y) => x - y));
  });

  it('lets exactly one connection claim a slot', async () => {
    const slot = new Date('2026-11-27T03:00:00Z');
    const results = await Promise.all([
      a.claimSlot('database.vacuum', slot, 'A', new Date()),
      b.claimSlot('database.vacuum', slot, 'B', new Date()),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.lastClaimedSlot('database.vacuum')).toEqual(slot);
  });

  it('hands each due retry to one claimer only', async () => {
    await a.enqueueRetry({ taskId: 't', dueAt: new Date(1000), attempt: 2, retryOf: 1 });
    const [first, second] = [
      await a.claimDueRetries(new Date(2000), 'A'),
      await b.claimDueRetries(new Date(2000), 'B'),
    ];
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(0);
    expect(await a.claimDueRetries(new Date(500), 'A')).toEqual([]);
  });

  it("takes all of a run's locks or none", async () => {
    expect(await a.acquireLocks(['pg:d.listings'], 1, 'database.vacuum', 'A', new Date())).toEqual({ ok: true });
    expect(await b.acquireLocks(['pg:d.users', 'pg:d.listings'], 2, 'database.index_rebuild', 'B', new Date())).toEqual(
      {
        ok: false,
        resource: 'pg:d.listings',
        heldByRun: 1,
        heldByTask: 'database.vacuum',
      },
    );
    // Nothing was taken by the refused attempt.
    expect(await a.acquireLocks(['pg:d.users'], 3, 'x', 'A', new Date())).toEqual({ ok: true });
    await a.releaseLocks(1);
    expect(await b.acquireLocks(['pg:d.listings'], 2, 'database.index_rebuild', 'B', new Date())).toEqual({ ok: true });
  });

  it('keeps runs, steps and activity readable from another connection', async () => {
    const run = await a.createRun({
      taskId: 't',
      trigger: 'manual',
      slotAt: null,
      attempt: 1,
      instanceId: 'A',
      startedAt: new Date(1000),
    });
    const seq = await a.startStep(run.id, 'work', new Date(1000));
    await a.finishStep(run.id, seq, { status: 'succeeded', endedAt: new Date(1250), output: 'done', error: null });
    await a.finishRun(run.id, {
      status: 'succeeded',
      endedAt: new Date(1300),
      figures: { x: { before: 2, after: 1 } },
      summary: ['ok'],
    });
    expect(await b.getRun(run.id)).toMatchObject({
      status: 'succeeded',
      figures: { x: { before: 2, after: 1 } },
      summary: ['ok'],
    });
    expect(await b.listSteps(run.id)).toMatchObject([{ name: 'work', durationMs: 250, output: 'done' }]);
    await a.logActivity({ at: new Date(5), kind: 'run.started', message: 'm', data: { a: 1 } });
    expect(await b.listActivity({ kind: 'run.' })).toMatchObject([{ kind: 'run.started', data: { a: 1 } }]);
    expect(await b.pruneActivity(new Date(10))).toBe(1);
  });
});
