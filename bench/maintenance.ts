// npm run bench:maintenance
//
// Does Drydock's PostgreSQL maintenance hurt the application while it runs? This seeds a demo
// Dokkerr database with churn, drives a steady application load at it from a second process
// (pgbench with a custom script, fixed arrival rate), and compares application throughput and p99
// latency during database.vacuum + database.index_rebuild with the same load without maintenance.
// It prints figures and never asserts. Goal: TPS ≥ 0.9 × baseline, p99 ≤ 1.5 × baseline.
//
// On a demo-sized database one pass of both tasks takes seconds, too few transactions for a
// trustworthy p99. So the first pass (the one that reclaims the bloat) is measured on its own
// against the window just before it, and then windows without maintenance and windows of
// back-to-back passes alternate, all under one continuous load, and are compared as two groups.
//
// Knobs (environment): DRYDOCK_BENCH_SCALE (8), DRYDOCK_BENCH_RATE (transactions/s, 200),
// DRYDOCK_BENCH_BASELINE (seconds before the first pass, 15), DRYDOCK_BENCH_WINDOW (seconds, 10),
// DRYDOCK_BENCH_CYCLES (3),
// DRYDOCK_BENCH_DATABASE (dokkerr_bench), DRYDOCK_BENCH_KEEP=1 keeps the database afterwards,
// PGHOST/PGPORT/PGUSER (127.0.0.1:5432, postgres).
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { closeQuietly, connectPostgres } from '../src/adapters/postgres.js';
import { dropDemo, seedDemo } from '../src/demo/seed.js';
import { systemClock } from '../src/clock.js';
import type { Figure, ImplementedTask, StepHandle, StepOptions, TaskContext } from '../src/engine/types.js';
import { policySchema, type Policy } from '../src/policy/schema.js';
import { indexRebuildTask } from '../src/tasks/database/index-rebuild.js';
import { formatBytes, vacuumTask } from '../src/tasks/database/vacuum.js';

const env = process.env;
const SCALE = Number(env.DRYDOCK_BENCH_SCALE ?? 8);
const RATE = Number(env.DRYDOCK_BENCH_RATE ?? 200);
const BASELINE_S = Number(env.DRYDOCK_BENCH_BASELINE ?? 15);
const WINDOW_S = Number(env.DRYDOCK_BENCH_WINDOW ?? 10);
const CYCLES = Number(env.DRYDOCK_BENCH_CYCLES ?? 3);
/** Load time set aside for the first pass (it does the real work: ~12 s at scale 8 here). */
const FIRST_PASS_BUDGET_S = 15;
/** Load keeps running a little after the last window, so a pass that overruns is still under load. */
const TAIL_S = 8;
/** Transactions completed in the first seconds of each pgbench run are not counted (connections, caches). */
const WARMUP_S = 3;
const CLIENTS = 4;
const THREADS = 2;
const PGBENCH = env.PGBENCH ?? '/usr/bin/pgbench';

const policy: Policy = policySchema.parse({
  targets: {
    postgres: {
      host: env.PGHOST ?? '127.0.0.1',
      port: Number(env.PGPORT ?? 5432),
      user: env.PGUSER ?? 'postgres',
      database: env.DRYDOCK_BENCH_DATABASE ?? 'dokkerr_bench',
    },
  },
});
const target = policy.targets.postgres;

// What Dokkerr's app does all day: look at a listing, search a city by price, look at bookings,
// confirm a booking, reprice a listing. Updates touch indexed columns, so rebuilds have work to chase.
const CITIES = [
  'Lisbon',
  'Porto',
  'Berlin',
  'Hamburg',
  'Paris',
  'Lyon',
  'Madrid',
  'Barcelona',
  'Rome',
  'Milan',
  'Vienna',
  'Prague',
  'Krakow',
  'Amsterdam',
  'Copenhagen',
  'Oslo',
];
const SCRIPT = `
\\set lid random(1, :max_listing)
\\set bid random(1, :max_booking)
\\set uid random(1, :max_user)
\\set city random(1, ${CITIES.length})
\\set low random(3000, 40000)
BEGIN;
SELECT id, title, price_cents, city FROM listings WHERE id = :lid;
SELECT id, title, price_cents FROM listings WHERE city = (ARRAY[${CITIES.map((c) => `'${c}'`).join(',')}])[:city] AND price_cents BETWEEN :low AND :low + 5000 ORDER BY price_cents LIMIT 20;
SELECT count(*) FROM bookings WHERE listing_id = :lid;
SELECT id, starts_on, status FROM bookings WHERE guest_id = :uid ORDER BY starts_on DESC LIMIT 10;
UPDATE bookings SET status = 'confirmed', updated_at = now() WHERE id = :bid;
UPDATE listings SET price_cents = price_cents + 1, updated_at = now() WHERE id = :lid;
END;
`;

