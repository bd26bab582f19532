// WAL archiving and replay, Drydock against pgBackRest (part of `npm run bench:backup`).
//
// BENCH_WAL_WORKLOAD=bulk (default: each pgbench transaction inserts 1,000 rows of 256 characters,
// about 0.4 MB of WAL, so WAL comes as fast as the machine can write it) or tpcb (pgbench's own).
//
// Four throwaway clusters, one per archiver: Drydock `wal push` (synchronous), Drydock
// `wal push --async`, pgBackRest `archive-push`, pgBackRest `archive-push` with `archive-async=y`.
// Each takes a base backup, then pgbench writes as fast as it can for BENCH_WAL_SECONDS (60). Every
// second the bench samples how many finished segments are not archived yet (the lag); at the end it
// prints WAL written and archived per second, the largest and the final lag, and how long the
// archive took to catch up. Each archive_command runs under /usr/bin/time, so the per-segment time
// is what PostgreSQL waited. Then each cluster's base backup is restored and replayed to the end of
// the archive: replay time, MB/s and per-segment restore_command time.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPostgresBackup } from '../src/backup/backup-postgres.js';
import { openRepository } from '../src/backup/repository.js';
import { restoreBackup } from '../src/backup/restore.js';
import { walCommand } from '../src/backup/wal/command-line.js';
import { chownTree, ensureWalBuild, PG_BIN, PgCluster, postgresUser } from '../test/helpers/pg-cluster.js';
import { loadAverage } from './load.js';

const SEGMENT = 16 * 1024 * 1024;

export interface WalBenchOptions {
  work: string;
  seconds: number;
  scale: number;
  processes: number;
  level: number;
  report: (what: string, value: string, extra?: string) => void;
}

type Tool = 'drydock' | 'pgbackrest';

interface Mode {
  label: string;
  tool: Tool;
  async: boolean;
}

const MODES: Mode[] = [
  { label: 'Drydock wal push', tool: 'drydock', async: false },
  { label: 'Drydock wal push --async', tool: 'drydock', async: true },
  { label: 'pgBackRest archive-push', tool: 'pgbackrest', async: false },
  { label: 'pgBackRest archive-push async', tool: 'pgbackrest', async: true },
];

