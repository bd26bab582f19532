// The engine's window/blackout gate (issue 5): disruptive tasks run only inside an open
// maintenance window; every task except security and critical-bug fixes waits out blackouts.
// A delay that would reach past the task's own next scheduled run becomes a skip, so an hourly
// task does not pile up nine delayed runs behind a business-hours blackout.
import { isDisruptive, type Gate, type GateDecision, type TaskDefinition } from '../engine/types.js';
import type { Policy } from '../policy/schema.js';
import { nextSlot } from '../schedule/frequency.js';
import type { PlannedRun } from '../schedule/planner.js';
import { calendarOf, decide, formatInterval, openWindowAt, type Calendar, type Interval } from './calendar.js';

export interface WindowGateOptions {
  /** Scheduled windows besides the regular one (e.g. approved emergency windows), open or upcoming at `at`. */
  extraWindows?: (at: Date) => Interval[] | Promise<Interval[]>;
}

/** The gate's decision for one task at one instant, pure. */
export function gateDecision(task: TaskDefinition, at: Date, policy: Policy, cal: Calendar): GateDecision {
  const result = decide({ id: task.id, class: task.class, disruptive: isDisruptive(task, policy) }, at, policy, cal);
  if (result.decision === 'run') return { decision: 'run' };
  if (result.decision === 'skip') return result;
  const next = nextSlot(task.schedule(policy), at);
  // A disruptive task (VACUUM FULL, a blocking REINDEX) runs once per table per window: when its own
  // next slot already runs inside the window this delay would land in, this run is skipped.
  const disruptive = isDisruptive(task, policy);
  const landing = disruptive ? openWindowAt(cal, result.until) : null;
  if (landing && next && next.getTime() > at.getTime()) {
    const then = decide({ id: task.id, class: task.class, disruptive }, next, policy, cal);
    const nextAt = then.decision === 'run' ? next : then.decision === 'delay' ? then.until : null;
    if (nextAt && nextAt >= landing.start && nextAt < landing.end)
      return {
        decision: 'skip',
        reason: `${result.reason}; skipped because its next scheduled run (${next.toISOString()}) runs in the same window (${formatInterval(landing)}), and a disruptive task runs once per table per window`,
      };
  }
  if (next && next.getTime() > at.getTime() && next.getTime() <= result.until.getTime()) {
    return {
      decision: 'skip',
      reason: `${result.reason}; skipped because its next scheduled run (${next.toISOString()}) comes first`,
    };
  }
  return result;
}

export function windowGate(options: WindowGateOptions = {}): Gate {
  return {
    name: 'maintenance-window',
    async check(task: TaskDefinition, at: Date, policy: Policy): Promise<GateDecision> {
      const extra = options.extraWindows ? await options.extraWindows(at) : [];
      return gateDecision(task, at, policy, calendarOf(policy, extra));
    },
  };
}

export type GatedRun = PlannedRun & { gate: GateDecision };

/** For `drydock plan`: what the windows and blackouts do to each planned run. */
export function gatePlannedRuns(
  runs: readonly PlannedRun[],
  tasks: readonly TaskDefinition[],
  policy: Policy,
  extra: Interval[] = [],
): GatedRun[] {
  const cal = calendarOf(policy, extra);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return runs.map((run) => {
    const task = byId.get(run.taskId);
    return { ...run, gate: task ? gateDecision(task, run.at, policy, cal) : { decision: 'run' } };
  });
}
