// npm run bench:backup — Drydock against pgBackRest (Debian 2.45), pg_basebackup and the physical
// limit `tar | zstd -1 -T2`, on one throwaway cluster in one run. Needs root (or the postgres user),
// PostgreSQL 15 server binaries and pgbackrest (apt-get install -y pgbackrest).
//
//   BENCH_SCALE=60 (pgbench scale, 60 ≈ 1 GB)   BENCH_DATA=pgbench|text   BENCH_PROCESSES=2   BENCH_LEVEL=1
//   BENCH_PARTS=backup,wal (which parts to run)   BENCH_WAL_SECONDS=60   BENCH_WAL_SCALE=10   BENCH_WAL_TOOLS=drydock,pgbackrest
//   --load (or BENCH_LOAD=1): run everything under a fixed background load (bench/load.ts)
//
// The WAL part (bench/wal-archiving.ts) measures archiving throughput, lag and per-segment times
// and replay on restore, for Drydock and pgBackRest, synchronous and asynchronous.
//
// Figures: full backup time and size, incremental after updating 1% of pgbench_accounts rows spread
// over the table (time and size), restore time (every file fsynced), and ratios Drydock/pgBackRest
// and Drydock/limit. BENCH_DATA=text uses a table that compresses about 2x instead of pgbench's
// blank filler.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { runPostgresBackup } from '../src/backup/backup-postgres.js';
import { loadAverage, loadRequested, startLoad } from './load.js';
import { runWalBench } from './wal-archiving.js';
import { restoreBackup } from '../src/backup/restore.js';
import {
  chownTree,
  drydockWalCommand,
  makeTempDir,
  PG_BIN,
  PgCluster,
  postgresUser,
} from '../test/helpers/pg-cluster.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 60);
const DATA = process.env.BENCH_DATA ?? 'pgbench';
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 2);
const LEVEL = Number(process.env.BENCH_LEVEL ?? 1);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'backup,wal').split(','));
const WAL_SECONDS = Number(process.env.BENCH_WAL_SECONDS ?? 60);
const WAL_SCALE = Number(process.env.BENCH_WAL_SCALE ?? 10);

function sh(cmd: string, asPostgres = false): string {
  const full = asPostgres && process.getuid?.() === 0 ? `runuser -u postgres -- bash -c ${JSON.stringify(cmd)}` : cmd;
  const r = spawnSync('bash', ['-c', full], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const v = fn();
  return [v, (performance.now() - t0) / 1000];
}

async function timedAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
}

function duBytes(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    else if (st.isFile()) total += st.size;
  };
  walk(path);
  return total;
}

const MB = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const S = (s: number) => `${s.toFixed(2)} s`;

