import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { checkIntegrity } from '../../src/backup/pg-integrity.js';
import { backupDir, listBackups, openRepository, readManifest } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { cleanupRestoreTests, runRestoreTest } from '../../src/backup/scratch-restore.js';
import { startScratchServer } from '../../src/backup/scratch-server.js';
import { findWal } from '../../src/backup/wal-archive.js';
import { chownTree, PG_BIN } from '../helpers/pg-cluster.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';

describe('integrity check, restore test and damaged repositories', () => {
  let fx: BackupFixture;
  beforeAll(async () => {
    fx = await createFixture();
    await fx.cluster.query(`CREATE TABLE listings (id int primary key, title text)`);
    await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 30000) g`);
    await fx.cluster.query(`CREATE TABLE messages (id int primary key, body text)`);
    await fx.cluster.query(`INSERT INTO messages SELECT g, repeat('m', g % 50) FROM generate_series(1, 3000) g`);
    // A partitioned table with an index: amcheck must check its partitions' indexes, not the parent's.
    await fx.cluster.query(`CREATE TABLE bookings (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`);
    await fx.cluster.query(
      `CREATE TABLE bookings_2025 PARTITION OF bookings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
    );
    await fx.cluster.query(
      `CREATE TABLE bookings_2026 PARTITION OF bookings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
    );
    await fx.cluster.query(
      `INSERT INTO bookings SELECT g, date '2025-06-01' + (g % 400) FROM generate_series(1, 5000) g`,
    );
    await fx.cluster.query('VACUUM (FREEZE, ANALYZE)');
    await runPostgresBackup(fx.backupOptions('full'));
    await fx.cluster.query(`UPDATE listings SET title = 'changed' WHERE id <= 300`);
    await runPostgresBackup(fx.backupOptions('incremental'));
  });
  afterAll(() => {
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('finds nothing wrong in a healthy repository', () => {
    const report = checkIntegrity(openRepository(fx.repository));
    expect(report.problems).toEqual([]);
    expect(report.backups).toBe(2);
    expect(report.objects).toBeGreaterThan(100);
    expect(report.walFiles).toBeGreaterThan(0);
  });

  it('restore test: the newest chain starts, matches the recorded figures and passes amcheck', async () => {
    const result = await runRestoreTest({
      repository: fx.repository,
      restoreCommand: fx.restoreCommand,
      binDirectory: PG_BIN,
      owner: owner(),
      scratchParent: fx.work,
    });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.chain).toHaveLength(2);
    expect(result.measured.map((t) => t.table)).toEqual(['bookings', 'listings', 'messages']);
    expect(result.measured).toEqual(result.expected);
    // listings_pkey, messages_pkey and the primary keys of both bookings partitions.
    expect(result.indexesChecked).toBe(4);
    expect(result.pgVerifybackup).toBe('backup successfully verified');
    // The restored server said it reached its target (consistency) and where replay ended.
    expect(result.recovery.reachedConsistency).toBe(true);
    expect(result.recovery.redoDoneAt).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    // The scratch copy is gone afterwards.
    expect(readdirSync(fx.work).filter((n) => n.startsWith('drydock-restore-test-'))).toEqual([]);
  });

  it('after a crash mid-test, the leftover throwaway server is stopped and its folder deleted', async () => {
    const scratch = join(fx.work, 'drydock-restore-test-crashed');
    mkdirSync(scratch);
    chownTree(scratch);
    await restoreBackup({
      repository: fx.repository,
      to: join(scratch, 'data'),
      restoreCommand: fx.restoreCommand,
      owner: owner(),
      targetImmediate: true,
      settings: { archive_mode: 'off' },
    });
    const server = await startScratchServer(PG_BIN, join(scratch, 'data'), scratch);
    const pid = Number(readFileSync(join(scratch, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const done = await cleanupRestoreTests(PG_BIN, fx.work);
    expect(done).toEqual([`stopped the throwaway server in ${join(scratch, 'data')}`, `deleted ${scratch}`]);
    expect(existsSync(scratch)).toBe(false);
    // Gone, or a zombie nobody reaps in this sandbox: either way no longer running.
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z').toBe(true);
    void server;
  });

  it('a flipped byte is named by the integrity check, and restore refuses the chain', async () => {
    const repo = openRepository(fx.repository);
    const [full] = listBackups(repo);
    const manifest = readManifest(repo, full!);
    const victim = manifest.files.find((f) => f.objects.length > 0 && f.objects[0]!.length > 1000)!;
    const obj = victim.objects[0]!;
    const pack = join(backupDir(repo, full!.id), `pack-${obj.pack}.dat`);
    const bytes = readFileSync(pack);
    const at = obj.offset + (obj.length >> 1);
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(pack, bytes);

    const report = checkIntegrity(repo);
    expect(report.problems).toContainEqual({
      backup: full!.id,
      file: victim.path,
      problem: 'checksum mismatch in the stored copy',
    });

    const to = join(fx.work, 'refused');
    await expect(restoreBackup({ repository: fx.repository, to, restoreCommand: fx.restoreCommand })).rejects.toThrow(
      new RegExp(`backup ${full!.id}: stored copy of ${victim.path} is damaged`),
    );
    expect(existsSync(to)).toBe(false);

    bytes[at] = bytes[at] ^ 0x40; // repair for the next test
    writeFileSync(pack, bytes);
    expect(checkIntegrity(repo).problems).toEqual([]);
  });

  it('a truncated pack and a deleted WAL segment are named; restore refuses before writing', async () => {
    const repo = openRepository(fx.repository);
    const [full, inc] = listBackups(repo);
    const pack = join(backupDir(repo, inc!.id), 'pack-0.dat');
    const original = readFileSync(pack);
    truncateSync(pack, Math.floor(original.length / 2));
    const [wal] = findWal(repo, full!.walStart);
    const walBytes = readFileSync(wal!.path);
    rmSync(wal!.path);

    const report = checkIntegrity(repo);
    expect(
      report.problems.some((p) => p.backup === inc!.id && p.file === 'pack-0.dat' && /bytes, expected/.test(p.problem)),
    ).toBe(true);
    expect(report.problems.some((p) => p.backup === inc!.id && /truncated/.test(p.problem))).toBe(true);
    expect(report.problems).toContainEqual({
      backup: full!.id,
      file: full!.walStart,
      problem: 'WAL segment needed to make this backup consistent is missing',
    });

    const to = join(fx.work, 'refused-2');
    await expect(restoreBackup({ repository: fx.repository, to, restoreCommand: fx.restoreCommand })).rejects.toThrow(
      new RegExp(`backup ${inc!.id}: pack-0.dat is truncated`),
    );
    expect(existsSync(to)).toBe(false);

    writeFileSync(pack, original);
    writeFileSync(wal!.path, walBytes);
    expect(checkIntegrity(repo).problems).toEqual([]);
  });

  it('a deleted parent backup makes restore refuse, naming the missing backup', async () => {
    const repo = openRepository(fx.repository);
    const [full, inc] = listBackups(repo);
    const catalog = join(fx.repoPath, 'catalog', `${full!.id}.json`);
    const saved = readFileSync(catalog);
    rmSync(catalog);
    await expect(
      restoreBackup({
        repository: fx.repository,
        backupId: inc!.id,
        to: join(fx.work, 'refused-3'),
        restoreCommand: fx.restoreCommand,
      }),
    ).rejects.toThrow(new RegExp(`backup ${full!.id}, needed by ${inc!.id}, is missing`));
    expect(checkIntegrity(repo).problems.some((p) => p.backup === inc!.id && p.file === '(chain)')).toBe(true);
    // The next incremental does not build on a broken chain: it becomes a full backup.
    const lines: string[] = [];
    const next = await runPostgresBackup({ ...fx.backupOptions('incremental'), log: (l) => lines.push(l) });
    expect(next.kind).toBe('full');
    expect(lines.join('\n')).toMatch(new RegExp(`the chain of ${inc!.id} cannot be used`));
    writeFileSync(catalog, saved);
  });
});
