import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { removePartials } from '../../src/backup/pg-expire.js';
import { checkIntegrity } from '../../src/backup/pg-integrity.js';
import { listBackups, listUnlisted, openRepository } from '../../src/backup/repository.js';
import { describeError } from '../../src/errors.js';
import { chownTree, drydockWalCommand, makeTempDir, PgCluster } from '../helpers/pg-cluster.js';
import { createFixture, type BackupFixture } from './helpers.js';

const PROJECT = resolve(import.meta.dirname, '../..');

describe('kill -9 in the middle of a backup', () => {
  let fx: BackupFixture | undefined;
  afterAll(() => {
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('lists no partial backup, keeps the repository readable, and the next backup succeeds', async () => {
    fx = await createFixture();
    await fx.cluster.query(
      `CREATE TABLE listings AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS title FROM generate_series(1, 400000) g`,
    );
    const first = await runPostgresBackup(fx.backupOptions('full'));

    // node --import tsx, not the tsx CLI: the CLI runs the script in a child process, which a kill of the CLI would orphan.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(PROJECT, 'test/backup/fixtures/backup-child.ts'),
        JSON.stringify({ ...fx.backupOptions('full'), repository: { ...fx.repository, processes: 1 } }),
      ],
      { stdio: 'ignore', cwd: PROJECT },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Wait until the child is writing its pack file, then kill it without warning.
    const deadline = Date.now() + 30_000;
    let killedMidCopy = false;
    while (Date.now() < deadline) {
      const partial = listUnlisted(openRepository(fx.repository))[0];
      const pack = partial ? join(fx.repoPath, 'backups', partial, 'pack-0.dat') : undefined;
      if (pack && existsSync(pack) && statSync(pack).size > 0) {
        child.kill('SIGKILL');
        killedMidCopy = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(killedMidCopy).toBe(true);
    await exited;

    const repo = openRepository(fx.repository);
    expect(listBackups(repo).map((b) => b.id)).toEqual([first.id]);
    expect(listUnlisted(repo)).toHaveLength(1);
    expect(checkIntegrity(repo).problems).toEqual([]);

    // The dead process's lock is stale: the next backup takes it over and succeeds.
    const next = await runPostgresBackup(fx.backupOptions('incremental'));
    expect(listBackups(repo).map((b) => b.id)).toEqual([first.id, next.id]);
    expect(removePartials(repo)).toHaveLength(1);
    expect(listUnlisted(repo)).toEqual([]);
    // The server ended the killed session's backup by itself.
    const [row] = await fx.cluster.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'drydock backup'`,
    );
    expect(Number(row!.n)).toBe(0);
  });
});

describe('a repository on a full disk', () => {
  let cluster: PgCluster | undefined;
  let work: string | undefined;
  let mounted = false;
  afterAll(() => {
    cluster?.destroy();
    if (mounted && work) execFileSync('umount', [join(work, 'small')]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fails with a clear message, harms nothing kept, and works again once space is freed', async () => {
    work = makeTempDir('drydock-bk-disk-');
    const small = join(work, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', small]);
    mounted = true;
    const repoPath = join(small, 'repo');
    const repository = { path: repoPath, compression: 'zstd' as const, level: 1, processes: 2 };
    openRepository(repository, { create: true });
    chownTree(small);
    cluster = await PgCluster.create({ archiveCommand: drydockWalCommand(repoPath, 'push') });
    const options = {
      kind: 'full' as const,
      repository,
      connection: cluster.connection(),
      dataDirectory: cluster.dataDir,
      database: 'postgres',
      verifyTables: ['listings'],
      archiveTimeoutMs: 20_000,
    };
    const first = await runPostgresBackup(options);

    await cluster.query(
      `CREATE TABLE listings AS SELECT g AS id, md5(g::text) AS title FROM generate_series(1, 100000) g`,
    );
    const st = statfsSync(small);
    const free = st.bavail * st.bsize;
    writeFileSync(join(small, 'filler'), Buffer.alloc(Math.max(0, free - 256 * 1024)));

    const error = await runPostgresBackup(options).catch((e: unknown) => e);
    expect(describeError(error)).toMatch(
      /out of disk space; the partial backup was removed and earlier backups are untouched/,
    );
    const repo = openRepository(repository);
    expect(listBackups(repo).map((b) => b.id)).toEqual([first.id]);
    expect(readdirSync(join(repoPath, 'backups'))).toEqual([first.id]);
    expect(checkIntegrity(repo).problems).toEqual([]);

    rmSync(join(small, 'filler'));
    await cluster.switchWalAndWait(60_000);
    const again = await runPostgresBackup(options);
    expect(listBackups(repo).map((b) => b.id)).toEqual([first.id, again.id]);
    expect(again.tables[0]!.rows).toBe(100000);
  });
});
