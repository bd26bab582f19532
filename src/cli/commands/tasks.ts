import type { Command } from 'commander';
import { nextSlot } from '../../schedule/frequency.js';
import { planRuns, taskEnabled } from '../../schedule/planner.js';
import { iso, table } from '../format.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';

export function registerTaskCommands(program: Command): void {
  program
    .command('tasks')
    .description('list every procedure of the spec with its schedule, next run and whether this version implements it')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const now = app.clock.now();
        const policy = app.loaded.policy;
        const rows = app.registry.all().map((task) => {
          const schedule = task.schedule(policy);
          const enabled = taskEnabled(task, policy);
          return {
            id: task.id,
            title: task.title,
            schedule: schedule.text,
            next: task.implemented && enabled ? nextSlot(schedule, now) : null,
            implemented: task.implemented,
            enabled,
            disruptive: task.disruptive,
            class: task.class,
            plannedIn: task.implemented ? null : task.plannedIn,
          };
        });
        if (options.json) return printJson(rows);
        print(
          table(
            ['TASK', 'SCHEDULE (UTC)', 'NEXT RUN', 'STATE'],
            rows.map((r) => [
              r.id,
              r.schedule,
              r.implemented ? (r.enabled ? iso(r.next) : 'disabled') : '-',
              r.implemented ? 'implemented' : `not implemented yet (${r.plannedIn})`,
            ]),
          ),
        );
      });
    });

  program
    .command('plan')
    .description('print the exact upcoming runs in UTC')
    .option('--days <n>', 'how many days ahead', '7')
    .option('--all', 'include procedures this version does not implement yet')
    .option('--task <id>', 'only this task')
    .option('--json', 'print JSON')
    .action(async (options: { days: string; all?: boolean; task?: string; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const days = Number(options.days);
        if (!Number.isFinite(days) || days <= 0 || days > 400) throw new Error(`--days: expected a number of days between 1 and 400, got "${options.days}"`);
        const now = app.clock.now();
        const until = new Date(now.getTime() + days * 86_400_000);
        const tasks = options.task ? [app.registry.require(options.task)] : app.registry.all();
        const runs = planRuns(tasks, app.loaded.policy, now, until, { includePlanned: options.all ?? false });
        if (options.json) return printJson(runs);
        print(`${runs.length} runs between ${iso(now)} and ${iso(until)} (UTC)`);
        print(table(['WHEN (UTC)', 'TASK', 'SCHEDULE'], runs.map((r) => [iso(r.at), r.implemented ? r.taskId : `${r.taskId} (not implemented)`, r.schedule])));
      });
    });
}