async function main(): Promise<void> {
  const work = makeTempDir('drydock-bench-');
  const repo = join(work, 'drydock-repo');
  const pgbr = join(work, 'pgbackrest');
  for (const d of [repo, pgbr, join(pgbr, 'log'), join(pgbr, 'lock'), join(pgbr, 'spool')])
    mkdirSync(d, { recursive: true });
  const repository = { path: repo, compression: 'zstd' as const, level: LEVEL, processes: PROCESSES };
  const { openRepository } = await import('../src/backup/repository.js');
  openRepository(repository, { create: true });
  chownTree(work);

  const conf = join(pgbr, 'pgbackrest.conf');
  const archive = `${drydockWalCommand(repo, 'push')} && pgbackrest --config=${conf} --stanza=bench archive-push %p`;
  const cluster = await PgCluster.create({
    archiveCommand: archive,
    settings: { shared_buffers: "'256MB'", max_wal_size: "'4GB'", fsync: 'on', synchronous_commit: 'on' },
  });
  writeFileSync(
    conf,
    [
      '[global]',
      `repo1-path=${join(pgbr, 'repo1')}`,
      `repo2-path=${join(pgbr, 'repo2')}`,
      'repo2-bundle=y',
      'repo2-block=y',
      'beta=y',
      `log-path=${join(pgbr, 'log')}`,
      `lock-path=${join(pgbr, 'lock')}`,
      `spool-path=${join(pgbr, 'spool')}`,
      'compress-type=zst',
      `compress-level=${LEVEL}`,
      `process-max=${PROCESSES}`,
      'start-fast=y',
      'log-level-console=warn',
      '',
      '[bench]',
      `pg1-path=${cluster.dataDir}`,
      `pg1-port=${cluster.port}`,
      `pg1-socket-path=${cluster.dir}`,
      'pg1-user=postgres',
      '',
    ].join('\n'),
  );
  chownTree(pgbr);
  const pgbackrest = (args: string) => sh(`pgbackrest --config=${conf} --stanza=bench ${args}`, true);
  const rows: Array<[string, string, string]> = [];
  const report = (what: string, value: string, extra = '') => {
    const line = extra.includes('load ') ? extra : `${extra}${extra ? '; ' : ''}load ${loadAverage()}`;
    rows.push([what, value, line]);
    console.log(`${what.padEnd(52)} ${value.padStart(12)}  ${line}`);
  };
  const load = loadRequested() ? startLoad(work) : undefined;
  try {
    console.log(
      `# Drydock backup bench: ${load ? 'UNDER LOAD (one CPU burner per core + a 256 MiB fsync writer)' : 'no added load'}; ${DATA} data, scale ${SCALE}, ${PROCESSES} processes, zstd level ${LEVEL}, ${new Date().toISOString()}, load average ${loadAverage()}`,
    );
    if (PARTS.has('wal'))
      await runWalBench({ work, seconds: WAL_SECONDS, scale: WAL_SCALE, processes: PROCESSES, level: LEVEL, report });
    if (!PARTS.has('backup')) return;
    pgbackrest('stanza-create');
    if (DATA === 'text') {
      // ~12.5 MB per scale unit of text that compresses about 2x (hex digests are half entropy).
      sh(`${PG_BIN}/pgbench -i -s 1 -h 127.0.0.1 -p ${cluster.port} -U postgres postgres -q`, true);
      await cluster.query(
        `CREATE TABLE listings AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS title, (random() * 1000)::int AS price FROM generate_series(1, ${SCALE * 100_000}) g`,
      );
    } else {
      sh(`${PG_BIN}/pgbench -i -s ${SCALE} -h 127.0.0.1 -p ${cluster.port} -U postgres postgres -q`, true);
    }
    await cluster.query('VACUUM (FREEZE, ANALYZE)');
    await cluster.query('CHECKPOINT');
    await cluster.switchWalAndWait(120_000);
    const dataSize = duBytes(cluster.dataDir) - duBytes(join(cluster.dataDir, 'pg_wal'));
    report('data directory (without pg_wal)', MB(dataSize));
    sh('sync');

    // The limit is cheap to repeat: median of 3 (the machine is shared, single runs are noisy).
    const limits = [0, 1, 2]
      .map(
        () =>
          timed(() =>
            sh(
              `tar -cf - -C ${cluster.dataDir} --exclude=./pg_wal/* . | zstd -${LEVEL} -T${PROCESSES} -q -f -o ${join(work, 'limit.tar.zst')}`,
            ),
          )[1],
      )
      .sort((a, b) => a - b);
    const tLimit = limits[1]!;
    report(
      'limit: tar (without pg_wal) | zstd full',
      S(tLimit),
      `${MB(statSync(join(work, 'limit.tar.zst')).size)} (median of 3)`,
    );
    rmSync(join(work, 'limit.tar.zst'));

    const pgbb = join(work, 'pgbb');
    const [, tBb] = timed(() =>
      sh(`${PG_BIN}/pg_basebackup -h 127.0.0.1 -p ${cluster.port} -U postgres -D ${pgbb} -Ft -X fetch -c fast`, true),
    );
    report('pg_basebackup -Ft (uncompressed) full', S(tBb), MB(duBytes(pgbb)));
    rmSync(pgbb, { recursive: true, force: true });

    const [, tBrFull] = timed(() => pgbackrest('--repo=1 --type=full backup'));
    const brFullSize = duBytes(join(pgbr, 'repo1', 'backup'));
    report('pgBackRest full', S(tBrFull), MB(brFullSize));
    const [, tBrFull2] = timed(() => pgbackrest('--repo=2 --type=full backup'));
    const brFull2Size = duBytes(join(pgbr, 'repo2', 'backup'));
    report('pgBackRest full (repo-block=y)', S(tBrFull2), MB(brFull2Size));

    const verbose = process.env.BENCH_VERBOSE ? (line: string) => console.log(`    ${line}`) : undefined;
    const [full, tDdFull] = await timedAsync(() =>
      runPostgresBackup({
        kind: 'full',
        repository,
        connection: cluster.connection(),
        dataDirectory: cluster.dataDir,
        database: 'postgres',
        verifyTables: [],
        archiveTimeoutMs: 120_000,
        log: verbose,
      }),
    );
    report('Drydock full', S(tDdFull), MB(full.storedSize));

    // 1% of pgbench_accounts (or listings) rows, spread over the whole table.
    const table = DATA === 'text' ? 'listings' : 'pgbench_accounts';
    const key = DATA === 'text' ? 'id' : 'aid';
    const col = DATA === 'text' ? 'price' : 'abalance';
    await cluster.query(`UPDATE ${table} SET ${col} = ${col} + 1 WHERE ${key} % 100 = 0`);
    await cluster.query('CHECKPOINT');

    const [, tBrInc] = timed(() => pgbackrest('--repo=1 --type=incr backup'));
    const brIncSize = duBytes(join(pgbr, 'repo1', 'backup')) - brFullSize;
    report('pgBackRest incremental (file-level)', S(tBrInc), MB(brIncSize));
    const [, tBrInc2] = timed(() => pgbackrest('--repo=2 --type=incr backup'));
    const brInc2Size = duBytes(join(pgbr, 'repo2', 'backup')) - brFull2Size;
    report('pgBackRest incremental (repo-block=y)', S(tBrInc2), MB(brInc2Size));
    const [inc, tDdInc] = await timedAsync(() =>
      runPostgresBackup({
        kind: 'incremental',
        repository,
        connection: cluster.connection(),
        dataDirectory: cluster.dataDir,
        database: 'postgres',
        verifyTables: [],
        archiveTimeoutMs: 120_000,
        log: verbose,
      }),
    );
    report('Drydock incremental (page-level)', S(tDdInc), MB(inc.storedSize));

    // Restores of the incremental (full + incremental) into empty folders, every file durable.
    const brTo = join(work, 'restore-pgbr');
    mkdirSync(brTo, { mode: 0o700 });
    chownTree(brTo);
    sh('sync');
    const [, tBrRestore] = timed(() => pgbackrest(`--repo=1 --pg1-path=${brTo} restore`));
    report('pgBackRest restore', S(tBrRestore));
    rmSync(brTo, { recursive: true, force: true });
    const ddTo = join(work, 'restore-drydock');
    sh('sync');
    const [, tDdRestore] = await timedAsync(() =>
      restoreBackup({ repository, to: ddTo, restoreCommand: 'false', owner: postgresUser() }),
    );
    report('Drydock restore', S(tDdRestore));
    rmSync(ddTo, { recursive: true, force: true });

    console.log('\n# Ratios (lower is better for Drydock)');
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    report('full time Drydock / pgBackRest', ratio(tDdFull, tBrFull), 'goal <= 0.6');
    report('full time Drydock / tar|zstd limit', ratio(tDdFull, tLimit), 'goal <= 1.5');
    report('full size Drydock / pgBackRest', ratio(full.storedSize, brFullSize));
    report('incremental size Drydock / pgBackRest block', ratio(inc.storedSize, brInc2Size), 'goal <= 1.0');
    report('incremental size Drydock / pgBackRest file', ratio(inc.storedSize, brIncSize), 'goal <= 0.5');
    report('incremental time Drydock / pgBackRest block', ratio(tDdInc, tBrInc2));
    report('restore time Drydock / pgBackRest', ratio(tDdRestore, tBrRestore), 'goal <= 1.0');
    if (process.env.BENCH_JSON)
      writeFileSync(
        process.env.BENCH_JSON,
        JSON.stringify(
          { data: DATA, scale: SCALE, processes: PROCESSES, level: LEVEL, at: new Date().toISOString(), rows },
          null,
          2,
        ),
      );
  } finally {
    load?.stop();
    cluster.destroy();
    if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
