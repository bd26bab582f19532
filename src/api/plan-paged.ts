// /api/plan without starving the scheduler: the plan is computed one day at a time, yielding to the
// event loop between days (a day of the full catalogue costs ~20 ms of CPU here; 90 days ~2 s), and
// it stops at `limit` runs, returning where the next page starts.
import type { Policy } from '../policy/schema.js';
import { planRuns, type PlannedRun } from '../schedule/planner.js';
import type { TaskDefinition } from '../engine/types.js';

export const PLAN_MAX_DAYS = 90;
export const PLAN_MAX_LIMIT = 1000;
const DAY = 86_400_000;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function planPage(
  tasks: readonly TaskDefinition[],
  policy: Policy,
  from: Date,
  until: Date,
  limit: number,
): Promise<{ runs: PlannedRun[]; next: string | null }> {
  const runs: PlannedRun[] = [];
  for (let start = from.getTime(); start < until.getTime(); start += DAY) {
    const end = Math.min(start + DAY, until.getTime());
    // Each day covers (start, end], like planRuns; a page ends between two instants, never inside one.
    for (const run of planRuns(tasks, policy, new Date(start), new Date(end))) {
      if (runs.length >= limit && run.at.getTime() !== runs[runs.length - 1]!.at.getTime()) {
        return { runs, next: new Date(runs[runs.length - 1]!.at.getTime()).toISOString() };
      }
      runs.push(run);
    }
    await yieldToLoop();
  }
  return { runs, next: null };
}
