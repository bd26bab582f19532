// Turns the spec's frequency words plus an optional time/day into a concrete schedule.
// Pure: no clock, no timers.
import { Cron } from 'croner';
import { parseDuration, parseTimeOfDay, parseWeekday, type ParseResult } from '../policy/phrases.js';

export type Schedule =
  | { kind: 'cron'; expression: string; text: string }
  | { kind: 'interval'; everyMs: number; text: string }
  /** Runs when something changes ("on change"); never from the clock. */
  | { kind: 'event'; text: string }
  /** Runs only when asked (drydock run), e.g. a procedure with no schedule in the spec. */
  | { kind: 'manual'; text: string };

export type Frequency =
  | { kind: 'named'; name: 'hourly' | 'daily' | 'weekly' | 'monthly' }
  | { kind: 'every'; ms: number }
  | { kind: 'cron'; expression: string }
  | { kind: 'on_change' }
  | { kind: 'manual' };

const NAMED = ['hourly', 'daily', 'weekly', 'monthly'] as const;

export function isCronExpression(text: string): boolean {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) return false;
  try {
    // Paused: parsing only, no timer is started.
    new Cron(text, { timezone: 'UTC', paused: true });
    return true;
  } catch {
    return false;
  }
}

export function parseFrequency(input: string): ParseResult<Frequency> {
  const text = input.trim().toLowerCase();
  if ((NAMED as readonly string[]).includes(text))
    return { ok: true, value: { kind: 'named', name: text as (typeof NAMED)[number] } };
  if (text === 'on change') return { ok: true, value: { kind: 'on_change' } };
  if (text === 'manual' || text === 'on demand') return { ok: true, value: { kind: 'manual' } };
  const every = /^every\s+(.+)$/.exec(text);
  if (every) {
    const body = /^\d/.test(every[1]!) ? every[1]! : `1 ${every[1]}`;
    const duration = parseDuration(body);
    if (duration.ok && duration.value >= 1000) return { ok: true, value: { kind: 'every', ms: duration.value } };
    return { ok: false, expected: 'an interval like "every 15 minutes" (at least one second)' };
  }
  if (isCronExpression(input)) return { ok: true, value: { kind: 'cron', expression: input.trim() } };
  return {
    ok: false,
    expected:
      '"hourly", "daily", "weekly", "monthly", "every 15 minutes", "on change" or a cron expression like "0 3 * * *"',
  };
}

export interface ScheduleInput {
  frequency: string;
  /** "03:00 UTC": the time of day for daily/weekly/monthly, the minute for hourly. */
  time?: string | undefined;
  /** Day of the week for weekly schedules ("Sunday"). */
  day?: string | undefined;
  /** Day of the month for monthly schedules (1-28, or "last"). */
  day_of_month?: number | 'last' | undefined;
}

/** Defaults where the spec names a frequency but no time: see README "Where the spec is silent". */
export const SCHEDULE_DEFAULTS = { time: '00:00 UTC', weekday: 'Sunday', dayOfMonth: 1 } as const;

export function toSchedule(input: ScheduleInput): Schedule {
  const frequency = parseFrequency(input.frequency);
  if (!frequency.ok)
    throw new Error(`invalid frequency ${JSON.stringify(input.frequency)}: expected ${frequency.expected}`);
  const f = frequency.value;
  const time = parseTimeOfDay(input.time ?? SCHEDULE_DEFAULTS.time);
  if (!time.ok) throw new Error(`invalid time ${JSON.stringify(input.time)}`);
  const { hour, minute } = time.value;
  const at = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} UTC`;
  switch (f.kind) {
    case 'on_change':
      return { kind: 'event', text: 'on change' };
    case 'manual':
      return { kind: 'manual', text: 'manual' };
    case 'cron':
      return { kind: 'cron', expression: f.expression, text: `cron ${f.expression} (UTC)` };
    case 'every':
      return { kind: 'interval', everyMs: f.ms, text: input.frequency.trim() };
    case 'named': {
      if (f.name === 'hourly') {
        return { kind: 'cron', expression: `${minute} * * * *`, text: `hourly at :${String(minute).padStart(2, '0')}` };
      }
      if (f.name === 'daily') return { kind: 'cron', expression: `${minute} ${hour} * * *`, text: `daily at ${at}` };
      if (f.name === 'weekly') {
        const day = parseWeekday(input.day ?? SCHEDULE_DEFAULTS.weekday);
        if (!day.ok) throw new Error(`invalid day ${JSON.stringify(input.day)}`);
        const dayName = (input.day ?? SCHEDULE_DEFAULTS.weekday).trim();
        return {
          kind: 'cron',
          expression: `${minute} ${hour} * * ${day.value}`,
          text: `weekly on ${dayName} at ${at}`,
        };
      }
      const dom = input.day_of_month ?? SCHEDULE_DEFAULTS.dayOfMonth;
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