interface LoadRun {
  label: string;
  /** Completion time (ms since epoch) and latency (µs, measured from the scheduled start) per transaction. */
  transactions: { endMs: number; latencyUs: number }[];
  stdout: string;
  startedMs: number;
}

interface LoadFigures {
  transactions: number;
  seconds: number;
  tps: number;
  p50Ms: number;
  p99Ms: number;
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
}

type Interval = [startMs: number, endMs: number];

async function main(): Promise<void> {
  const wallStart = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'drydock-bench-'));
  try {
    log(
      `seeding "${target.database}" at scale ${SCALE} on ${target.host}:${target.port} (dropped first, for a reproducible start)`,
    );
    await dropDemo(target);
    const seeded = await seedDemo({ target, scale: SCALE });
    log(
      `seeded: ${Object.entries(seeded.rows)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}`,
    );
    log(
      `dead tuples left by churn: ${Object.entries(seeded.deadTuples)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}`,
    );
    const vars = await scriptVariables();
    const scriptPath = join(dir, 'dokkerr.sql');
    await writeFile(scriptPath, SCRIPT);

    // One load run, with windows without and with maintenance taking turns: this machine may be
    // shared, and alternating windows spreads other people's load over both sides of the comparison.
    const loadSeconds = WARMUP_S + BASELINE_S + FIRST_PASS_BUDGET_S + CYCLES * 2 * WINDOW_S + TAIL_S;
    log(
      `load: pgbench, ${CLIENTS} clients at ${RATE} tps for ${loadSeconds} s; ${BASELINE_S} s without maintenance, the first pass, then ${CYCLES} × (${WINDOW_S} s without, ${WINDOW_S} s of back-to-back passes)`,
    );
    const loadDone = runLoad('load', dir, scriptPath, vars, loadSeconds);
    await sleep(WARMUP_S * 1000);
    const off: Interval[] = [];
    const on: Interval[] = [];
    /** Which task was running when, to tell their effects apart. */
    const byTask: Record<string, Interval[]> = { [vacuumTask.id]: [], [indexRebuildTask.id]: [] };
    const timed = async (task: ImplementedTask, quiet: boolean): Promise<BenchContext> => {
      const started = Date.now();
      const ctx = await runTask(task, quiet);
      byTask[task.id]!.push([started, Date.now()]);
      return ctx;
    };
    off.push(await idle(BASELINE_S));

    const indexBytesBefore = await totalIndexBytes();
    const firstStart = Date.now();
    log('pass 1 (on the bloated tables)');
    const vacuumCtx = await timed(vacuumTask, false);
    const rebuildCtx = await timed(indexRebuildTask, false);
    const firstPass: Interval = [firstStart, Date.now()];
    on.push(firstPass);
    const indexBytesAfter = await totalIndexBytes();

    let passes = 1;
    let laterRebuilds = 0;
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      off.push(await idle(WINDOW_S));
      const started = Date.now();
      do {
        passes += 1;
        await timed(vacuumTask, true);
        const later = await timed(indexRebuildTask, true);
        laterRebuilds += countRebuilt(later);
      } while (Date.now() - started < WINDOW_S * 1000);
      on.push([started, Date.now()]);
      log(`cycle ${cycle + 1}/${CYCLES} done (${passes} passes so far)`);
    }
    const run = await loadDone;
    const loadEnd = run.startedMs + loadSeconds * 1000;
    const lastOn = on[on.length - 1]![1];
    if (lastOn > loadEnd) log(`warning: maintenance outlasted the load by ${((lastOn - loadEnd) / 1000).toFixed(1)} s`);

    report({
      baseline: figures(run, off),
      firstBaseline: figures(run, [off[0]!]),
      firstPass: figures(run, [firstPass]),
      during: figures(run, on),
      vacuuming: figures(run, byTask[vacuumTask.id]!),
      rebuilding: figures(run, byTask[indexRebuildTask.id]!),
      passes,
      maintenanceMs: on.reduce((sum, [a, b]) => sum + (b - a), 0),
      vacuumCtx,
      rebuildCtx,
      indexBytesBefore,
      indexBytesAfter,
      laterRebuilds,
      wallMs: Date.now() - wallStart,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    if (env.DRYDOCK_BENCH_KEEP !== '1') await dropDemo(target).catch(() => undefined);
  }
}

async function idle(seconds: number): Promise<Interval> {
  const started = Date.now();
  await sleep(seconds * 1000);
  return [started, Date.now()];
}

