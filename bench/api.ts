// npm run bench:api — the authenticated read API while the scheduler runs (issue 9):
//   1. throughput: requests/s and p50/p99 of mixed authenticated reads (runs, status, activity, tasks,
//      a 7-day plan page) from 16 concurrent clients for 10 s;
//   2. at a steady 200 requests/s for 20 s: p99, and the lateness of every slot that fell due (a
//      stand-in task every 2 s) and the longest gap between heartbeats. Goal: no slot late by 1 s.
// The clients run in another process (bench/api-load.ts) so they do not share the daemon's event loop.
// The state holds 2,000 runs and 5,000 activity entries first, so reads are not of an empty store.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { openApp } from '../src/app.js';
import { createApi } from '../src/api/server.js';
import type { ImplementedTask } from '../src/engine/types.js';
import { parsePolicy } from '../src/policy/load.js';
import type { Schedule } from '../src/schedule/frequency.js';
import { SqliteAccessStore } from '../src/access/token-store.js';
import { newToken } from '../src/access/tokens.js';

const SLOT_MS = 2_000;
const task: ImplementedTask = {
  id: 'database.vacuum',
  title: 'stand-in task every 2 s',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (): Schedule => ({ kind: 'interval', everyMs: SLOT_MS, text: 'every 2 seconds' }),
  resources: () => [],
  execute: async (ctx) => ctx.summary('ran'),
  validate: async () => ({ ok: true, checks: [] }),
};

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-api-'));
const app = await openApp({
  loaded: {
    policy: parsePolicy({
      state: { path: join(dir, 'state.sqlite') },
      stakeholders: [{ name: 'Vera', roles: ['Support'] }],
      maintenance_windows: { blackout: { periods: [] } },
    }),
    file: null,
    baseDir: dir,
  },
  logger: pino({ level: 'silent' }),
  tasks: [task],
  kind: 'daemon',
});
try {
  const t = newToken();
  await new SqliteAccessStore(app.store.db).insertToken({
    id: t.id,
    person: 'Vera',
    secretHash: t.secretHash,
    label: 'bench',
    createdAt: new Date(),
    createdBy: 'bench',
  });
  for (let i = 0; i < 2000; i++) {
    const run = await app.store.createRun({
      taskId: 'database.vacuum',
      trigger: 'manual',
      slotAt: null,
      attempt: 1,
      instanceId: 'bench',
      startedAt: new Date(Date.now() - (2000 - i) * 60_000),
    });
    await app.store.finishRun(run.id, { status: 'succeeded', endedAt: new Date(), summary: ['seeded'] });
  }
  for (let i = 0; i < 3000; i++)
    await app.store.logActivity({
      at: new Date(),
      kind: 'bench.seed',
      actor: 'bench',
      message: `entry ${i}`,
      data: {},
    });

  const server = serve({ fetch: createApi(app).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;

  const heartbeats: number[] = [];
  const heartbeat = app.store.heartbeat.bind(app.store);
  app.store.heartbeat = async (id, at) => {
    heartbeats.push(Date.now());
    return heartbeat(id, at);
  };
  const started = Date.now();
  await app.daemon.start(200);

  const generate = (mode: 'closed' | 'open', amount: number, seconds: number) =>
    new Promise<{
      requests: number;
      errors: number;
      kinds: Record<string, number>;
      rps: number;
      p50: number;
      p99: number;
    }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'api-load.ts'),
          base,
          t.token,
          mode,
          String(amount),
          String(seconds),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.on('close', (code) =>
        code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`load exited ${code}`)),
      );
    });

  console.log(`bench:api on ${base} (figures under shared load; load average before: ${load()})`);
  const closed = await generate('closed', 16, 10);
  console.log(
    `closed loop, 16 clients, 10 s: ${closed.requests} requests, ${closed.errors} errors ${JSON.stringify(closed.kinds)}, ${closed.rps.toFixed(0)} req/s, p50 ${closed.p50.toFixed(1)} ms, p99 ${closed.p99.toFixed(1)} ms (load average ${load()})`,
  );
  const openStart = Date.now();
  const open = await generate('open', 200, 20);
  const openEnd = Date.now();
  console.log(
    `open loop, 200 req/s, 20 s: ${open.requests} requests, ${open.errors} errors ${JSON.stringify(open.kinds)}, ${open.rps.toFixed(0)} req/s achieved, p50 ${open.p50.toFixed(1)} ms, p99 ${open.p99.toFixed(1)} ms (load average ${load()})`,
  );
  await app.daemon.stop('bench over', 5_000);
  server.close();

  const runs = (await app.store.listRuns({ taskId: 'database.vacuum', limit: 500 })).filter(
    (r) => r.slotAt && r.slotAt.getTime() > started,
  );
  const during = runs.filter((r) => r.slotAt!.getTime() >= openStart && r.slotAt!.getTime() <= openEnd);
  const lateness = during.map((r) => r.startedAt.getTime() - r.slotAt!.getTime()).sort((a, b) => a - b);
  const gaps = heartbeats.slice(1).map((h, i) => h - heartbeats[i]!);
  const worst = lateness.at(-1) ?? NaN;
  console.log(
    `slots due during the 200 req/s phase: ${during.length} (expected ~${Math.floor((openEnd - openStart) / SLOT_MS)}); lateness median ${lateness[Math.floor(lateness.length / 2)] ?? NaN} ms, worst ${worst} ms (goal < 1000 ms: ${worst < 1000 ? 'met' : 'MISSED'}); longest heartbeat gap ${Math.max(...gaps)} ms (one every 5 ticks of 200 ms = 1000 ms expected)`,
  );
  console.log(`load average after: ${load()}`);
} finally {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}
