// The engine's window/blackout gate (issue 5): disruptive tasks run only inside an open
// maintenance window; every task except security and critical-bug fixes waits out blackouts.
import type { Gate, GateDecision, TaskDefinition } from '../engine/types.js';
import type { Policy } from '../policy/schema.js';
import { calendarOf, decide, type Interval } from './calendar.js';

export interface WindowGateOptions {
  /** Scheduled windows besides the regular one (e.g. approved emergency windows), open or upcoming at `at`. */
  extraWindows?: (at: Date) => Interval[] | Promise<Interval[]>;
}

export function windowGate(options: WindowGateOptions = {}): Gate {
  return {
    name: 'maintenance-window',
    async check(task: TaskDefinition, at: Date, policy: Policy): Promise<GateDecision> {
      const extra = options.extraWindows ? await options.extraWindows(at) : [];
      const result = decide(task, at, policy, calendarOf(policy, extra));
      if (result.decision === 'run') return { decision: 'run' };
      return result;
    },
  };
}