function asPostgres(cmd: string): string {
  const full = process.getuid?.() === 0 ? `runuser -u postgres -- bash -c ${JSON.stringify(cmd)}` : cmd;
  const r = spawnSync('bash', ['-c', full], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Wraps a command so each run appends its wall time (seconds) to `file`. */
function timedCommand(command: string, file: string): string {
  return `/usr/bin/time -f %e -a -o ${file} sh -c '${command}'`;
}

/** Seconds per run from a /usr/bin/time file, and how many runs failed. */
function timings(file: string): { times: number[]; failed: number } {
  if (!existsSync(file)) return { times: [], failed: 0 };
  const lines = readFileSync(file, 'utf8').split('\n');
  return {
    times: lines.filter((l) => /^\d+(\.\d+)?$/.test(l.trim())).map(Number),
    failed: lines.filter((l) => l.startsWith('Command exited with non-zero status')).length,
  };
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const ms = (s: number) => `${Math.round(s * 1000)} ms`;
const segNo = (name: string) => parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);

interface Setup {
  mode: Mode;
  cluster: PgCluster;
  dir: string;
  pushTimes: string;
  repoPath: string;
  pgbrConf: string;
  backupId?: string;
}

async function createSetup(mode: Mode, index: number, o: WalBenchOptions): Promise<Setup> {
  const dir = join(o.work, `wal-${index}`);
  const repoPath = join(dir, 'repo');
  const pgbr = join(dir, 'pgbackrest');
  for (const d of [repoPath, join(pgbr, 'log'), join(pgbr, 'lock'), join(pgbr, 'spool')])
    mkdirSync(d, { recursive: true });
  const pgbrConf = join(pgbr, 'pgbackrest.conf');
  const pushTimes = join(dir, 'push-times.txt');
  if (mode.tool === 'drydock')
    openRepository({ path: repoPath, compression: 'zstd', level: o.level, processes: o.processes }, { create: true });
  writeFileSync(pushTimes, '');
  chownTree(dir);
  const command =
    mode.tool === 'drydock'
      ? walCommand('push', { repository: repoPath, level: o.level, async: mode.async, processes: o.processes })
      : `pgbackrest --config=${pgbrConf} --stanza=bench archive-push "%p"`;
  const cluster = await PgCluster.create({
    archiveCommand: timedCommand(command, pushTimes),
    settings: {
      shared_buffers: "'128MB'",
      max_wal_size: "'4GB'",
      fsync: 'on',
      synchronous_commit: 'off',
      wal_compression: 'off',
      hot_standby: 'on',
    },
  });
  writeFileSync(
    pgbrConf,
    [
      '[global]',
      `repo1-path=${join(pgbr, 'repo')}`,
      `log-path=${join(pgbr, 'log')}`,
      `lock-path=${join(pgbr, 'lock')}`,
      `spool-path=${join(pgbr, 'spool')}`,
      'compress-type=zst',
      `compress-level=${o.level}`,
      `process-max=${o.processes}`,
      `archive-async=${mode.async ? 'y' : 'n'}`,
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
  if (mode.tool === 'pgbackrest') asPostgres(`pgbackrest --config=${pgbrConf} --stanza=bench stanza-create`);
  return { mode, cluster, dir, pushTimes, repoPath, pgbrConf };
}

async function archiverState(cluster: PgCluster) {
  const [row] = await cluster.query<{ cur: string; last: string | null; archived: string; failed: string }>(
    `SELECT pg_walfile_name(pg_current_wal_lsn()) AS cur, last_archived_wal AS last,
            archived_count AS archived, failed_count AS failed FROM pg_stat_archiver`,
  );
  const lag = row!.last ? segNo(row!.cur) - 1 - segNo(row!.last) : segNo(row!.cur);
  return { cur: row!.cur, lag: Math.max(0, lag), archived: Number(row!.archived), failed: Number(row!.failed) };
}

async function archivingRun(s: Setup, o: WalBenchOptions): Promise<void> {
  const { cluster, mode } = s;
  asPostgres(`${PG_BIN}/pgbench -i -s ${o.scale} -q -h 127.0.0.1 -p ${cluster.port} -U postgres postgres`);
  if (mode.tool === 'drydock') {
    const backup = await runPostgresBackup({
      kind: 'full',
      repository: { path: s.repoPath, compression: 'zstd', level: o.level, processes: o.processes },
      connection: cluster.connection(),
      dataDirectory: cluster.dataDir,
      database: 'postgres',
      verifyTables: [],
      archiveTimeoutMs: 300_000,
    });
    s.backupId = backup.id;
  } else asPostgres(`pgbackrest --config=${s.pgbrConf} --stanza=bench --type=full backup`);
  await cluster.switchWalAndWait(300_000);
  writeFileSync(s.pushTimes, '');
  const [start] = await cluster.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const before = await archiverState(cluster);
  const pgbench = spawn(
    join(PG_BIN, 'pgbench'),
    [
      '-c',
      '4',
      '-j',
      '2',
      '-T',
      String(o.seconds),
      '-h',
      '127.0.0.1',
      '-p',
      String(cluster.port),
      '-U',
      'postgres',
      'postgres',
    ],
    { stdio: 'ignore' },
  );
  const done = new Promise<void>((r) => pgbench.on('exit', () => r()));
  const t0 = Date.now();
  const lags: number[] = [];
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!finished) lags.push((await archiverState(cluster)).lag);
  }
  const elapsed = (Date.now() - t0) / 1000;
  const end = await archiverState(cluster);
  const [written] = await cluster.query<{ bytes: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes`,
    [start!.lsn],
  );
  const walBytes = Number(written!.bytes);
  const tDrain0 = Date.now();
  await cluster.switchWalAndWait(900_000);
  const drain = (Date.now() - tDrain0) / 1000;
  const archivedInRun = (end.archived - before.archived) * SEGMENT;
  const lastTen = lags.slice(-10);
  const { times, failed } = timings(s.pushTimes);
  const la = loadAverage();
  o.report(
    `${mode.label}: WAL written`,
    `${(walBytes / 1048576 / elapsed).toFixed(1)} MB/s`,
    `${(walBytes / SEGMENT).toFixed(0)} segments in ${elapsed.toFixed(0)} s; load ${la}`,
  );
  o.report(
    `${mode.label}: archived during the run`,
    `${(archivedInRun / 1048576 / elapsed).toFixed(1)} MB/s`,
    `load ${la}`,
  );
  o.report(
    `${mode.label}: lag (segments)`,
    `max ${Math.max(0, ...lags)}`,
    `end ${end.lag}, last 10 s ${Math.min(...lastTen)}..${Math.max(...lastTen)}; caught up ${drain.toFixed(1)} s after`,
  );
  o.report(
    `${mode.label}: per segment (archive_command)`,
    ms(quantile(times, 0.5)),
    `p90 ${ms(quantile(times, 0.9))}, ${times.length} runs, ${failed} failed; load ${la}`,
  );
}

async function replayRun(s: Setup, o: WalBenchOptions, prefetch: number): Promise<void> {
  const label =
    s.mode.tool === 'drydock'
      ? `Drydock wal get${prefetch ? ` --prefetch ${prefetch}` : ''}`
      : `pgBackRest archive-get${s.mode.async ? ' async' : ''}`;
  const to = join(s.dir, `restored-${prefetch}`);
  const getTimes = join(s.dir, `get-times-${prefetch}.txt`);
  writeFileSync(getTimes, '');
  chownTree(getTimes);
  if (s.mode.tool === 'drydock') {
    await restoreBackup({
      repository: { path: s.repoPath, compression: 'zstd', level: o.level, processes: o.processes },
      backupId: s.backupId,
      to,
      restoreCommand: timedCommand(
        walCommand('get', { repository: s.repoPath, prefetch, processes: o.processes }),
        getTimes,
      ),
      owner: postgresUser(),
      settings: { archive_mode: 'off' },
    });
  } else {
    mkdirSync(to, { mode: 0o700 });
    chownTree(to);
    asPostgres(`pgbackrest --config=${s.pgbrConf} --stanza=bench --pg1-path=${to} restore`);
    appendFileSync(
      join(to, 'postgresql.auto.conf'),
      `\nrestore_command = '${timedCommand(`pgbackrest --config=${s.pgbrConf} --stanza=bench --pg1-path=${to} archive-get %f "%p"`, getTimes).replace(/'/g, "''")}'\narchive_mode = off\n`,
    );
  }
  const restored = await PgCluster.adopt(to, s.dir);
  const t0 = Date.now();
  try {
    restored.start();
    await restored.waitForPromotion(1_800_000);
    const seconds = (Date.now() - t0) / 1000;
    const { times, failed } = timings(getTimes);
    // Runs that found nothing (history files, the end of the archive) exit 1.
    const segments = times.length - failed;
    const la = loadAverage();
    o.report(
      `replay with ${label}`,
      `${seconds.toFixed(1)} s`,
      `${segments} files restored, ${((segments * SEGMENT) / 1048576 / seconds).toFixed(1)} MB/s; load ${la}`,
    );
    o.report(
      `${label}: per segment (restore_command)`,
      ms(quantile(times, 0.5)),
      `p90 ${ms(quantile(times, 0.9))}; load ${la}`,
    );
  } finally {
    restored.destroy();
  }
}

export async function runWalBench(o: WalBenchOptions): Promise<void> {
  ensureWalBuild();
  console.log(
    `\n# WAL archiving: pgbench -c 4 -j 2 for ${o.seconds} s at scale ${o.scale}, then replay of the same WAL`,
  );
  const setups: Setup[] = [];
  try {
    // BENCH_WAL_TOOLS=drydock (or pgbackrest) runs one tool's two modes only.
    const tools = (process.env.BENCH_WAL_TOOLS ?? 'drydock,pgbackrest').split(',');
    for (const [i, mode] of MODES.entries()) {
      if (!tools.includes(mode.tool)) continue;
      const s = await createSetup(mode, i, o);
      setups.push(s);
      await archivingRun(s, o);
      s.cluster.stop();
    }
    console.log('\n# Replay on restore (recovery to the end of the archive, then promotion)');
    for (const s of setups) {
      if (s.mode.tool === 'drydock') await replayRun(s, o, s.mode.async ? 8 : 0);
      else await replayRun(s, o, 0);
    }
  } finally {
    for (const s of setups) s.cluster.destroy();
  }
}