/** Highest ids, so the script's random ids hit real rows most of the time. */
async function scriptVariables(): Promise<Record<string, number>> {
  const client = await connectPostgres(target, { applicationName: 'drydock:bench' });
  try {
    const { rows } = await client.query<{ l: string; b: string; u: string }>(
      'SELECT (SELECT max(id) FROM listings) AS l, (SELECT max(id) FROM bookings) AS b, (SELECT max(id) FROM users) AS u',
    );
    return { max_listing: Number(rows[0]!.l), max_booking: Number(rows[0]!.b), max_user: Number(rows[0]!.u) };
  } finally {
    await closeQuietly(client);
  }
}

async function totalIndexBytes(): Promise<number> {
  const client = await connectPostgres(target, { applicationName: 'drydock:bench' });
  try {
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT sum(pg_indexes_size(relid)) AS bytes FROM pg_stat_user_tables WHERE schemaname = 'public'`,
    );
    return Number(rows[0]?.bytes ?? 0);
  } finally {
    await closeQuietly(client);
  }
}

/** Runs pgbench in its own process with per-transaction logs, and reads the logs back. */
async function runLoad(
  label: string,
  dir: string,
  scriptPath: string,
  vars: Record<string, number>,
  seconds: number,
): Promise<LoadRun> {
  const prefix = join(dir, label);
  const args = [
    '-h',
    target.host,
    '-p',
    String(target.port),
    '-U',
    target.user,
    '-n',
    '-f',
    scriptPath,
    '-c',
    String(CLIENTS),
    '-j',
    String(THREADS),
    '-T',
    String(seconds),
    '--rate',
    String(RATE),
    '-l',
    `--log-prefix=${prefix}`,
    ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    target.database,
  ];
  const startedMs = Date.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(PGBENCH, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`pgbench exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
  const transactions: LoadRun['transactions'] = [];
  for (const file of (await readdir(dir)).filter((f) => f.startsWith(`${label}.`))) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      // client_id transaction_no latency_us script_no epoch_s epoch_us [schedule_lag_us]
      const f = line.split(' ');
      if (f.length < 6) continue;
      transactions.push({ endMs: Number(f[4]) * 1000 + Number(f[5]) / 1000, latencyUs: Number(f[2]) });
    }
  }
  return { label, transactions, stdout, startedMs };
}

