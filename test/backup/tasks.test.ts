import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../src/errors.js';
import type { Policy, PolicyInput } from '../../src/policy/schema.js';
import { toPhrases } from '../../src/policy/values.js';
import type { BackupRecord } from '../../src/backup/types.js';
import { backupFullTask, backupIncrementalTask } from '../../src/tasks/backup/postgres-backup.js';
import { integrityCheckTask } from '../../src/tasks/backup/integrity-check.js';
import { restoreTestTask } from '../../src/tasks/backup/postgres-restore-test.js';
import { databaseBackupTask } from '../../src/tasks/backup/database-backup.js';
import { backupMonitoringTask } from '../../src/tasks/backup/backup-monitoring.js';
import { testContext, testPolicy } from '../helpers/context.js';
import { PG_BIN, PgCluster } from '../helpers/pg-cluster.js';
import { createFixture, type BackupFixture } from './helpers.js';

describe('backup tasks on a real cluster', () => {
  let fx: BackupFixture;
  let policy: Policy;
  const others: PgCluster[] = [];
  beforeAll(async () => {
    fx = await createFixture();
    await fx.cluster.query(`CREATE TABLE bookings (id int primary key, guest text)`);
    await fx.cluster.query(`INSERT INTO bookings SELECT g, md5(g::text) FROM generate_series(1, 20000) g`);
    await fx.cluster.query('VACUUM (FREEZE, ANALYZE)');
    policy = testPolicy({
      targets: { postgres: { host: '127.0.0.1', port: fx.cluster.port, database: 'postgres', user: 'postgres' } },
      backup: {
        repository: { path: fx.repoPath, processes: 2, level: 1 },
        postgres: {
          data_directory: fx.cluster.dataDir,
          bin_directory: PG_BIN,
          restore_command: fx.restoreCommand,
          archive_timeout: '30 seconds',
          verify_tables: ['bookings'],
        },
      },
    });
  });
  afterAll(() => {
    for (const c of others) c.destroy();
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('full then incremental: recorded figures, validated chain', async () => {
    const ctx = testContext(policy, backupFullTask.id);
    const full = (await backupFullTask.execute(ctx)) as BackupRecord;
    expect(full.kind).toBe('full');
    expect(ctx.figures['backup.stored_bytes']!.value).toBe(full.storedSize);
    expect(ctx.summaries[0]).toMatch(/^full backup \d{8}-\d{6}F/);
    expect((await backupFullTask.validate(ctx, full)).ok).toBe(true);

    await fx.cluster.query(`UPDATE bookings SET guest = 'x' WHERE id < 100`);
    const ictx = testContext(policy, backupIncrementalTask.id);
    const inc = (await backupIncrementalTask.execute(ictx)) as BackupRecord;
    expect(inc.parent).toBe(full.id);
    const v = await backupIncrementalTask.validate(ictx, inc);
    expect(v.checks.map((c) => [c.name, c.ok])).toEqual([
      ['listed in the repository catalog', true],
      ['chain complete', true],
      ['WAL archived', true],
      ['stored something', true],
    ]);
    expect(ictx.findStep('expire')!.ok).toBe(true);
    expect(backupFullTask.schedule(policy)).toMatchObject({ kind: 'cron' });
  });

  it('integrity check, restore test and monitoring tasks pass on a healthy repository', async () => {
    const ctx = testContext(policy, integrityCheckTask.id);
    const report = await integrityCheckTask.execute(ctx);
    expect((await integrityCheckTask.validate(ctx, report)).ok).toBe(true);

    const rctx = testContext(policy, restoreTestTask.id);
    const restore = await restoreTestTask.execute(rctx);
    const rv = await restoreTestTask.validate(rctx, restore);
    expect(rv.checks.find((c) => c.name === 'table bookings')).toMatchObject({ ok: true });
    expect(rv.ok).toBe(true);
    expect(rctx.figures['restore_test.bookings.rows']).toEqual({ before: 20000, after: 20000, unit: 'rows' });

    const mctx = testContext(policy, backupMonitoringTask.id);
    const m = await backupMonitoringTask.execute(mctx);
    expect(m.rate.attempts).toBe(2);
    expect(m.rate.rate).toBe(100);
  });

  it("database.backup (the spec's daily incremental in the 01:00 window) records its own 30-day retention", async () => {
    const ctx = testContext(policy, databaseBackupTask.id);
    const r = await databaseBackupTask.execute(ctx);
    expect(r.kind).toBe('incremental');
    expect(r.retentionMs).toBe(30 * 86_400_000);
    expect((await databaseBackupTask.validate(ctx, r)).ok).toBe(true);
    // Same slot as backup.database.full (01:00 UTC daily): one backup, taken by the full task.
    expect(databaseBackupTask.schedule(policy)).toMatchObject({ kind: 'manual' });
  });

  it('through the engine, a backup run mirrors the repository catalog into the state', async () => {
    const { testApp } = await import('../helpers/app.js');
    const app = await testApp({
      targets: { postgres: { host: '127.0.0.1', port: fx.cluster.port, database: 'postgres', user: 'postgres' } },
      backup: {
        repository: { path: fx.repoPath, processes: 2, level: 1 },
        postgres: {
          data_directory: fx.cluster.dataDir,
          bin_directory: PG_BIN,
          restore_command: fx.restoreCommand,
          archive_timeout: '30 seconds',
          verify_tables: ['bookings'],
        },
      },
      maintenance_windows: { blackout: { periods: [] } },
    });
    try {
      const run = await app.engine.run('backup.database.incremental', { trigger: 'manual' });
      expect(run.status, run.error ?? '').toBe('succeeded');
      const mirrored = (await app.backupCatalog.list(fx.repoPath)).map((r) => r.kind);
      expect(mirrored).toContain('full');
      expect(mirrored.filter((k) => k === 'incremental').length).toBeGreaterThanOrEqual(2);
    } finally {
      await app.dispose();
    }
  });

  it('a wrong data directory is a clear error that says what to set', async () => {
    const phrases = toPhrases(policy) as PolicyInput;
    const bad = testPolicy({
      ...phrases,
      backup: { ...phrases.backup, postgres: { ...phrases.backup?.postgres, data_directory: fx.work } },
    });
    const error = await backupFullTask.execute(testContext(bad)).catch((e: unknown) => e);
    expect(describeError(error)).toMatch(
      /is not a PostgreSQL data directory.*set backup\.postgres\.data_directory to/s,
    );
  });

  it('a server without WAL archiving is refused with the settings to add', async () => {
    const plain = await PgCluster.create({ archiveMode: 'off' });
    others.push(plain);
    const p = testPolicy({
      targets: { postgres: { host: '127.0.0.1', port: plain.port, database: 'postgres', user: 'postgres' } },
      backup: { repository: { path: `${fx.work}/other-repo` }, postgres: { data_directory: plain.dataDir } },
    });
    const error = await backupFullTask.execute(testContext(p)).catch((e: unknown) => e);
    expect(describeError(error)).toMatch(
      /WAL archiving is off.*archive_mode = on and archive_command = '\/\S+\/node \/\S+\/bin\/drydock\.js wal push "%p" %f --repo \/\S+\/other-repo'/s,
    );
  });
});
