// Turns a resolved frequency plus an optional time/day into a concrete schedule. Pure: no clock, no
// timers, no parsing (the policy resolved the phrases at load).
import { Cron } from 'croner';
import type { Frequency, TimeOfDay, Weekday } from '../policy/values.js';

export type Schedule =
  | { kind: 'cron'; expression: string; text: string }
  | { kind: 'interval'; everyMs: number; text: string }
  /** Runs when something changes ("on change"); never from the clock. */
  | { kind: 'event'; text: string }
  /** Runs only when asked (drydock run), e.g. a procedure with no schedule in the spec. */
  | { kind: 'manual'; text: string };

export interface ScheduleInput {
  frequency: Frequency;
  /** The time of day for daily/weekly/monthly, the minute for hourly. */
  time?: TimeOfDay | undefined;
  /** Day of the week for weekly schedules. */
  day?: Weekday | undefined;
  /** Day of the month for monthly schedules (1-28, or "last"). */
  day_of_month?: number | 'last' | undefined;
}

/**
 * What a named frequency means where the policy gives no time or day (README "Where the spec is
 * silent"): midnight UTC (minute 0 for hourly), Sunday for weekly, the 1st for monthly. These are the
 * meaning of the words, like cron's, not defaults of any one policy key.
 */
const MIDNIGHT = { hour: 0, minute: 0 };
const SUNDAY = { index: 0, text: 'Sunday' };
const FIRST_OF_MONTH = 1;

export function toSchedule(input: ScheduleInput): Schedule {
  const rule = input.frequency.rule;
  const { hour, minute } = input.time ?? MIDNIGHT;
  const at = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} UTC`;
  switch (rule.kind) {
    case 'on_change':
      return { kind: 'event', text: 'on change' };
    case 'manual':
      return { kind: 'manual', text: 'manual' };
    case 'cron':
      return { kind: 'cron', expression: rule.expression, text: `cron ${rule.expression} (UTC)` };
    case 'every':
      return { kind: 'interval', everyMs: rule.ms, text: input.frequency.text };
    case 'named': {
      if (rule.name === 'hourly') {
        return { kind: 'cron', expression: `${minute} * * * *`, text: `hourly at :${String(minute).padStart(2, '0')}` };
      }
      if (rule.name === 'daily') return { kind: 'cron', expression: `${minute} ${hour} * * *`, text: `daily at ${at}` };
      if (rule.name === 'weekly') {
        const day = input.day ?? SUNDAY;
        return {
          kind: 'cron',
          expression: `${minute} ${hour} * * ${day.index}`,
          text: `weekly on ${day.text} at ${at}`,
        };
      }
      const dom = input.day_of_month ?? FIRST_OF_MONTH;
      const domField = dom === 'last' ? 'L' : String(dom);
      return { kind: 'cron', expression: `${minute} ${hour} ${domField} * *`, text: `monthly on day ${dom} at ${at}` };
    }
  }
}

/**
 * The slots of a schedule in (from, until], oldest first. Interval schedules are aligned to the
 * Unix epoch so every Drydock instance computes the same slots.
 */
export function slotsBetween(schedule: Schedule, from: Date, until: Date, limit = 10_000): Date[] {
  if (schedule.kind === 'event' || schedule.kind === 'manual') return [];
  const out: Date[] = [];
  if (schedule.kind === 'interval') {
    let t = Math.floor(from.getTime() / schedule.everyMs) * schedule.everyMs + schedule.everyMs;
    while (t <= until.getTime() && out.length < limit) {
      out.push(new Date(t));
      t += schedule.everyMs;
    }
    return out;
  }
  const cron = new Cron(schedule.expression, { timezone: 'UTC', paused: true });
  let cursor: Date | null = from;
  while (out.length < limit) {
    cursor = cron.nextRun(cursor);
    if (!cursor || cursor.getTime() > until.getTime()) break;
    out.push(cursor);
  }
  return out;
}

export function nextSlot(schedule: Schedule, after: Date): Date | null {
  const horizon = new Date(after.getTime() + 400 * 86_400_000);
  return slotsBetween(schedule, after, horizon, 1)[0] ?? null;
}

/** The most recent slot at or before `at`, if any within the last 400 days. */
export function previousSlot(schedule: Schedule, at: Date): Date | null {
  if (schedule.kind === 'interval') {
    return new Date(Math.floor(at.getTime() / schedule.everyMs) * schedule.everyMs);
  }
  if (schedule.kind !== 'cron') return null;
  const cron = new Cron(schedule.expression, { timezone: 'UTC', paused: true });
  const previous = cron.previousRuns(1, new Date(at.getTime() + 1))[0];
  return previous ?? null;
}
