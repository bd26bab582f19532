import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { parseLsn, segmentsBetween } from '../../src/backup/lsn.js';
import { listBackups, openRepository } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { tableFigures } from '../../src/backup/table-figures.js';
import { getWal } from '../../src/backup/wal-archive.js';
import { chownTree, PG_BIN, PgCluster, runAsPostgres } from '../helpers/pg-cluster.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';

describe('incremental backups and point-in-time recovery', () => {
  let fx: BackupFixture;
  const started: PgCluster[] = [];
  beforeAll(async () => {
    fx = await createFixture();
    await fx.cluster.query(`CREATE TABLE listings (id int primary key, title text, price int)`);
    await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text), g % 1000 FROM generate_series(1, 100000) g`);
    await fx.cluster.query(`CREATE TABLE messages (id serial primary key, body text)`);
    await fx.cluster.query(
      `INSERT INTO messages (body) SELECT repeat(md5(g::text), 3) FROM generate_series(1, 2000) g`,
    );
    // Settle the data first: the first scan after a bulk load sets hint bits, which rewrites every
    // page (with a new LSN under data checksums), and that is not what this test measures.
    await fx.cluster.query('VACUUM (FREEZE, ANALYZE)');
    await fx.cluster.query('CHECKPOINT');
  });
  afterAll(() => {
    for (const c of started) c.destroy();
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  async function startRestored(to: string): Promise<PgCluster> {
    const r = await PgCluster.adopt(to, fx.work);
    started.push(r);
    r.start();
    await r.waitForPromotion();
    return r;
  }

  it('stores only changed pages, and the chain restores to an identical database', async () => {
    // 1 MiB ranges: the 7 MiB listings heap is split between the workers and restored range by range.
    const full = await runPostgresBackup({ ...fx.backupOptions('full'), rangeBytes: 1 << 20 });
    // 1% of listings rows updated (a contiguous range) and rows appended to messages.
    await fx.cluster.query('UPDATE listings SET price = price + 1 WHERE id <= 1000');
    await fx.cluster.query(`INSERT INTO messages (body) SELECT repeat(md5(g::text), 3) FROM generate_series(1, 200) g`);
    const inc1 = await runPostgresBackup({ ...fx.backupOptions('incremental'), rangeBytes: 1 << 20 });
    expect(inc1.kind).toBe('incremental');
    expect(inc1.parent).toBe(full.id);
    const [rel] = await fx.cluster.query<{ bytes: string }>(`SELECT pg_relation_size('listings') AS bytes`);
    const tableBytes = Number(rel!.bytes);
    // The listings heap alone is several MB; the incremental stores a small fraction of it.
    expect(inc1.storedSize).toBeLessThan(tableBytes * 0.1);
    expect(inc1.storedSize).toBeLessThan(full.storedSize * 0.25);

    // 1% spread over the whole table, then a second incremental on top of the first.
    await fx.cluster.query('UPDATE listings SET title = upper(title) WHERE id % 100 = 7');
    // The default 64 MiB ranges on top of 1 MiB ones: the restore grid nests them.
    const inc2 = await runPostgresBackup(fx.backupOptions('incremental'));
    expect(inc2.storedSize).toBeLessThan(tableBytes * 0.05);
    expect(inc2.chain).toEqual([full.id, inc1.id, inc2.id]);

    const client = await fx.cluster.client();
    const source = await tableFigures(client, ['listings', 'messages']);
    await client.end();
    expect(inc2.tables).toEqual(source);

    // The chain full + inc1 alone restores on a 1 MiB grid (several jobs per file, CRCs combined).
    const small = await restoreBackup({
      repository: fx.repository,
      backupId: inc1.id,
      to: join(fx.work, 'restored-inc1'),
      restoreCommand: fx.restoreCommand,
    });
    expect(small.chain).toEqual([full.id, inc1.id]);

    const to = join(fx.work, 'restored-inc');
    const result = await restoreBackup({
      repository: fx.repository,
      to,
      restoreCommand: fx.restoreCommand,
      owner: owner(),
      targetImmediate: true,
      settings: { archive_mode: 'off' },
    });
    expect(result.chain).toEqual([full.id, inc1.id, inc2.id]);

    // PostgreSQL's own verifier accepts the rebuilt directory (WAL from the repository).
    const walDir = join(fx.work, 'wal-inc');
    mkdirSync(walDir);
    const repo = openRepository(fx.repository);
    for (const seg of segmentsBetween(inc2.timeline, parseLsn(inc2.startLsn), parseLsn(inc2.stopLsn), inc2.segmentSize))
      getWal(repo, seg, join(walDir, seg));
    chownTree(walDir);
    const verify = runAsPostgres(join(PG_BIN, 'pg_verifybackup'), ['-w', walDir, to], { allowFail: true });
    expect(verify.stderr + verify.stdout).toContain('backup successfully verified');

    const r = await startRestored(to);
    const rc = await r.client();
    const restored = await tableFigures(rc, ['listings', 'messages']);
    await rc.end();
    expect(restored).toEqual(source);
    r.stop();
  });

  it('survives a file that shrank (VACUUM truncation) and grew again between incrementals', async () => {
    await fx.cluster.query(`CREATE TABLE shrink AS SELECT g AS id, md5(g::text) AS t FROM generate_series(1, 50000) g`);
    const base = await runPostgresBackup(fx.backupOptions('incremental'));
    const size = async () =>
      Number((await fx.cluster.query<{ b: string }>(`SELECT pg_relation_size('shrink') AS b`))[0]!.b);
    const full = await size();
    await fx.cluster.query('DELETE FROM shrink WHERE id > 10000');
    await fx.cluster.query('VACUUM shrink');
    expect(await size()).toBeLessThan(full / 2);
    const shrunk = await runPostgresBackup(fx.backupOptions('incremental'));
    await fx.cluster.query(`INSERT INTO shrink SELECT g, upper(md5(g::text)) FROM generate_series(10001, 30000) g`);
    const grown = await runPostgresBackup(fx.backupOptions('incremental'));
    expect(grown.chain.slice(-3)).toEqual([base.id, shrunk.id, grown.id]);
    // Every rebuilt file is checked against the CRC-32C read at backup time.
    for (const id of [shrunk.id, grown.id]) {
      const r = await restoreBackup({
        repository: fx.repository,
        backupId: id,
        to: join(fx.work, `restored-${id}`),
        restoreCommand: fx.restoreCommand,
      });
      expect(r.backup.id).toBe(id);
    }
  });

  it('recovers to a point in time: A present, B (committed after the target) absent', async () => {
    await fx.cluster.query('CREATE TABLE pitr (tag text)');
    await runPostgresBackup(fx.backupOptions('incremental'));
    await fx.cluster.query(`INSERT INTO pitr VALUES ('A')`);
    await new Promise((r) => setTimeout(r, 300));
    const [t] = await fx.cluster.query<{ at: Date }>('SELECT clock_timestamp() AS at');
    await new Promise((r) => setTimeout(r, 300));
    await fx.cluster.query(`INSERT INTO pitr VALUES ('B')`);
    await fx.cluster.switchWalAndWait();

    const to = join(fx.work, 'restored-pitr');
    const progress: number[] = [];
    const result = await restoreBackup({
      repository: fx.repository,
      targetTime: t!.at,
      to,
      restoreCommand: fx.restoreCommand,
      owner: owner(),
      settings: { archive_mode: 'off' },
      progress: true,
      onProgress: (done) => progress.push(done),
    });
    expect(progress.at(-1)).toBe(result.bytes);
    expect(result.targetTime).toBe(t!.at.toISOString().replace('Z', '000Z'));
    const r = await startRestored(to);
    const rows = await r.query<{ tag: string }>('SELECT tag FROM pitr ORDER BY tag');
    expect(rows.map((x) => x.tag)).toEqual(['A']);
    expect(r.log()).toContain('recovery stopping before commit');
    r.stop();
    expect(listBackups(openRepository(fx.repository)).length).toBe(7);
  });
});
