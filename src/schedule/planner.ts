// Pure planning: given tasks, a policy and two instants, which runs fall between them.
// No clock is read here; the daemon and `drydock plan` pass one in, and tests walk simulated months.
import type { Policy } from '../policy/schema.js';
import { previousSlot, slotsBetween, type Schedule } from './frequency.js';

/** What planning needs of a task (the engine's task definitions satisfy it; schedule/ sits below engine/). */
export interface SchedulableTask {
  readonly id: string;
  readonly implemented: boolean;
  schedule(policy: Policy): Schedule;
}

export interface PlannedRun {
  taskId: string;
  at: Date;
  schedule: string;
  implemented: boolean;
}

function isTimeDriven(schedule: Schedule): boolean {
  return schedule.kind === 'cron' || schedule.kind === 'interval';
}

export function taskEnabled(task: Pick<SchedulableTask, 'id'>, policy: Policy): boolean {
  return policy.tasks[task.id]?.enabled ?? true;
}

/** Every run of the given tasks in (from, until], ordered by time then task id. */
export function planRuns(
  tasks: readonly SchedulableTask[],
  policy: Policy,
  from: Date,
  until: Date,
  options: { includePlanned?: boolean } = {},
): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const task of tasks) {
    if (!task.implemented && !options.includePlanned) continue;
    if (!taskEnabled(task, policy)) continue;
    const schedule = task.schedule(policy);
    for (const at of slotsBetween(schedule, from, until)) {
      runs.push({ taskId: task.id, at, schedule: schedule.text, implemented: task.implemented });
    }
  }
  return runs.sort((a, b) => a.at.getTime() - b.at.getTime() || a.taskId.localeCompare(b.taskId));
}

/**
 * The slots a daemon should claim now. Normally the slot in (lastTick, now]. After a restart
 * (lastTick null) only the newest slot missed within the grace period is caught up, and only if
 * no instance has claimed it already (the store decides that atomically).
 */
export function dueSlots(schedule: Schedule, lastTick: Date | null, now: Date, graceMs: number): Date[] {
  if (!isTimeDriven(schedule)) return [];
  if (lastTick) {
    // Normally one tick covers at most one slot. After a stall (a suspended host, a blocked event
    // loop) a backlog is not replayed: only the newest slot still inside the grace period runs.
    const fresh = slotsBetween(schedule, lastTick, now).filter((slot) => now.getTime() - slot.getTime() <= graceMs);
    return fresh.slice(-1);
  }
  const previous = previousSlot(schedule, now);
  if (previous && now.getTime() - previous.getTime() <= graceMs) return [previous];
  return [];
}

/** Exponential backoff for attempt n (n = the attempt that failed, from 1). */
export function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
