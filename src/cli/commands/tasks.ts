import type { Command } from 'commander';
import { nextSlot } from '../../schedule/frequency.js';
import { planRuns, taskEnabled } from '../../schedule/planner.js';
import { calendarPlan, formatInterval } from '../../windows/calendar.js';
import { gatePlannedRuns } from '../../windows/gate.js';
import { isDisruptive, type GateDecision } from '../../engine/types.js';
import { iso, table } from '../format.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { integerBetween } from '../options.js';

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
            disruptive: isDisruptive(task, policy),
            class: task.class,
            plannedIn: task.implemented ? null : task.plannedIn,
            handledBy: task.implemented ? null : (task.handledBy ?? null),
          };
        });
        if (options.json) return printJson(rows);
        print(
          table(
            ['TASK', 'SCHEDULE (UTC)', 'NEXT RUN', 'STATE'],
            rows.map((r) => [
              r.id,
              r.schedule,
              r.implemented ? (r.enabled ? iso(r.next) : 'disabled') : r.handledBy ? 'continuous' : '-',
              r.implemented
                ? 'implemented'
                : r.handledBy
                  ? `implemented by ${r.handledBy}`
                  : `not implemented yet (${r.plannedIn})`,
            ]),
          ),
        );
      });
    });

  program
    .command('plan')
    .description('print the exact upcoming runs in UTC')
    .option('--days <n>', 'how many days ahead (1-400)', integerBetween(1, 400), 7)
    .option('--all', 'include procedures this version does not implement yet')
    .option('--task <id>', 'only this task')
    .option('--every', 'list each run of tasks that run hourly or more often (summarised by default)')
    .option('--json', 'print JSON')
    .action(async (options: { days: number; all?: boolean; task?: string; every?: boolean; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const days = options.days;
        const now = app.clock.now();
        const until = new Date(now.getTime() + days * 86_400_000);
        const tasks = options.task ? [app.registry.require(options.task)] : app.registry.all();
        const policy = app.loaded.policy;
        const planned = planRuns(tasks, policy, now, until, { includePlanned: options.all ?? false });
        const extra = app.windows.service.openIntervals(now);
        const runs = gatePlannedRuns(planned, app.registry.all(), policy, extra);
        const calendar = calendarPlan(policy, now, until);
        if (options.json)
          return printJson({ windows: [...calendar.windows, ...extra], blackouts: calendar.blackouts, runs });
        print(`Maintenance windows between ${iso(now)} and ${iso(until)} (UTC):`);
        for (const w of [...calendar.windows, ...extra]) print(`  ${formatInterval(w)}`);
        if (calendar.blackouts.length > 0) {
          print('Blackouts:');
          const shown = calendar.blackouts.slice(0, 20);
          for (const b of shown) print(`  ${b.period}: ${formatInterval(b)} (${b.detail})`);
          if (calendar.blackouts.length > shown.length)
            print(`  ... and ${calendar.blackouts.length - shown.length} more`);
        }
        const moved = runs.filter((r) => r.gate.decision !== 'run').length;
        print(`\n${runs.length} runs (${moved} moved or skipped by windows and blackouts):`);
        // Tasks that run hourly or more often would drown the list: one line each unless --every.
        const frequent = new Set<string>();
        if (!options.every && !options.task) {
          const perTask = new Map<string, number>();
          for (const r of runs) perTask.set(r.taskId, (perTask.get(r.taskId) ?? 0) + 1);
          for (const [id, n] of perTask) if (n > days * 2) frequent.add(id);
          for (const id of frequent) {
            const own = runs.filter((r) => r.taskId === id);
            const held = own.filter((r) => r.gate.decision !== 'run').length;
            print(
              `  ${id}: ${own[0]!.schedule}, ${own.length} runs, ${held} held back by blackouts/windows (--every lists them)`,
            );
          }
        }
        const listed = runs.filter((r) => !frequent.has(r.taskId));
        print(
          table(
            ['WHEN (UTC)', 'TASK', 'SCHEDULE', 'GATE'],
            listed.map((r) => [
              iso(r.at),
              r.implemented ? r.taskId : `${r.taskId} (not implemented)`,
              r.schedule,
              gateText(r.gate),
            ]),
          ),
        );
      });
    });
}

function gateText(gate: GateDecision): string {
  if (gate.decision === 'run') return 'runs';
  const text = gate.decision === 'delay' ? `delayed to ${iso(gate.until)}: ${gate.reason}` : `skipped: ${gate.reason}`;
  return text.length > 110 ? `${text.slice(0, 107)}...` : text;
}
