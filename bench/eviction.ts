// npm run bench:eviction
//
// cache.eviction on 1.1 million keys in its own redis-server (free port, temp dir): 500,000
// `cache:` keys written first, 500,000 `page:` keys written 2 s later, 100,000 `session:` keys that
// are not evictable. Goal: free 100,000 keys (key threshold 1,000,000) in under 5 s with no Redis
// command over 5 ms (LATENCY LATEST and SLOWLOG, thresholds set to 5 ms), least recently used first
// across namespaces (all 100,000 from `cache:`, none from `page:`), and a memory-triggered run that
// needs more than the first plan handled in one run. Prints figures; asserts nothing.
//
// Knobs: DRYDOCK_BENCH_REDIS (/usr/bin/redis-server), DRYDOCK_BENCH_BATCH (cache.eviction.batch_size, 200).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { exec } from '../src/adapters/exec.js';
import { freePort } from '../src/adapters/free-port.js';
import { connectRedis, type RedisConnection } from '../src/adapters/redis.js';
import { systemClock } from '../src/clock.js';
import type { Figure, StepHandle, StepOptions, TaskContext } from '../src/engine/types.js';
import { policySchema, type Policy } from '../src/policy/schema.js';
import { cacheEvictionTask } from '../src/tasks/cache/eviction.js';

const REDIS = process.env.DRYDOCK_BENCH_REDIS ?? '/usr/bin/redis-server';
const BATCH = Number(process.env.DRYDOCK_BENCH_BATCH ?? 200);

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');

function context(policy: Policy): TaskContext & { steps: string[]; summaries: string[] } {
  const steps: string[] = [];
  const summaries: string[] = [];
  const figures: Record<string, Figure> = {};
  return {
    runId: 0,
    taskId: cacheEvictionTask.id,
    policy,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    steps,
    summaries,
    async step<T>(name: string, fn: (step: StepHandle) => Promise<T>, options: StepOptions = {}) {
      const started = Date.now();
      try {
        return await fn({ output: () => undefined });
      } catch (error) {
        if (!options.continueOnError) throw error;
        return undefined;
      } finally {
        steps.push(`${name} (${Date.now() - started} ms)`);
      }
    },
    figure: (name, figure) => void (figures[name] = figure),
    summary: (line) => void summaries.push(line),
  };
}

async function count(conn: RedisConnection, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const reply = (await conn.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '10000'])) as [string, string[]];
    cursor = String(reply[0]);
    n += reply[1].length;
  } while (cursor !== '0');
  return n;
}

/** Commands Redis itself saw take over 5 ms since the last reset. */
async function slowCommands(conn: RedisConnection): Promise<string[]> {
  const latest = (await conn.command(['LATENCY', 'LATEST'])) as Array<[string, number, number, number]>;
  const slowlog = (await conn.command(['SLOWLOG', 'GET', '20'])) as Array<[number, number, number, string[]]>;
  return [
    ...latest.map(([event, , last, max]) => `LATENCY ${event}: last ${last} ms, max ${max} ms`),
    ...slowlog.map(
      ([, , micros, args]) =>
        `SLOWLOG ${args[0] === 'EVAL' ? `EVAL (${args[2]} keys)` : args.slice(0, 2).join(' ')}: ${(micros / 1000).toFixed(1)} ms`,
    ),
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-eviction-'));
  const port = await freePort();
  await exec(
    REDIS,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--daemonize',
      'yes',
      '--pidfile',
      join(dir, 'redis.pid'),
      '--save',
      '',
      '--appendonly',
      'no',
      '--enable-debug-command',
      'yes',
      '--latency-monitor-threshold',
      '5',
      '--slowlog-log-slower-than',
      '5000',
      '--maxmemory-policy',
      'noeviction',
    ],
    { timeoutMs: 30_000 },
  );
  const conn = await connectRedis({ host: '127.0.0.1', port });
  try {
    log(`redis-server on 127.0.0.1:${port}; load average ${load()}`);
    await conn.command(['DEBUG', 'POPULATE', '500000', 'cache', '64']);
    await new Promise((r) => setTimeout(r, 2100));
    await conn.command(['DEBUG', 'POPULATE', '500000', 'page', '64']);
    await conn.command(['DEBUG', 'POPULATE', '100000', 'session', '64']);
    await conn.command(['SLOWLOG', 'RESET']);
    await conn.command(['LATENCY', 'RESET']);
    log(`1,100,000 keys: 500,000 cache: (2 s older), 500,000 page:, 100,000 session: (not evictable)`);

    // 1. Key threshold: 100,000 keys over. `cache:` is scanned first, so without one instant for the
    //    idle times the `page:` keys, read seconds later, would look as stale.
    const byKeys = policySchema.parse({
      targets: { redis: { host: '127.0.0.1', port } },
      cache: {
        eviction: { evictable_namespaces: ['cache:', 'page:'], threshold: { keys: 1_000_000 }, batch_size: BATCH },
      },
    });
    const ctx = context(byKeys);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const result = await cacheEvictionTask.execute(ctx);
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const slow = await slowCommands(conn);
    const left = {
      cache: await count(conn, 'cache:*'),
      page: await count(conn, 'page:*'),
      session: await count(conn, 'session:*'),
    };
    log(`key threshold (load average ${load()}):`);
    log(
      `  freed ${result.keysFreed} keys in ${(wallMs / 1000).toFixed(2)} s (goal < 5 s), Drydock CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`,
    );
    log(
      `  from cache: ${500_000 - left.cache}, from page: ${500_000 - left.page} (goal: all from the older cache:), session: ${left.session} of 100,000 kept`,
    );
    log(
      `  Redis commands over 5 ms: ${slow.length === 0 ? 'none (LATENCY LATEST and SLOWLOG empty)' : slow.join('; ')}`,
    );
    log(`  steps: ${ctx.steps.join(', ')}`);

    // 2. Memory threshold, more than one batch of planning: maxmemory set so that ~12 % must go.
    await conn.command(['SLOWLOG', 'RESET']);
    await conn.command(['LATENCY', 'RESET']);
    const info = await conn.info('memory');
    const usedMemory = Number(info.used_memory);
    await conn.command(['CONFIG', 'SET', 'maxmemory', String(Math.floor(usedMemory / 0.92))]);
    const byMemory = policySchema.parse({
      targets: { redis: { host: '127.0.0.1', port } },
      cache: {
        eviction: {
          evictable_namespaces: ['cache:', 'page:'],
          threshold: { memory: '80%', keys: 10_000_000 },
          batch_size: BATCH,
        },
      },
    });
    const mctx = context(byMemory);
    const mStarted = performance.now();
    const mResult = await cacheEvictionTask.execute(mctx);
    const mWall = performance.now() - mStarted;
    const mSlow = await slowCommands(conn);
    const after = await conn.info('memory');
    log(`memory threshold 80% of maxmemory, starting at 92% (load average ${load()}):`);
    log(
      `  freed ${mResult.keysFreed} keys (${(mResult.bytesFreed / 1048576).toFixed(1)} MiB) in ${(mWall / 1000).toFixed(2)} s; now ${((Number(after.used_memory) / Number(after.maxmemory)) * 100).toFixed(1)}% of maxmemory`,
    );
    log(`  scans: ${mctx.steps.filter((s) => s.startsWith('scan')).length} (one run: ${mctx.steps.join(', ')})`);
    log(`  Redis commands over 5 ms: ${mSlow.length === 0 ? 'none' : mSlow.join('; ')}`);
    log(`  session: ${await count(conn, 'session:*')} of 100,000 kept`);
  } finally {
    await conn.command(['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
    await conn.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
