// WAL archiving through the real `drydock wal push|get` command lines that Drydock prints, against
// real throwaway clusters: exit codes PostgreSQL acts on, a damaged segment that must stop recovery
// (never a silent promotion without the rest of the WAL), and self-sufficient command lines.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { restoreDatabase } from '../../src/backup/commands.js';
import { openRepository } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { findWal, listWal } from '../../src/backup/wal-archive.js';
import { spoolFolder } from '../../src/backup/wal/cli.js';
import { walCommand } from '../../src/backup/wal/command-line.js';
import { ensureWalBuild, makeTempDir, PgCluster } from '../helpers/pg-cluster.js';
import { waitFor } from '../helpers/wait.js';
import { testPolicy } from '../helpers/context.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';

const PROJECT = resolve(import.meta.dirname, '../..');

/** Runs a command line the way PostgreSQL does: through /bin/sh, with %f and %p substituted. */
function runLikePostgres(template: string, name: string, path: string, cwd: string) {
  const line = template.replace(/%f/g, name).replace(/%p/g, path);
  const r = spawnSync('/bin/sh', ['-c', line], { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  return { status: r.status, stderr: r.stderr };
}

describe('drydock wal push/get command lines', () => {
  let work: string;
  // The first hook may rebuild dist/ (ensureWalBuild), which takes a while on a loaded machine.
  beforeAll(() => {
    ensureWalBuild();
    work = makeTempDir('drydock-walcli-');
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('get exits 0 with the file, 1 when it is not archived, 200 (stop recovery) when the stored copy is damaged', () => {
    const repoPath = join(work, 'repo');
    const repo = openRepository({ path: repoPath, compression: 'zstd', level: 1, processes: 1 }, { create: true });
    const segment = Buffer.alloc(16 << 20);
    for (let i = 0; i < segment.length; i += 4096) segment.writeUInt32LE(i, i);
    writeFileSync(join(work, 'seg'), segment);
    const name = '000000010000000000000042';
    const push = walCommand('push', { repository: repoPath });
    const get = walCommand('get', { repository: repoPath });
    // A minimal PATH and another working directory: the command line needs nothing from the environment.
    expect(runLikePostgres(push, name, join(work, 'seg'), '/')).toEqual({ status: 0, stderr: '' });
    expect(findWal(repo, name)).toHaveLength(1);
    // Pushing the same file again succeeds (PostgreSQL retries after a crash).
    expect(runLikePostgres(push, name, join(work, 'seg'), '/').status).toBe(0);

    mkdirSync(join(work, 'pg_wal'));
    expect(runLikePostgres(get, name, 'pg_wal/RECOVERYXLOG', work)).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(join(work, 'pg_wal/RECOVERYXLOG')).equals(segment)).toBe(true);

    const missing = runLikePostgres(get, '000000010000000000000043', 'pg_wal/RECOVERYXLOG', work);
    expect(missing.status).toBe(1);
    expect(runLikePostgres(get, '00000002.history', 'pg_wal/RECOVERYHISTORY', work).status).toBe(1);

    const stored = findWal(repo, name)[0]!.path;
    const bytes = readFileSync(stored);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(stored, bytes);
    const damaged = runLikePostgres(get, name, 'pg_wal/RECOVERYXLOG', work);
    expect(damaged.status).toBe(200);
    expect(damaged.stderr).toContain(`archived WAL ${name} is damaged`);
    expect(damaged.stderr).toContain(stored);

    // A repository that cannot be read is not "end of archive" either.
    const unreadable = runLikePostgres(
      walCommand('get', { repository: join(work, 'no-such-repo') }),
      name,
      'pg_wal/X',
      work,
    );
    expect(unreadable.status).toBe(200);
    expect(unreadable.stderr).toContain('no Drydock repository at');
    const usage = runLikePostgres(`${get} --level nope`, name, 'pg_wal/X', work);
    expect(usage.status).toBe(200);
    expect(usage.stderr).toContain('--level must be a whole number');
    // push failures exit 1: PostgreSQL keeps the file and retries.
    expect(runLikePostgres(push, name, join(work, 'no-such-file'), '/').status).toBe(1);
  });

  it('an encrypted repository: the key is named by --key-env or --key-file, never written on the command line', () => {
    const repoPath = join(work, 'enc');
    const key = 'c'.repeat(64);
    openRepository(
      { path: repoPath, compression: 'zstd', level: 1, processes: 1, encryptionKey: key },
      { create: true },
    );
    writeFileSync(join(work, 'key'), `${key}\n`);
    writeFileSync(join(work, 'small'), 'x'.repeat(1000));
    const viaFile = walCommand('push', { repository: repoPath, keyFile: join(work, 'key') });
    expect(viaFile).not.toContain(key);
    expect(runLikePostgres(viaFile, '000000010000000000000001', join(work, 'small'), '/').status).toBe(0);
    const viaEnv = walCommand('get', { repository: repoPath, keyEnv: 'DRYDOCK_WAL_TEST_KEY' });
    const noKey = runLikePostgres(viaEnv, '000000010000000000000001', join(work, 'out'), work);
    expect(noKey.status).toBe(200);
    expect(noKey.stderr).toContain('DRYDOCK_WAL_TEST_KEY');
    const ok = runLikePostgres(
      `DRYDOCK_WAL_TEST_KEY=${key} ${viaEnv}`,
      '000000010000000000000001',
      join(work, 'out'),
      work,
    );
    expect(ok.status).toBe(0);
    expect(readFileSync(join(work, 'out'), 'utf8')).toBe('x'.repeat(1000));
  });

  it('`drydock wal settings` prints self-sufficient lines: absolute node, entry point and repository', () => {
    const policyFile = join(work, 'policy.yaml');
    writeFileSync(
      policyFile,
      `backup:\n  repository:\n    path: ./relative-repo\n    encryption_key: {env: SOME_KEY}\n  postgres:\n    data_directory: ${work}\n`,
    );
    const r = spawnSync(
      process.execPath,
      [join(PROJECT, 'bin/drydock.js'), '--policy', policyFile, 'wal', 'settings'],
      {
        cwd: work,
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('archive_mode = on');
    const node = process.execPath;
    const entry = join(PROJECT, 'bin/drydock.js');
    expect(r.stdout).toContain(
      `archive_command = '${node} ${entry} wal push "%p" %f --repo ${join(work, 'relative-repo')} --key-env SOME_KEY'`,
    );
    expect(r.stdout).toContain(
      `restore_command = 'mv -f ${spoolFolder('prefetch', join(work, 'relative-repo'))}/%f "%p" 2>/dev/null || ${join(PROJECT, 'bin/drydock-wal-ack')} get ${spoolFolder('prefetch', join(work, 'relative-repo'))} %f "%p" || ${node} ${entry} wal get %f "%p" --repo ${join(work, 'relative-repo')} --key-env SOME_KEY --prefetch 8 --processes 2'`,
    );
    const async = spawnSync(
      process.execPath,
      [join(PROJECT, 'bin/drydock.js'), '--policy', policyFile, 'wal', 'settings', '--async', '--json'],
      { cwd: work, encoding: 'utf8' },
    );
    expect((JSON.parse(async.stdout) as { archive_command: string }).archive_command).toBe(
      `test -f ${spoolFolder('archive', join(work, 'relative-repo'))}/%f.ok || ${join(PROJECT, 'bin/drydock-wal-ack')} push ${spoolFolder('archive', join(work, 'relative-repo'))} %f || ${node} ${entry} wal push "%p" %f --repo ${join(work, 'relative-repo')} --key-env SOME_KEY --async --processes 2`,
    );
  });
});

describe('a damaged archived segment during a restore', () => {
  let fx: BackupFixture;
  const started: PgCluster[] = [];
  beforeAll(async () => {
    fx = await createFixture();
  }, 300_000);
  afterAll(async () => {
    for (const c of started) c.destroy();
    if (fx) await prefetchersGone(fx.work);
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  }, 90_000);

  it('stops recovery naming the file instead of promoting without the rows after it, and recovers all once repaired', async () => {
    await fx.cluster.query('CREATE TABLE listings (id int primary key, title text)');
    await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 1000) g`);
    const backup = await runPostgresBackup(fx.backupOptions('full'));
    // 2,000 rows after the backup, spread over four archived segments.
    await fx.cluster.query('CREATE TABLE after_backup (id int primary key, body text)');
    for (let batch = 0; batch < 4; batch++) {
      await fx.cluster.query(
        `INSERT INTO after_backup SELECT g, repeat(md5(g::text), 4) FROM generate_series($1::int + 1, $1::int + 500) g`,
        [batch * 500],
      );
      await fx.cluster.switchWalAndWait();
    }
    const repo = openRepository(fx.repository);
    const after = listWal(repo).filter((w) => /^[0-9A-F]{24}$/.test(w.name) && w.name > backup.walStop);
    expect(after.length).toBeGreaterThanOrEqual(4);
    const victim = after[0]!;

    const to = join(fx.work, 'restored');
    await restoreBackup({
      repository: fx.repository,
      to,
      restoreCommand: fx.restoreCommand,
      owner: owner(),
      settings: { archive_mode: 'off' },
    });
    // The same with the prefetching restore_command `drydock restore` writes by default: the
    // prefetcher leaves the damaged file to `wal get`, which stops recovery the same way.
    const toPrefetch = join(fx.work, 'restored-prefetch');
    await restoreBackup({
      repository: fx.repository,
      to: toPrefetch,
      restoreCommand: walCommand('get', { repository: fx.repoPath, prefetch: 4 }),
      owner: owner(),
      settings: { archive_mode: 'off' },
    });
    // The archive is damaged after both restores were written (restore itself checks every segment it
    // needs before writing and would refuse, as the next lines show): recovery must stop at the file.
    const good = join(fx.work, 'good-copy');
    copyFileSync(victim.path, good);
    const bytes = readFileSync(victim.path);
    bytes[bytes.length >> 1]! ^= 0x5a;
    writeFileSync(victim.path, bytes);
    await expect(
      restoreBackup({
        repository: fx.repository,
        to: join(fx.work, 'refused'),
        restoreCommand: fx.restoreCommand,
        owner: owner(),
      }),
    ).rejects.toThrow(`archived WAL ${victim.name} is damaged`);

    const restored = await PgCluster.adopt(to, fx.work);
    started.push(restored);
    expect(() => restored.start()).toThrow();
    const log = restored.log();
    expect(log).toContain(`archived WAL ${victim.name} is damaged`);
    expect(log).toMatch(/aborting startup due to startup process failure|startup process .* exited with exit code 1/);
    expect(log).not.toContain('archive recovery complete');
    expect(log).not.toContain('selected new timeline ID');
    // Still a restore waiting to happen: nothing promoted, nothing to mistake for a good copy.
    expect(existsSync(join(to, 'recovery.signal'))).toBe(true);
    expect(existsSync(join(to, 'pg_wal/00000002.history'))).toBe(false);

    const prefetching = await PgCluster.adopt(toPrefetch, fx.work);
    started.push(prefetching);
    expect(() => prefetching.start()).toThrow();
    expect(prefetching.log()).toContain(`archived WAL ${victim.name} is damaged`);
    expect(prefetching.log()).not.toContain('selected new timeline ID');

    // Repair the archive: the same data directory now recovers every row.
    copyFileSync(good, victim.path);
    restored.start();
    await restored.waitForPromotion();
    const [row] = await restored.query<{ n: string }>('SELECT count(*) AS n FROM after_backup');
    expect(Number(row!.n)).toBe(2000);
    restored.stop();
  });

  it('drydock restore writes the absolute restore_command of the policy repository', async () => {
    const to = join(fx.work, 'restored-policy');
    const policy = testPolicy({
      backup: { repository: { path: fx.repoPath }, postgres: { data_directory: fx.cluster.dataDir } },
    });
    await restoreDatabase(policy, { to, progress: false, owner: owner() });
    const auto = readFileSync(join(to, 'postgresql.auto.conf'), 'utf8');
    expect(auto).toContain(
      `restore_command = 'mv -f ${spoolFolder('prefetch', fx.repoPath)}/%f "%p" 2>/dev/null || ${join(PROJECT, 'bin/drydock-wal-ack')} get ${spoolFolder('prefetch', fx.repoPath)} %f "%p" || ${process.execPath} ${join(PROJECT, 'bin/drydock.js')} wal get %f "%p" --repo ${fx.repoPath} --prefetch 8 --processes 2'`,
    );
  });
});

describe('asynchronous archiving (spool + background pusher) and prefetch during recovery', () => {
  let fx: BackupFixture;
  const started: PgCluster[] = [];
  beforeAll(async () => {
    fx = await createFixture({ archiveCommand: (repo) => walCommand('push', { repository: repo, async: true }) });
  }, 300_000);
  afterAll(async () => {
    for (const c of started) c.destroy();
    if (fx) await prefetchersGone(fx.work);
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  }, 90_000);

  const spool = () => join(fx.cluster.dataDir, spoolFolder('archive', fx.repoPath));
  const readyCount = () =>
    readdirSync(join(fx.cluster.dataDir, 'pg_wal/archive_status')).filter((f) => f.endsWith('.ready')).length;

  it('acknowledges a segment only once the repository holds it, survives kill -9 of the pusher, and a restore prefetches', async () => {
    await fx.cluster.query('CREATE TABLE listings (id int primary key, title text)');
    await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 1000) g`);
    const backup = await runPostgresBackup(fx.backupOptions('full'));
    const repo = openRepository(fx.repository);

    // The repository refuses writes (as the postgres account): nothing is acknowledged, PostgreSQL
    // keeps every segment and records failures, and the reason reaches its log.
    const walRoot = join(fx.repoPath, 'wal');
    chmodSync(walRoot, 0o500);
    const folders = readdirSync(walRoot);
    for (const f of folders) chmodSync(join(walRoot, f), 0o500);
    await fx.cluster.query('CREATE TABLE after_backup (id int primary key, body text)');
    const [first] = await fx.cluster.query<{ name: string }>(
      `SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS name`,
    );
    await fx.cluster.query(`INSERT INTO after_backup SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 500) g`);
    await fx.cluster.query('SELECT pg_switch_wal()');
    for (const deadline = Date.now() + 60_000; ;) {
      const [s] = await fx.cluster.query<{ failed: string }>('SELECT failed_count AS failed FROM pg_stat_archiver');
      if (Number(s!.failed) > 0) break;
      if (Date.now() > deadline) throw new Error('archiving never failed');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(findWal(repo, first!.name)).toEqual([]);
    expect(existsSync(join(spool(), `${first!.name}.ok`))).toBe(false);
    expect(existsSync(join(fx.cluster.dataDir, 'pg_wal', first!.name))).toBe(true);
    expect(fx.cluster.log()).toMatch(new RegExp(`drydock wal push ${first!.name} \\(async\\): .*(EACCES|permission)`));
    chmodSync(walRoot, 0o750);
    for (const f of folders) chmodSync(join(walRoot, f), 0o750);

    // Several segments quickly, with the pusher killed without warning in the middle.
    for (let batch = 1; batch < 8; batch++) {
      await fx.cluster.query(
        `INSERT INTO after_backup SELECT g, repeat(md5(g::text), 4) FROM generate_series($1::int + 1, $1::int + 500) g`,
        [batch * 500],
      );
      await fx.cluster.query('SELECT pg_switch_wal()');
      if (batch === 3) {
        const pidFile = join(spool(), 'pusher.pid');
        for (const deadline = Date.now() + 30_000; !existsSync(pidFile) && Date.now() < deadline;)
          await new Promise((r) => setTimeout(r, 20));
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
        } catch {
          /* it may have finished and exited already */
        }
      }
    }
    await fx.cluster.switchWalAndWait(120_000);
    expect(readyCount()).toBe(0);
    // Every archived segment after the backup is in the repository, intact, with pg_wal's content.
    const archived = listWal(repo).filter((w) => /^[0-9A-F]{24}$/.test(w.name) && w.name > backup.walStop);
    expect(archived.length).toBeGreaterThanOrEqual(8);
    expect(archived.map((w) => w.name)).toContain(first!.name);
    // Acknowledgements are cleaned up once PostgreSQL has marked the segments done.
    for (const deadline = Date.now() + 30_000; ;) {
      const oks = readdirSync(spool()).filter((f) => f.endsWith('.ok'));
      if (oks.length === 0) break;
      if (Date.now() > deadline) throw new Error(`stale acknowledgements: ${oks.join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Restore with prefetch: every row comes back, and the prefetcher followed recovery.
    const to = join(fx.work, 'restored');
    await restoreBackup({
      repository: fx.repository,
      to,
      restoreCommand: walCommand('get', { repository: fx.repoPath, prefetch: 4 }),
      owner: owner(),
      settings: { archive_mode: 'off' },
    });
    const restored = await PgCluster.adopt(to, fx.work);
    started.push(restored);
    restored.start();
    await restored.waitForPromotion();
    const [row] = await restored.query<{ n: string }>('SELECT count(*) AS n FROM after_backup');
    expect(Number(row!.n)).toBe(4000);
    const want = readFileSync(join(to, spoolFolder('prefetch', fx.repoPath), 'want'), 'utf8');
    expect(want > backup.walStop).toBe(true);
    restored.stop();
  });
});

/**
 * A prefetcher outlives the recovery it served until it has been idle for IDLE_EXIT_MS (after a stop at
 * a damaged file it keeps re-marking that file missing): wait for every prefetcher under `work` to
 * release its lock, so that removing the folder does not race its writes.
 */
async function prefetchersGone(work: string): Promise<void> {
  const locks = () =>
    (existsSync(work) ? readdirSync(work) : []).flatMap((d) => {
      const wal = join(work, d, 'pg_wal');
      if (!existsSync(wal)) return [];
      return readdirSync(wal)
        .filter((f) => f.startsWith('drydock-prefetch-'))
        .map((f) => join(wal, f, 'prefetcher.pid'))
        .filter((f) => existsSync(f));
    });
  await waitFor('the prefetchers to exit', () => (locks().length === 0 ? true : undefined), 60_000, 200);
}
