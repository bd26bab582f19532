// Restore never finishes with data silently missing: the WAL from the backup to the target is
// checked present and intact before anything is written, a target the archive cannot reach is
// refused naming the newest reachable moment, the target keeps its microseconds, and the restored
// server's recovery is verified (moment recovered to, last transaction replayed).
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { openRepository } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { waitForRecovery } from '../../src/backup/recovery-wait.js';
import { findWal } from '../../src/backup/wal-archive.js';
import { PG_BIN, PgCluster } from '../helpers/pg-cluster.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';

describe('restore checks the WAL it needs before writing anything', () => {
  let fx: BackupFixture;
  const started: PgCluster[] = [];
  /** A moment between the commits of A and B, with microseconds, as PostgreSQL prints it. */
  let between = '';
  let afterAll_ = '';
  let gapSegment = '';
  let lastSegment = '';
  const now = async () =>
    (
      await fx.cluster.query<{ t: string }>(
        `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t`,
      )
    )[0]!.t;

  beforeAll(async () => {
    fx = await createFixture();
    await fx.cluster.query('CREATE TABLE pitr (tag text)');
    await runPostgresBackup(fx.backupOptions('full'));
    await fx.cluster.query(`INSERT INTO pitr VALUES ('A')`);
    // Poll until the clock has moved past A's commit by at least a few microseconds.
    between = await now();
    while ((await now()) === between) {
      /* next microsecond */
    }
    await fx.cluster.query(`INSERT INTO pitr VALUES ('B')`);
    await fx.cluster.switchWalAndWait();
    await fx.cluster.query(`INSERT INTO pitr VALUES ('C')`);
    gapSegment = await fx.cluster.switchWalAndWait();
    await fx.cluster.query(`INSERT INTO pitr VALUES ('D')`);
    lastSegment = await fx.cluster.switchWalAndWait();
    afterAll_ = await now();
  });
  afterAll(() => {
    for (const c of started) c.destroy();
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  const restore = (name: string, extra: Partial<Parameters<typeof restoreBackup>[0]> = {}) =>
    restoreBackup({
      repository: fx.repository,
      to: join(fx.work, name),
      restoreCommand: fx.restoreCommand,
      binDirectory: PG_BIN,
      owner: owner(),
      settings: { archive_mode: 'off' },
      ...extra,
    });

  it('refuses a target time in the future, or after the newest archived WAL, naming the newest reachable moment', async () => {
    await expect(restore('future', { targetTime: '2999-01-01 00:00:00+00' })).rejects.toThrow(
      /target time 2999-01-01 00:00:00\.000000\+00 is in the future; the newest moment that can be reached is 20\d\d-/,
    );
    expect(existsSync(join(fx.work, 'future'))).toBe(false);
    const error = await restore('late', { targetTime: afterAll_ }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/is after the newest archived WAL/);
    // The moment named is D's commit: after the moment taken between A and B, before the last one.
    const named = /can be reached is (\S+ \S+)\+00/.exec((error as Error).message)![1]!;
    expect(named > between.slice(0, -3)).toBe(true);
    expect(named < afterAll_.slice(0, -3)).toBe(true);
    expect(existsSync(join(fx.work, 'late'))).toBe(false);
  });

  it('refuses a restore with a WAL segment missing from the middle, naming it, unless --to-end-of-archive', async () => {
    const repo = openRepository(fx.repository);
    const [wal] = findWal(repo, gapSegment);
    renameSync(wal!.path, `${wal!.path}.aside`);
    try {
      await expect(restore('gap')).rejects.toThrow(
        new RegExp(
          `WAL segment ${gapSegment} is missing from the archive \\(newer segments up to ${lastSegment} exist\\)`,
        ),
      );
      expect(existsSync(join(fx.work, 'gap'))).toBe(false);
      // A target before the gap needs nothing past it.
      const early = await restore('gap-early', { targetTime: between });
      expect(early.wal.stopsBefore).toBe(gapSegment);
      // Asked for explicitly: restore as far as the archive goes, and say to which moment.
      const far = await restore('gap-far', { toEndOfArchive: true });
      expect(far.wal.stopsBefore).toBe(gapSegment);
      expect(far.wal.newestCommit!.at > between.replace(' ', 'T').slice(0, -3)).toBe(true);
    } finally {
      renameSync(`${wal!.path}.aside`, wal!.path);
    }
  });

  it('refuses a restore whose WAL holds a damaged segment, naming it', async () => {
    const repo = openRepository(fx.repository);
    const [wal] = findWal(repo, lastSegment);
    const original = readFileSync(wal!.path);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x40;
    writeFileSync(wal!.path, damaged);
    try {
      await expect(restore('damaged')).rejects.toThrow(new RegExp(`archived WAL ${lastSegment} is damaged`));
      expect(existsSync(join(fx.work, 'damaged'))).toBe(false);
      // A target past it is refused naming it; a target before it does not need it.
      await expect(restore('damaged-late', { targetTime: afterAll_ })).rejects.toThrow(
        new RegExp(`archived WAL ${lastSegment} is damaged.*, so recovery cannot reach`),
      );
      expect((await restore('damaged-early', { targetTime: between })).targetTime).not.toBeNull();
    } finally {
      writeFileSync(wal!.path, original);
    }
  });

  it('keeps the microseconds of the target, and --wait reports where recovery stopped', async () => {
    const to = join(fx.work, 'pitr');
    const result = await restore('pitr', { targetTime: between });
    expect(readFileSync(join(to, 'postgresql.auto.conf'), 'utf8')).toContain(`recovery_target_time = '${between}'`);
    expect(result.targetTime).toBe(`${between.replace(' ', 'T').slice(0, -3)}Z`);
    const report = await waitForRecovery({
      binDirectory: PG_BIN,
      dataDir: to,
      owner: owner(),
      targetTime: result.targetTime,
    });
    expect(report.recoveredTo).toBe(result.targetTime);
    // Recovery stopped before B's commit, which came after the target; A's commit was the last replayed.
    expect(report.stoppedAt!.before).toBe(true);
    expect(report.stoppedAt!.at > between.slice(0, -3)).toBe(true);
    expect(report.lastTransaction!.at <= result.targetTime!).toBe(true);
    expect(report.timeline).toBe(2);
    const r = await PgCluster.adopt(to, fx.work);
    started.push(r);
    r.start();
    expect((await r.query<{ tag: string }>('SELECT tag FROM pitr ORDER BY tag')).map((x) => x.tag)).toEqual(['A']);
    r.stop();
  });
});
