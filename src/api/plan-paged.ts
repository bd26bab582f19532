// /api/plan without starving the scheduler: the plan is computed a task-day at a time, yielding to
// the event loop whenever ~5 ms of work has been done (a day of the full catalogue costs ~20 ms of
// CPU here; 90 days ~2 s), and it stops at `limit` runs, returning where the next page starts.
import type { Policy } from '../policy/schema.js';
import { taskEnabled, type PlannedRun } from '../schedule/planner.js';
import { slotsBetween } from '../schedule/frequency.js';
import type { TaskDefinition } from '../engine/types.js';

export const PLAN_MAX_DAYS = 90;
export const PLAN_MAX_LIMIT = 1000;
const DAY = 86_400_000;
const SLICE_MS = 5;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function planPage(
  tasks: readonly TaskDefinition[],
  policy: Policy,
  from: Date,
  until: Date,
  limit: number,
): Promise<{ runs: PlannedRun[]; next: string | null }> {
  const runs: PlannedRun[] = [];
  const planned = tasks
    .filter((t) => t.implemented && taskEnabled(t, policy))
    .map((t) => ({ task: t, schedule: t.schedule(policy) }));
  let sliceStart = performance.now();
  for (let start = from.getTime(); start < until.getTime(); start += DAY) {
    const end = Math.min(start + DAY, until.getTime());
    // Each day covers (start, end], like planRuns; a page ends between two instants, never inside one.
    const day: PlannedRun[] = [];
    for (const { task, schedule } of planned) {
      for (const at of slotsBetween(schedule, new Date(start), new Date(end)))
        day.push({ taskId: task.id, at, schedule: schedule.text, implemented: true });
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
    day.sort((a, b) => a.at.getTime() - b.at.getTime() || a.taskId.localeCompare(b.taskId));
    for (const run of day) {
      if (runs.length >= limit && run.at.getTime() !== runs[runs.length - 1]!.at.getTime())
        return { runs, next: runs[runs.length - 1]!.at.toISOString() };
      runs.push(run);
    }
  }
  return { runs, next: null };
}
