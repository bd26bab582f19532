import type { Command } from 'commander';
import { DrydockError } from '../../errors.js';
import type { RunRecord } from '../../store/types.js';
import { DRY_RUN_VARIANTS, IMPLEMENTED, createRegistry } from '../../tasks/registry.js';
import { describeRun, iso, runDuration, table } from '../format.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { durationValue, integerBetween } from '../options.js';
import { runExitCode, runInForeground } from '../run-task.js';

const FAILED = new Set(['failed', 'validation_failed', 'interrupted']);

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('run one task now, through the full lifecycle (notify → execute → validate → record)')
    .argument('<task>', 'task id, e.g. database.vacuum')
    .option('--json', 'print the run record as JSON')
    .option('--force', 'run even inside a blackout or outside a maintenance window (recorded in the activity log)')
    .option(
      '--dry-run',
      `show what would be done without doing it (supported by: ${Object.keys(DRY_RUN_VARIANTS).join(', ')})`,
    )
    .action(async (taskId: string, options: { json?: boolean; force?: boolean; dryRun?: boolean }) => {
      const variant = options.dryRun ? DRY_RUN_VARIANTS[taskId] : undefined;
      // An unknown id is a usage error (exit 2) naming the closest ids, before anything is opened.
      createRegistry().require(taskId);
      if (options.dryRun && !variant)
        throw new DrydockError(
          'USAGE',
          `--dry-run is supported by ${Object.keys(DRY_RUN_VARIANTS).join(', ')}, not by ${taskId}`,
        );
      const tasks = variant ? IMPLEMENTED.map((t) => (t.id === taskId ? variant() : t)) : undefined;
      await withApp(
        program.opts<GlobalOptions>(),
        async (app) => {
          const run = await runInForeground(app, taskId, { force: options.force ?? false });
          const steps = await app.store.listSteps(run.id);
          if (options.json) printJson({ ...run, steps });
          else print(describeRun(run, steps));
          if (variant) print('(dry run: nothing was changed)');
          process.exitCode = runExitCode(run);
        },
        tasks ? { tasks } : {},
      );
    });

  program
    .command('history')
    .description('past runs, newest first')
    .option('--task <id>', 'only this task')
    .option('--limit <n>', 'how many (1-10000)', integerBetween(1, 10_000), 20)
    .option('--json', 'print JSON (with steps)')
    .action(async (options: { task?: string; limit: number; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        if (options.task) app.registry.require(options.task);
        const runs = await app.store.listRuns({
          ...(options.task ? { taskId: options.task } : {}),
          limit: options.limit,
        });
        if (options.json) {
          printJson(await Promise.all(runs.map(async (r) => ({ ...r, steps: await app.store.listSteps(r.id) }))));
          return;
        }
        if (runs.length === 0) return print('no runs recorded yet');
        print(table(['RUN', 'TASK', 'STATUS', 'STARTED (UTC)', 'TOOK', 'DETAIL'], runs.map(historyRow)));
      });
    });

  program
    .command('show')
    .description('one run with its steps, output, figures and validation')
    .argument('<run>', 'run id', integerBetween(1, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print JSON')
    .action(async (id: number, options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const run = await app.store.getRun(id);
        if (!run) throw new DrydockError('USAGE', `no run #${id}: see \`drydock history\``);
        const steps = await app.store.listSteps(run.id);
        if (options.json) printJson({ ...run, steps });
        else print(describeRun(run, steps));
      });
    });

  program
    .command('status')
    .description('the last run of every implemented task, what is running now, and the daemons')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const tasks = app.registry.implemented();
        const last = await Promise.all(
          tasks.map(async (t) => ({
            task: t.id,
            run: (await app.store.listRuns({ taskId: t.id, limit: 1 }))[0] ?? null,
          })),
        );
        const running = await app.store.openRuns();
        const instances = await app.store.listInstances();
        if (options.json) return printJson({ tasks: last, running, instances });
        print(
          `state: ${app.store.kind} ${app.loaded.policy.state.path}; policy: ${app.loaded.file ?? 'built-in defaults'}`,
        );
        print(
          `instances: ${instances.length ? instances.map((i) => `${i.id} (${i.kind}, pid ${i.pid}, heartbeat ${iso(i.heartbeatAt)})`).join(', ') : 'none running'}`,
        );
        print(`running now: ${running.length ? running.map((r) => `#${r.id} ${r.taskId}`).join(', ') : 'nothing'}`);
        print('');
        print(
          table(
            ['TASK', 'LAST RUN', 'STATUS', 'WHEN (UTC)', 'DETAIL'],
            last.map(({ task, run }) =>
              run
                ? [task, `#${run.id}`, run.status, iso(run.startedAt), detail(run)]
                : [task, '-', 'never run', '-', ''],
            ),
          ),
        );
        const failing = last.filter((l) => l.run && FAILED.has(l.run.status));
        if (failing.length > 0) process.exitCode = 1;
      });
    });

  program
    .command('activity')
    .description('the activity log: everything Drydock did, newest first')
    .option('--since <duration>', 'how far back, e.g. "24 hours"', durationValue, 7 * 86_400_000)
    .option('--task <id>', 'only this task')
    .option('--limit <n>', 'how many (1-10000)', integerBetween(1, 10_000), 50)
    .option('--json', 'print JSON')
    .action(async (options: { since: number; task?: string; limit: number; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const entries = await app.store.listActivity({
          since: new Date(app.clock.now().getTime() - options.since),
          ...(options.task ? { taskId: options.task } : {}),
          limit: options.limit,
        });
        if (options.json) return printJson(entries);
        print(
          table(
            ['WHEN (UTC)', 'KIND', 'MESSAGE'],
            entries.map((e) => [iso(e.at), e.kind, e.message]),
          ),
        );
      });
    });
}

function detail(run: RunRecord): string {
  const text = run.reason ?? run.error ?? run.summary[0] ?? '';
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

function historyRow(run: RunRecord): string[] {
  return [`#${run.id}`, run.taskId, run.status, iso(run.startedAt), runDuration(run), detail(run)];
}