function figures(run: LoadRun, intervals: Interval[]): LoadFigures {
  const inWindow = run.transactions.filter((t) => intervals.some(([a, b]) => t.endMs >= a && t.endMs <= b));
  const latencies = inWindow.map((t) => t.latencyUs).sort((a, b) => a - b);
  const seconds = Math.max(0.001, intervals.reduce((sum, [a, b]) => sum + (b - a), 0) / 1000);
  return {
    transactions: inWindow.length,
    seconds,
    tps: inWindow.length / seconds,
    p50Ms: percentile(latencies, 0.5) / 1000,
    p99Ms: percentile(latencies, 0.99) / 1000,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

interface BenchContext extends TaskContext {
  figures: Record<string, Figure>;
  summaries: string[];
  failedSteps: string[];
}

/** A minimal TaskContext that prints each step as it ends; the engine is not needed to measure the tasks. */
function benchContext(taskId: string, quiet: boolean): BenchContext {
  const figuresByName: Record<string, Figure> = {};
  const summaries: string[] = [];
  const failedSteps: string[] = [];
  return {
    runId: 0,
    taskId,
    policy,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    figures: figuresByName,
    summaries,
    failedSteps,
    async step<T>(
      name: string,
      fn: (step: StepHandle) => Promise<T>,
      options: StepOptions = {},
    ): Promise<T | undefined> {
      const started = Date.now();
      try {
        const value = await fn({ output: () => undefined });
        if (!quiet) log(`  ${taskId}: ${name} (${Date.now() - started} ms)`);
        return value;
      } catch (error) {
        failedSteps.push(`${name}: ${(error as Error).message}`);
        log(`  ${taskId}: ${name} FAILED: ${(error as Error).message}`);
        if (!options.continueOnError) throw error;
        return undefined;
      }
    },
    figure: (name, figure) => void (figuresByName[name] = figure),
    summary: (line) => void summaries.push(line),
  };
}

async function runTask(task: ImplementedTask, quiet = false): Promise<BenchContext> {
  const ctx = benchContext(task.id, quiet);
  const started = Date.now();
  const result = await task.execute(ctx);
  const validation = await task.validate(ctx, result);
  const failed = validation.checks.filter((c) => !c.ok);
  log(
    `${task.id}: ${Date.now() - started} ms, validation ${validation.ok ? 'passed' : `FAILED: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`}`,
  );
  return ctx;
}

function sumFigures(ctx: BenchContext, suffix: string): { before: number; after: number } {
  let before = 0;
  let after = 0;
  for (const [name, f] of Object.entries(ctx.figures)) {
    if (!name.endsWith(suffix)) continue;
    before += f.before ?? 0;
    after += f.after ?? 0;
  }
  return { before, after };
}

function report(r: {
  baseline: LoadFigures;
  firstBaseline: LoadFigures;
  firstPass: LoadFigures;
  during: LoadFigures;
  vacuuming: LoadFigures;
  rebuilding: LoadFigures;
  passes: number;
  maintenanceMs: number;
  vacuumCtx: BenchContext;
  rebuildCtx: BenchContext;
  indexBytesBefore: number;
  indexBytesAfter: number;
  laterRebuilds: number;
  wallMs: number;
}): void {
  const row = (label: string, f: LoadFigures): string =>
    `${label.padEnd(40)} ${f.tps.toFixed(1).padStart(8)} ${f.p50Ms.toFixed(2).padStart(9)} ${f.p99Ms.toFixed(2).padStart(9)} ${String(f.transactions).padStart(8)} ${f.seconds.toFixed(1).padStart(7)}`;
  const ratios = (during: LoadFigures, base: LoadFigures) => ({
    tps: during.tps / base.tps,
    p99: during.p99Ms / base.p99Ms,
  });
  const all = ratios(r.during, r.baseline);
  const first = ratios(r.firstPass, r.firstBaseline);
  const verdict = (x: { tps: number; p99: number }) =>
    `TPS ${x.tps.toFixed(3)} (goal ≥ 0.9: ${x.tps >= 0.9 ? 'met' : 'NOT met'}), p99 ${x.p99.toFixed(3)} (goal ≤ 1.5: ${x.p99 <= 1.5 ? 'met' : 'NOT met'})`;
  const reindexed = sumFigures(r.rebuildCtx, '.index_bytes');
  const dead = sumFigures(r.vacuumCtx, '.dead_tuples');
  const out = [
    '',
    `application load: pgbench (separate process), ${CLIENTS} clients, fixed rate ${RATE} tps; latency from each transaction's scheduled start`,
    `${'window'.padEnd(40)} ${'TPS'.padStart(8)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'txns'.padStart(8)} ${'secs'.padStart(7)}`,
    row('before the first pass (bloated)', r.firstBaseline),
    row('first pass (reclaims the bloat)', r.firstPass),
    row('all windows without maintenance', r.baseline),
    row(`all windows with maintenance (${r.passes} passes)`, r.during),
    row('  of which database.vacuum running', r.vacuuming),
    row('  of which database.index_rebuild running', r.rebuilding),
    '',
    `ratios, first pass vs the window before it:   ${verdict(first)}`,
    `ratios, all maintenance vs all quiet windows: ${verdict(all)}`,
    `maintenance ran ${(r.maintenanceMs / 1000).toFixed(1)} s in all: vacuum of ${policy.database.vacuum.tables.join(', ')}; concurrent rebuild of ${[...policy.database.index_rebuild.tables.high_priority, ...policy.database.index_rebuild.tables.normal].join(', ')}`,
    `first pass, dead tuples on the vacuumed tables: ${dead.before} → ${dead.after}`,
    `first pass, index bloat reclaimed: ${formatBytes(reindexed.before)} → ${formatBytes(reindexed.after)} on the rebuilt tables (${formatBytes(reindexed.before - reindexed.after)}, ${((1 - reindexed.after / reindexed.before) * 100).toFixed(1)}%)`,
    `all demo indexes before/after the first pass: ${formatBytes(r.indexBytesBefore)} → ${formatBytes(r.indexBytesAfter)}`,
    `first pass, estimated bloat per index (rebuilt when ≥ ${policy.database.index_rebuild.min_bloat.text}): ${Object.entries(
      r.rebuildCtx.figures,
    )
      .filter(([name]) => name.endsWith('.bloat'))
      .map(([name, f]) => `${name.slice(0, -'.bloat'.length)} ${f.value}%`)
      .join(', ')}`,
    `later passes: ${r.laterRebuilds} index rebuild(s) in ${r.passes - 1} pass(es) (compact indexes are kept)`,
    `load average (1, 5, 15 min) at the end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`,
    ...[...r.vacuumCtx.failedSteps, ...r.rebuildCtx.failedSteps].map((s) => `failed step: ${s}`),
    `total wall time ${(r.wallMs / 1000).toFixed(0)} s`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

/** Indexes a pass actually rebuilt (the per-table summaries say "N of M index(es) rebuilt"). */
function countRebuilt(ctx: BenchContext): number {
  return ctx.summaries.reduce(
    (sum, line) => sum + Number(/: (\d+) of \d+ index\(es\) rebuilt/.exec(line)?.[1] ?? 0),
    0,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
