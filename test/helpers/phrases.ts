// Resolved policy values for tests that build a piece of policy by hand (a channel config, a
// schedule): the same parsers the policy loader uses, throwing on a phrase that is not valid.
import {
  parseDuration,
  parseFrequency,
  parseTimeOfDay,
  parseWeekday,
  type ParseResult,
} from '../../src/policy/phrases.js';
import type { Duration, Frequency, TimeOfDay } from '../../src/policy/values.js';
import { toSchedule, type Schedule } from '../../src/schedule/frequency.js';

export function must<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`test phrase: expected ${result.expected}`);
  return result.value;
}

export const duration = (text: string): Duration => must(parseDuration(text));
export const frequency = (text: string): Frequency => must(parseFrequency(text));
export const timeOfDay = (text: string): TimeOfDay => must(parseTimeOfDay(text));

/** toSchedule from phrases: schedule('daily', '03:00 UTC'), schedule('weekly', '04:00 UTC', 'Sunday'). */
export function schedule(freq: string, time?: string, day?: string): Schedule {
  return toSchedule({
    frequency: frequency(freq),
    ...(time ? { time: timeOfDay(time) } : {}),
    ...(day ? { day: must(parseWeekday(day)) } : {}),
  });
}
