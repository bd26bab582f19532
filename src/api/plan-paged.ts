// /api/plan without starving the scheduler: the plan is computed one UTC day at a time, a task at
// a time, yielding to the event loop whenever ~5 ms of work has been done (a day of the full
// catalogue costs ~20 ms of CPU here; 90 days ~2 s). A computed day is kept (per policy and task
// list, up to 120 days), so repeated reads cost almost nothing. A page stops at `limit` runs and says
// where the next one starts.
import type { Policy } from '../policy/schema.js';
import { taskEnabled, type PlannedRun } from '../schedule/planner.js';
import { slotsBetween } from '../schedule/frequency.js';
import type { TaskDefinition } from '../engine/types.js';

export const PLAN_MAX_DAYS = 90;
export const PLAN_MAX_LIMIT = 1000;
const DAY = 86_400_000;
const SLICE_MS = 5;
const KEPT_DAYS = 120;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const cache = new WeakMap<Policy, WeakMap<readonly TaskDefinition[], Map<number, PlannedRun[]>>>();

let sliceStart = performance.now();
async function maybeYield(): Promise<void> {
  if (performance.now() - sliceStart > SLICE_MS) {
    await yieldToLoop();
    sliceStart = performance.now();
  }
}

/** The runs in (dayStart, dayStart + 1 day], sorted; computed once per policy and task list. */
async function planDay(tasks: readonly TaskDefinition[], policy: Policy, dayStart: number): Promise<PlannedRun[]> {
  let byTasks = cache.get(policy);
  if (!byTasks) cache.set(policy, (byTasks = new WeakMap()));
  let days = byTasks.get(tasks);
  if (!days) byTasks.set(tasks, (days = new Map<number, PlannedRun[]>()));
  const kept = days.get(dayStart);
  if (kept) return kept;
  const day: PlannedRun[] = [];
  for (const task of tasks) {
    if (!task.implemented || !taskEnabled(task, policy)) continue;
    const schedule = task.schedule(policy);
    for (const at of slotsBetween(schedule, new Date(dayStart), new Date(dayStart + DAY)))
      day.push({ taskId: task.id, at, schedule: schedule.text, implemented: true });
    await maybeYield();
  }
  day.sort((a, b) => a.at.getTime() - b.at.getTime() || a.taskId.localeCompare(b.taskId));
  if (days.size >= KEPT_DAYS) days.delete(days.keys().next().value!);
  days.set(dayStart, day);
  return day;
}

/** Runs in (from, until], at most `limit` (never splitting one instant), and where the next page starts. */
export async function planPage(
  tasks: readonly TaskDefinition[],
  policy: Policy,
  from: Date,
  until: Date,
  limit: number,
): Promise<{ runs: PlannedRun[]; next: string | null }> {
  const runs: PlannedRun[] = [];
  sliceStart = performance.now();
  const first = Math.floor(from.getTime() / DAY) * DAY;
  for (let dayStart = first; dayStart < until.getTime(); dayStart += DAY) {
    for (const run of await planDay(tasks, policy, dayStart)) {
      const at = run.at.getTime();
      if (at <= from.getTime()) continue;
      if (at > until.getTime()) break;
      if (runs.length >= limit && at !== runs[runs.length - 1]!.at.getTime())
        return { runs, next: runs[runs.length - 1]!.at.toISOString() };
      runs.push(run);
    }
  }
  return { runs, next: null };
}
