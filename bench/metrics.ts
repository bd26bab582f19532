// npm run bench:metrics — what metrics cost Drydock:
//   1. collection cost per round (the spec collects every minute): CPU time and memory of this
//      process with 10 Redis and 10 PostgreSQL targets (real redis-servers, real databases);
//   2. the same scrape of the 10 Redis servers by prometheus-redis-exporter (Debian package), if installed;
//   3. reading 90 days of one series at full (raw, 1-minute) and downsampled (1-hour) resolution;
//   4. storage per series-day at each resolution and in the steady state (raw 2 d, 5 min 14 d, 1 h 90 d).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { connectRedis } from '../src/adapters/redis.js';
import { MetricsCollector } from '../src/metrics/collector.js';
import { policySchema } from '../src/policy/schema.js';
import { SqliteMetricsStore, type Sample } from '../src/store/sqlite/metrics.js';
import { openSqlite } from '../src/store/sqlite/open.js';

const run = promisify(execFile);
const TARGETS = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const MIN = 60_000;
const DAY = 86_400_000;
const PG = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out waiting for a server');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

function procStats(pid: number): { cpuMs: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: (ticks * 1000) / 100, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-metrics-'));
  const children: ChildProcess[] = [];
  const databases = Array.from({ length: TARGETS }, (_, i) => `drydock_bench_metrics_${i}`);
  const admin = new pg.Client({ ...PG, database: 'postgres' });
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  try {
    // --- targets ---
    const redisPorts: number[] = [];
    for (let i = 0; i < TARGETS; i += 1) {
      const port = await freePort();
      children.push(
        spawn(
          '/usr/bin/redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
          { stdio: 'ignore' },
        ),
      );
      redisPorts.push(port);
    }
    for (const port of redisPorts) {
      await waitFor(async () => {
        const c = await connectRedis({ host: '127.0.0.1', port }, { connectTimeoutMs: 1000 });
        const args = ['MSET'];
        for (let k = 0; k < 1000; k += 1) args.push(`cache:${k}`, 'v');
        await c.command(args);
        await c.close();
        return true;
      });
    }
    await admin.connect();
    for (const db of databases) {
      await admin.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin.query(`CREATE DATABASE ${db}`);
      const c = new pg.Client({ ...PG, database: db });
      await c.connect();
      await c.query(
        'CREATE TABLE listings (id int primary key, title text); INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 1000) g; DELETE FROM listings WHERE id % 3 = 0',
      );
      await c.end();
    }
    const policy = policySchema.parse({});
    const redisTargets = redisPorts.map((port) => ({ ...policy.targets.redis, port }));
    const pgTargets = databases.map((database) => ({ ...policy.targets.postgres, ...PG, database }));

    // --- 1. collection cost ---
    say(`## Collection cost (${TARGETS} Redis + ${TARGETS} PostgreSQL targets + host, ${ROUNDS} rounds)`);
    const stateFile = join(dir, 'state.sqlite');
    const db = openSqlite(stateFile);
    const store = new SqliteMetricsStore(db);
    const measure = async (
      label: string,
      targets: { host: boolean; redis: typeof redisTargets; postgres: typeof pgTargets },
    ) => {
      const collector = new MetricsCollector({ store, policy, targets });
      await collector.collectOnce(); // warm-up: module loading, first connections
      const cpu: number[] = [];
      const wall: number[] = [];
      let samples = 0;
      for (let r = 0; r < ROUNDS; r += 1) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const report = await collector.collectOnce();
        wall.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
        samples = report.samples.length;
        if (report.targets.some((t) => !t.up))
          throw new Error(`a target was down: ${JSON.stringify(report.targets.filter((t) => !t.up))}`);
      }
      const mem = process.memoryUsage();
      say(
        `- ${label}: ${samples} samples/round, CPU ${median(cpu).toFixed(1)} ms/round (median; ${(median(cpu) / 600).toFixed(3)}% of one core at one round a minute), wall ${median(wall).toFixed(0)} ms/round, RSS ${mib(mem.rss)}, heap ${mib(mem.heapUsed)}`,
      );
      return median(cpu);
    };
    await measure('all targets', { host: true, redis: redisTargets, postgres: pgTargets });
    const redisOnly = await measure('10 Redis only', { host: false, redis: redisTargets, postgres: [] });
    await measure('10 PostgreSQL only', { host: false, redis: [], postgres: pgTargets });
    db.close();

    // --- 2. prometheus-redis-exporter, same 10 Redis servers ---
    say('');
    say('## prometheus-redis-exporter, same 10 Redis servers');
    if (existsSync('/usr/bin/prometheus-redis-exporter')) {
      const port = await freePort();
      const exporter = spawn(
        '/usr/bin/prometheus-redis-exporter',
        ['--web.listen-address', `127.0.0.1:${port}`, '--redis.addr', ''],
        { stdio: 'ignore' },
      );
      children.push(exporter);
      const scrape = (p: number) =>
        fetch(`http://127.0.0.1:${port}/scrape?target=redis://127.0.0.1:${p}`).then((r) => r.text());
      await waitFor(async () => (await scrape(redisPorts[0]!)).includes('redis_up'));
      for (const p of redisPorts) await scrape(p); // warm-up
      const before = procStats(exporter.pid!);
      let series = 0;
      const t0 = performance.now();
      for (let r = 0; r < ROUNDS; r += 1) {
        for (const p of redisPorts)
          series = (await scrape(p)).split('\n').filter((l) => l && !l.startsWith('#')).length;
      }
      const wall = (performance.now() - t0) / ROUNDS;
      const after = procStats(exporter.pid!);
      say(
        `- exporter: ${series} series per Redis, CPU ${((after.cpuMs - before.cpuMs) / ROUNDS).toFixed(1)} ms per round of 10 scrapes (10 ms clock-tick resolution), wall ${wall.toFixed(0)} ms/round, RSS ${mib(after.rssBytes)}`,
      );
      say(`- Drydock, 10 Redis only: CPU ${redisOnly.toFixed(1)} ms/round (includes writing the points to SQLite)`);
      exporter.kill('SIGTERM');
    } else say('- not installed (apt-get install prometheus-redis-exporter)');

    // --- 3 & 4. reading 90 days, storage ---
    say('');
    say('## 90 days of one series');
    const file = join(dir, 'series.sqlite');
    const sdb = openSqlite(file);
    const sstore = new SqliteMetricsStore(sdb);
    const now = Date.UTC(2026, 10, 26, 0, 0, 0);
    const labels = { target: '127.0.0.1:6379' };
    const SERIES = 20;
    for (let day = 90; day > 0; day -= 1) {
      const batch: Sample[] = [];
      for (let at = now - day * DAY; at < now - (day - 1) * DAY; at += MIN) {
        for (let s = 0; s < SERIES; s += 1)
          batch.push({
            name: 'redis_memory_used_ratio',
            labels: { target: `10.0.0.${s}:6379` },
            value: 40 + Math.sin(at / 3.6e6) * 10 + s,
            at,
            retentionMs: 90 * DAY,
          });
        batch.push({
          name: 'redis_memory_used_ratio',
          labels,
          value: 50 + Math.sin(at / 3.6e6) * 20,
          at,
          retentionMs: 90 * DAY,
        });
      }
      sstore.write(batch);
    }
    const time = (fn: () => unknown, n = 20) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i += 1) {
        const t0 = performance.now();
        fn();
        xs.push(performance.now() - t0);
      }
      return median(xs);
    };
    const rawBytes = sstore.storageBytes();
    const full = sstore.read('redis_memory_used_ratio', labels, {
      since: now - 90 * DAY,
      until: now,
      resolution: 'raw',
    });
    const rawMs = time(
      () => sstore.read('redis_memory_used_ratio', labels, { since: now - 90 * DAY, until: now, resolution: 'raw' }),
      5,
    );
    say(
      `- full resolution (1-minute raw points, before downsampling): ${full.points.length} points in ${rawMs.toFixed(1)} ms (median of 5)`,
    );
    const t0 = performance.now();
    sstore.compact(now);
    const compactMs = performance.now() - t0;
    const auto = sstore.read('redis_memory_used_ratio', labels, { since: now - 90 * DAY, until: now });
    const autoMs = time(() => sstore.read('redis_memory_used_ratio', labels, { since: now - 90 * DAY, until: now }));
    say(
      `- downsampled (auto: ${auto.resolution} rollups, 5-minute and raw for the newest stretch): ${auto.points.length} points in ${autoMs.toFixed(2)} ms (median of 20)`,
    );
    const week = sstore.read('redis_memory_used_ratio', labels, { since: now - 7 * DAY, until: now });
    const weekMs = time(() => sstore.read('redis_memory_used_ratio', labels, { since: now - 7 * DAY, until: now }));
    say(`- 7 days (auto: ${week.resolution}): ${week.points.length} points in ${weekMs.toFixed(2)} ms`);
    say(`- first compaction of ${SERIES + 1} series x 90 days: ${compactMs.toFixed(0)} ms`);
    // Steady state: what the collector's compaction costs every 5 minutes.
    const cycles: number[] = [];
    for (let cycle = 1; cycle <= 12; cycle += 1) {
      const batch: Sample[] = [];
      for (let at = now + (cycle - 1) * 5 * MIN; at < now + cycle * 5 * MIN; at += MIN) {
        for (let s = 0; s < SERIES; s += 1)
          batch.push({
            name: 'redis_memory_used_ratio',
            labels: { target: `10.0.0.${s}:6379` },
            value: 40 + s,
            at,
            retentionMs: 90 * DAY,
          });
        batch.push({ name: 'redis_memory_used_ratio', labels, value: 50, at, retentionMs: 90 * DAY });
      }
      sstore.write(batch);
      const c0 = performance.now();
      sstore.compact(now + cycle * 5 * MIN);
      cycles.push(performance.now() - c0);
    }
    say(
      `- steady-state compaction every 5 minutes (${SERIES + 1} series): ${median(cycles).toFixed(1)} ms (median of 12 cycles)`,
    );
    const seriesDays = (SERIES + 1) * 90;
    const steady = sstore.storageBytes();
    say('');
    say('## Storage per series-day (SQLite pages of the metric tables)');
    if (rawBytes !== null && steady !== null) {
      say(`- raw 1-minute points only (1440/day): ${(rawBytes / seriesDays / 1024).toFixed(1)} KiB per series-day`);
      say(
        `- steady state (raw 2 d + 5-minute 14 d + 1-hour 90 d): ${(steady / seriesDays / 1024).toFixed(2)} KiB per series-day averaged over 90 days (${mib(steady)} for ${SERIES + 1} series)`,
      );
    } else say('- dbstat not available in this SQLite build');
    sdb.close();
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await admin.end().catch(() => undefined);
    const cleanup = new pg.Client({ ...PG, database: 'postgres' });
    await cleanup.connect().catch(() => undefined);
    for (const db of databases)
      await cleanup.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await cleanup.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    void run;
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
