// Timelines: after a point-in-time restore or a failover, the new timeline reuses LSNs of the old
// one. An incremental taken on the new timeline must build only on a backup on its own timeline
// history that ended before the switch point, never on the old timeline's newer backup (whose page
// LSNs would make changed pages look unchanged). Tested with a PITR and with a real streaming
// replica, started by the test and promoted. `verify` checks the same rule.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { checkIntegrity } from '../../src/backup/pg-integrity.js';
import { listBackups, openRepository, writeCatalogEntry } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { tableFigures } from '../../src/backup/table-figures.js';
import type { BackupRecord } from '../../src/backup/types.js';
import { makeTempDir, PG_BIN, PgCluster, runAsPostgres } from '../helpers/pg-cluster.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';

const fixtures: BackupFixture[] = [];
const clusters: PgCluster[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of clusters) c.destroy();
  for (const fx of fixtures) {
    fx.cluster.destroy();
    rmSync(fx.work, { recursive: true, force: true });
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function seeded(): Promise<BackupFixture> {
  const fx = await createFixture();
  fixtures.push(fx);
  await fx.cluster.query(`CREATE TABLE listings (id int primary key, title text)`);
  await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 20000) g`);
  await fx.cluster.query('VACUUM (FREEZE, ANALYZE)');
  await fx.cluster.query('CHECKPOINT');
  return fx;
}

async function figures(cluster: PgCluster) {
  const client = await cluster.client();
  try {
    return await tableFigures(client, ['listings']);
  } finally {
    await client.end();
  }
}

/** Restores `id` to consistency into a new folder, starts it and returns its figures. */
async function restoredFigures(fx: BackupFixture, id: string) {
  const to = join(fx.work, `restored-${id}`);
  const result = await restoreBackup({
    repository: fx.repository,
    backupId: id,
    to,
    restoreCommand: fx.restoreCommand,
    binDirectory: PG_BIN,
    owner: owner(),
    targetImmediate: true,
    settings: { archive_mode: 'off' },
  });
  const r = await PgCluster.adopt(to, fx.work);
  clusters.push(r);
  r.start();
  await r.waitForPromotion();
  const f = await figures(r);
  r.stop();
  return { result, figures: f };
}

describe('incrementals never chain across a timeline switch', () => {
  it('after a point-in-time restore: the new timeline builds on the backup before the switch, not the newer one', async () => {
    const fx = await seeded();
    const b1 = await runPostgresBackup(fx.backupOptions('full'));
    await fx.cluster.query(`UPDATE listings SET title = 'before target' WHERE id <= 500`);
    const [t] = await fx.cluster.query<{ at: string }>(
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS at`,
    );
    await fx.cluster.query(`UPDATE listings SET title = 'after target' WHERE id > 15000`);
    await fx.cluster.switchWalAndWait();
    const b2 = await runPostgresBackup(fx.backupOptions('incremental'));
    expect(b2.parent).toBe(b1.id);

    // PITR to the target: the restored cluster opens timeline 2 at an LSN below b2's start, and
    // archives it into the same repository.
    const to = join(fx.work, 'tl2');
    await restoreBackup({
      repository: fx.repository,
      targetTime: t!.at,
      to,
      restoreCommand: fx.restoreCommand,
      binDirectory: PG_BIN,
      owner: owner(),
    });
    const tl2 = await PgCluster.adopt(to, fx.work);
    clusters.push(tl2);
    tl2.start();
    await tl2.waitForPromotion();
    await tl2.query(`UPDATE listings SET title = 'timeline 2' WHERE id % 7 = 0`);
    const lines: string[] = [];
    const b3 = await runPostgresBackup({
      ...fx.backupOptions('incremental'),
      connection: tl2.connection(),
      dataDirectory: to,
      log: (l) => lines.push(l),
    });
    expect(b3.timeline).toBe(2);
    expect(b3.timelineHistory!.map((h) => h.tli)).toEqual([1, 2]);
    expect(b3.kind).toBe('incremental');
    expect(b3.parent).toBe(b1.id);
    expect(lines.join('\n')).toMatch(
      new RegExp(`${b2.id} ended at .* on timeline 1, after timeline 2 branched off it`),
    );

    const want = await figures(tl2);
    const { figures: got } = await restoredFigures(fx, b3.id);
    expect(got).toEqual(want);
    expect(want[0]!.rows).toBe(20000);

    // verify checks the same rule: an entry claiming b2 as b3's parent is named.
    const repo = openRepository(fx.repository);
    expect(checkIntegrity(repo).problems).toEqual([]);
    const forged: BackupRecord = { ...b3, parent: b2.id, chain: [b1.id, b2.id, b3.id] };
    writeCatalogEntry(repo, forged);
    const problems = checkIntegrity(repo).problems.filter((p) => p.backup === b3.id);
    expect(problems.map((p) => p.problem).join('\n')).toMatch(/is built on .*, which is not on its timeline history/);
    writeCatalogEntry(repo, b3);
    tl2.stop();
  });

  it('after a real standby is promoted: its incremental builds on the backup before the failover', async () => {
    const fx = await seeded();
    const b1 = await runPostgresBackup(fx.backupOptions('full'));
    // A streaming replica of the primary, in a throwaway folder on a free port.
    const dir = makeTempDir('drydock-standby-');
    dirs.push(dir);
    const data = join(dir, 'data');
    runAsPostgres(
      join(PG_BIN, 'pg_basebackup'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(fx.cluster.port),
        '-U',
        'postgres',
        '-D',
        data,
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
      ],
      { timeoutMs: 120_000 },
    );
    const standby = await PgCluster.adopt(data, dir);
    clusters.push(standby);
    standby.start();
    await fx.cluster.query(`UPDATE listings SET title = 'replicated' WHERE id <= 300`);
    const [{ lsn } = { lsn: '' }] = await fx.cluster.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    for (const deadline = Date.now() + 60_000; ;) {
      const [r] = await standby.query<{ caught: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught', [
        lsn,
      ]);
      if (r?.caught) break;
      if (Date.now() > deadline) throw new Error(`standby did not replay up to ${lsn}\n${standby.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await standby.query('SELECT pg_promote(true, 60)');
    await standby.waitForPromotion();

    // The old primary goes on writing on timeline 1 and takes a newer backup there.
    await fx.cluster.query(`UPDATE listings SET title = 'old primary' WHERE id > 15000`);
    const b2 = await runPostgresBackup(fx.backupOptions('incremental'));
    expect(b2.parent).toBe(b1.id);

    await standby.query(`UPDATE listings SET title = 'new primary' WHERE id % 5 = 0`);
    const b3 = await runPostgresBackup({
      ...fx.backupOptions('incremental'),
      connection: standby.connection(),
      dataDirectory: data,
    });
    expect(b3.timeline).toBe(2);
    expect(b3.parent).toBe(b1.id);
    const want = await figures(standby);
    const { figures: got } = await restoredFigures(fx, b3.id);
    expect(got).toEqual(want);
    expect(checkIntegrity(openRepository(fx.repository)).problems).toEqual([]);
    expect(listBackups(openRepository(fx.repository)).map((b) => b.id)).toEqual([b1.id, b2.id, b3.id]);
    standby.stop();
  });
});
