import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pageChecksumOk } from '../../src/backup/page-checksum.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { listBackups, openRepository } from '../../src/backup/repository.js';
import { getWal, listWal } from '../../src/backup/wal-archive.js';
import { segmentsBetween, parseLsn } from '../../src/backup/lsn.js';
import { PG_BIN, PgCluster, runAsPostgres, chownTree } from '../helpers/pg-cluster.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';
import { rmSync } from 'node:fs';

describe('full physical backup', () => {
  let fx: BackupFixture;
  const restored: PgCluster[] = [];
  beforeAll(async () => {
    fx = await createFixture();
    await fx.cluster.query(
      `CREATE TABLE listings AS SELECT g AS id, md5(g::text) AS title FROM generate_series(1, 50000) g`,
    );
    await fx.cluster.query(`CREATE INDEX ON listings (id)`);
    await fx.cluster.query(`CREATE TABLE bookings (id int primary key, note text)`);
    await fx.cluster.query(`INSERT INTO bookings SELECT g, repeat('x', g % 100) FROM generate_series(1, 5000) g`);
    await fx.cluster.query(`CREATE UNLOGGED TABLE scratch AS SELECT g FROM generate_series(1, 1000) g`);
  });
  afterAll(() => {
    for (const c of restored) c.destroy();
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('backs up, and the unpacked backup passes pg_verifybackup with WAL from the repository', async () => {
    const record = await runPostgresBackup(fx.backupOptions('full'));
    expect(record.kind).toBe('full');
    expect(record.storedSize).toBeGreaterThan(0);
    expect(record.storedSize).toBeLessThan(record.size);
    expect(record.tables.map((t) => t.table).sort()).toEqual(['bookings', 'listings']);
    expect(record.tables.find((t) => t.table === 'listings')!.rows).toBe(50000);
    const repo = openRepository(fx.repository);
    expect(listBackups(repo).map((b) => b.id)).toEqual([record.id]);
    // The repository's own PostgreSQL manifest exists for full backups.
    expect(existsSync(join(fx.repoPath, 'backups', record.id, 'backup_manifest'))).toBe(true);

    const to = join(fx.work, 'verify');
    const result = await restoreBackup({
      repository: fx.repository,
      backupId: record.id,
      to,
      restoreCommand: fx.restoreCommand,
      owner: owner(),
    });
    expect(result.chain).toEqual([record.id]);
    // Unlogged relations keep only their init fork; runtime folders are empty.
    expect(readdirSync(join(to, 'pg_wal')).filter((n) => n !== 'archive_status')).toEqual([]);

    const walDir = join(fx.work, 'wal-for-verify');
    mkdirSync(walDir);
    for (const seg of segmentsBetween(
      record.timeline,
      parseLsn(record.startLsn),
      parseLsn(record.stopLsn),
      record.segmentSize,
    )) {
      expect(getWal(repo, seg, join(walDir, seg))).toBe(true);
    }
    chownTree(walDir);
    const verify = runAsPostgres(join(PG_BIN, 'pg_verifybackup'), ['-w', walDir, to], { allowFail: true });
    expect(verify.stderr + verify.stdout).toContain('backup successfully verified');
    expect(verify.status).toBe(0);
  });

  it('computes PostgreSQL page checksums exactly (the torn-page test of incrementals relies on it)', async () => {
    await fx.cluster.query('CHECKPOINT');
    const [row] = await fx.cluster.query<{ p: string }>(`SELECT pg_relation_filepath('listings') AS p`);
    const data = readFileSync(join(fx.cluster.dataDir, row!.p));
    let ok = 0;
    for (let b = 0; b < data.length / 8192; b++)
      if (pageChecksumOk(Buffer.from(data.subarray(b * 8192, (b + 1) * 8192)), b)) ok++;
    expect(ok).toBe(data.length / 8192);
    const page = Buffer.from(data.subarray(0, 8192));
    page[5000] = page[5000]! ^ 1;
    expect(pageChecksumOk(page, 0)).toBe(false);
  });

  it('reports a damaged data page (page checksum) by file and block, and still completes', async () => {
    const [row] = await fx.cluster.query<{ p: string }>(`SELECT pg_relation_filepath('bookings') AS p`);
    fx.cluster.stop();
    const file = join(fx.cluster.dataDir, row!.p);
    const data = readFileSync(file);
    data[8192 * 3 + 4000] = data[8192 * 3 + 4000]! ^ 0x10; // block 3
    writeFileSync(file, data);
    fx.cluster.start();
    const record = await runPostgresBackup(fx.backupOptions('full'));
    expect(record.pageChecksums).toEqual({ verified: true, corrupt: [{ path: row!.p, block: 3 }], corruptCount: 1 });
    expect(record.tables.find((t) => t.table === 'bookings')!.error).toMatch(/invalid page in block 3/);
    data[8192 * 3 + 4000] = data[8192 * 3 + 4000]! ^ 0x10;
    fx.cluster.stop();
    writeFileSync(file, data);
    fx.cluster.start();
  });

  it('restores into a cluster that starts and holds the data', async () => {
    const record = listBackups(openRepository(fx.repository)).at(-1);
    const to = join(fx.work, 'restored');
    await restoreBackup({
      repository: fx.repository,
      backupId: record!.id,
      to,
      restoreCommand: fx.restoreCommand,
      owner: owner(),
      targetImmediate: true,
      settings: { archive_mode: 'off' },
    });
    const r = await PgCluster.adopt(to, fx.work);
    restored.push(r);
    r.start();
    await r.waitForPromotion();
    const [row] = await r.query<{ n: string }>('SELECT count(*) AS n FROM listings');
    expect(Number(row!.n)).toBe(50000);
    const [u] = await r.query<{ n: string }>('SELECT count(*) AS n FROM scratch');
    expect(Number(u!.n)).toBe(0); // unlogged: emptied on recovery, as PostgreSQL does after a crash
    expect(listWal(openRepository(fx.repository)).length).toBeGreaterThan(0);
  });
});
