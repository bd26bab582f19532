import type { Command } from 'commander';
import { serve } from '@hono/node-server';
import { createApi } from '../../api/server.js';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { freePort } from '../../adapters/free-port.js';
import { connectRedis } from '../../adapters/redis.js';
import { DEMO_ADMIN, startDemoInfrastructure, type DemoInfrastructure } from '../../demo/infrastructure.js';
import { writeFileSync } from 'node:fs';
import { seedDemo } from '../../demo/seed.js';
import { runTour } from '../../demo/tour.js';
import { DrydockError } from '../../errors.js';
import { isDisruptive } from '../../engine/types.js';
import { taskEnabled } from '../../schedule/planner.js';
import { unannouncedWindowWarning } from '../../windows/regular-marks.js';
import { createLogger } from '../../logger.js';
import { nextSlot } from '../../schedule/frequency.js';
import { openApp, type App } from '../../app.js';
import { iso, table } from '../format.js';
import { print, type GlobalOptions } from '../context.js';
import { integerBetween } from '../options.js';

/** Whether something already listens on host:port (the demo then serves on another port and says so). */
function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, host, () => probe.close(() => resolve(false)));
  });
}

/** The demo's own servers and data, seeded; Redis gets cache and session keys. */
async function prepareDemo(root: string): Promise<DemoInfrastructure> {
  print(`demo: its own PostgreSQL cluster, redis-server and folders under ${resolve(root)}`);
  const demo = await startDemoInfrastructure({ root, log: (line) => print(`  ${line}`) });
  try {
    await seedDemo({ target: demo.postgres, scale: 1, log: (line) => print(`  ${line}`) });
    const redis = await connectRedis({ host: '127.0.0.1', port: demo.redisPort });
    try {
      for (const [prefix, count] of [
        ['cache:listing:', 3000],
        ['session:', 300],
      ] as const) {
        for (let i = 0; i < count; i += 500) {
          const args = ['MSET'];
          for (let j = i; j < Math.min(count, i + 500); j++)
            args.push(`${prefix}${j}`, JSON.stringify({ id: j, at: Date.now() }));
          await redis.command(args);
        }
      }
    } finally {
      await redis.close();
    }
  } catch (error) {
    await demo.stop();
    throw error;
  }
  return demo;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the daemon: the schedule, the HTTP API, the dashboard and /metrics (SIGTERM stops it gracefully)')
    .option(
      '--demo',
      "run the tour first: each procedure once on the demo's own PostgreSQL cluster, redis-server and folders, then keep running on them",
    )
    .option('--demo-dir <dir>', 'where the demo keeps its servers, data, backups and policy', '.drydock/demo')
    .option('--no-http', 'do not serve the HTTP API')
    .option('--port <port>', 'HTTP port (default: policy http.port)', integerBetween(1, 65_535))
    .action(async (options: { demo?: boolean; demoDir: string; http: boolean; port?: number }) => {
      const global = program.opts<GlobalOptions>();
      if (options.demo && global.policy)
        throw new DrydockError('USAGE', '--demo runs on its own servers with its own policy; it takes no --policy', {
          hint: 'leave out --policy (the demo writes its policy to --demo-dir), or leave out --demo',
        });
      const demo = options.demo ? await prepareDemo(options.demoDir) : null;
      const policyPath = demo?.paths.policy ?? global.policy;
      let app: App;
      try {
        app = await openApp({
          ...(policyPath ? { policyPath } : {}),
          kind: 'daemon',
          logger: createLogger(process.env.DRYDOCK_LOG_LEVEL ?? 'warn'),
        });
      } catch (error) {
        await demo?.stop();
        throw error;
      }
      print(
        `drydock: policy ${app.loaded.file ?? 'built-in defaults (Dokkerr spec)'}, state ${app.loaded.policy.state.path}, instance ${app.instanceId}`,
      );
      // Policy choices that are valid but probably not meant (no approver for a role, no rollback plan for regular windows, ...).
      for (const warning of [...app.windows.warnings, ...app.channelProblems]) print(`warning: ${warning}`);
      const policy = app.loaded.policy;
      const unannounced = unannouncedWindowWarning(
        policy,
        app.clock.now(),
        app.windows.service.listWindows({ from: new Date(app.clock.now().getTime() - 86_400_000) }),
        app.registry
          .implemented()
          .filter((t) => taskEnabled(t, policy) && isDisruptive(t, policy))
          .map((t) => t.id),
      );
      if (unannounced) print(`warning: ${unannounced}`);
      if (!demo && !(await app.access.setupDone()))
        print(
          'warning: no API token exists yet, so only /status, /healthz and /metrics answer; create the first admin token with `drydock tokens init <admin stakeholder>`',
        );
      if (demo) {
        // The API needs a token: the demo's admin gets one the first time, in a file only root reads.
        const tokenFile = resolve(options.demoDir, 'admin-token');
        try {
          const { token } = await app.access.init(DEMO_ADMIN, 'demo');
          writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
        } catch (error) {
          if (!(error instanceof DrydockError) || !/already done/.test(error.message)) throw error;
        }
        print(
          `the demo's admin token: ${tokenFile} (DRYDOCK_TOKEN_FILE=${tokenFile}; curl -H "Authorization: Bearer $(cat ${tokenFile})")`,
        );
      }
      if (demo) {
        const rows = await runTour(app, demo, print);
        print('\n=== Summary of the tour');
        print(
          table(
            ['TASK', 'OUTCOME', 'DETAIL'],
            rows.map((r) => [r.task, r.outcome, r.detail]),
          ),
        );
        print(
          `\nthe demo's policy: ${demo.paths.policy}; look around with drydock --policy ${demo.paths.policy} history`,
        );
      }

      let server: ReturnType<typeof serve> | null = null;
      if (options.http) {
        let port = options.port ?? app.loaded.policy.http.port;
        if (demo && options.port === undefined && (await portTaken(app.loaded.policy.http.host, port))) {
          const free = await freePort();
          print(`port ${port} is taken; the demo serves on ${free} instead`);
          port = free;
        }
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
            void app
              .close()
              .then(() => demo?.stop())
              .then(() => {
                if (demo)
                  print("the demo's PostgreSQL and redis-server are stopped; their data stays for the next --demo");
              })
              .then(resolve);
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
