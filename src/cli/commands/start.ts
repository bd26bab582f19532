import type { Command } from 'commander';
import { serve } from '@hono/node-server';
import { createApi } from '../../api/server.js';
import { connectPostgres } from '../../adapters/postgres.js';
import { seedDemo } from '../../demo/seed.js';
import { createLogger } from '../../logger.js';
import { nextSlot } from '../../schedule/frequency.js';
import { openApp, type App } from '../../app.js';
import { describeRun, iso, table } from '../format.js';
import { print, type GlobalOptions } from '../context.js';
import { integerBetween } from '../options.js';

async function demoDatabaseExists(app: App): Promise<boolean> {
  const target = app.loaded.policy.targets.postgres;
  const client = await connectPostgres(target, { database: target.maintenance_database });
  try {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

/** The newcomer's tour: make sure the demo database exists, then run each implemented task once. */
async function runDemo(app: App): Promise<void> {
  const target = app.loaded.policy.targets.postgres;
  if (await demoDatabaseExists(app)) {
    print(`demo database "${target.database}" exists on ${target.host}:${target.port}`);
  } else {
    print(`creating the demo database "${target.database}" on ${target.host}:${target.port} ...`);
    await seedDemo({ target, scale: 1, log: (line) => print(`  ${line}`) });
  }
  const results: string[][] = [];
  for (const task of app.registry.implemented()) {
    if (task.schedule(app.loaded.policy).kind === 'event') {
      results.push([task.id, '-', 'runs when its files change, not on a clock: not part of the tour']);
      continue;
    }
    print(`\n=== ${task.id}: ${task.title}`);
    // The newcomer asked for this tour: it runs even inside a blackout, and the activity log says so.
    const run = await app.engine.run(task.id, { trigger: 'startup', force: true });
    print(describeRun(run, await app.store.listSteps(run.id)));
    const detail = run.error ?? run.reason ?? run.summary[0] ?? '';
    results.push([task.id, run.status, detail.length > 120 ? `${detail.slice(0, 117)}...` : detail]);
  }
  print('\n=== Summary of the tour');
  print(table(['TASK', 'OUTCOME', 'DETAIL'], results));
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the daemon: the schedule, the HTTP API, the dashboard and /metrics (SIGTERM stops it gracefully)')
    .option('--demo', "first create Dokkerr's demo database if missing and run each implemented task once")
    .option('--no-http', 'do not serve the HTTP API')
    .option('--port <port>', 'HTTP port (default: policy http.port)', integerBetween(1, 65_535))
    .action(async (options: { demo?: boolean; http: boolean; port?: number }) => {
      const global = program.opts<GlobalOptions>();
      const app = await openApp({
        ...(global.policy ? { policyPath: global.policy } : {}),
        kind: 'daemon',
        logger: createLogger(process.env.DRYDOCK_LOG_LEVEL ?? 'warn'),
      });
      print(
        `drydock: policy ${app.loaded.file ?? 'built-in defaults (Dokkerr spec)'}, state ${app.loaded.policy.state.path}, instance ${app.instanceId}`,
      );
      // Policy choices that are valid but probably not meant (no approver for a role, no rollback plan for regular windows, ...).
      for (const warning of [...app.windows.warnings, ...app.channelProblems]) print(`warning: ${warning}`);
      if (options.demo) await runDemo(app);

      let server: ReturnType<typeof serve> | null = null;
      if (options.http) {
        const port = options.port ?? app.loaded.policy.http.port;
        server = serve({ fetch: createApi(app).fetch, hostname: app.loaded.policy.http.host, port });
        print(`\nHTTP: dashboard http://${app.loaded.policy.http.host}:${port}/ · API /api/runs · Prometheus /metrics`);
      }

      const appDaemon = app.daemon;
      appDaemon.onRun((run) =>
        print(
          `${iso(app.clock.now())} run #${run.id} ${run.taskId}: ${run.status}${run.error ? ` — ${run.error}` : ''}`,
        ),
      );
      await appDaemon.start();
      const now = app.clock.now();
      print('\nscheduler running (UTC). Next runs:');
      for (const task of app.registry.implemented()) {
        print(
          `  ${task.id.padEnd(32)} ${iso(nextSlot(task.schedule(app.loaded.policy), now))}  (${task.schedule(app.loaded.policy).text})`,
        );
      }
      print('Ctrl-C or SIGTERM stops it; what is running is recorded.');

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          print(`\n${signal}: stopping; ${appDaemon.activeRuns} run(s) in progress will be recorded`);
          void appDaemon.stop(`daemon stopped by ${signal}`, app.loaded.policy.engine.shutdown_grace.ms).finally(() => {
            server?.close();
            void app.close().then(resolve);
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
