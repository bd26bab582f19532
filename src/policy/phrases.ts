// The spec's own phrases ("every 15 minutes", "> 90%", "02:00-06:00 UTC", ...) read into typed values
// (values.ts). Each parser returns a value or a human message saying what was expected; the zod
// fields (fields.ts) turn those messages into path-addressed issues at load, and the CLI uses the
// same parsers for its flags (`--since 24h`). Hand-written because the vocabulary is the spec's own.
import { Cron } from 'croner';
import {
  ByteSize,
  CalendarDate,
  Count,
  Duration,
  Frequency,
  Interval,
  MonthDay,
  NoticeTiming,
  Percent,
  Threshold,
  TimeOfDay,
  TimeRange,
  Weekday,
  WEEKDAYS,
  type Comparator,
  type FrequencyRule,
  type ThresholdUnit,
} from './values.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; expected: string };

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(expected: string): ParseResult<T> => ({ ok: false, expected });

const UNIT_MS = {
  millisecond: 1,
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
} as const;

type DurationUnit = keyof typeof UNIT_MS;

const UNIT_ALIASES: Record<string, DurationUnit> = {
  ms: 'millisecond',
  millisecond: 'millisecond',
  milliseconds: 'millisecond',
  s: 'second',
  sec: 'second',
  secs: 'second',
  second: 'second',
  seconds: 'second',
  m: 'minute',
  min: 'minute',
  mins: 'minute',
  minute: 'minute',
  minutes: 'minute',
  h: 'hour',
  hr: 'hour',
  hrs: 'hour',
  hour: 'hour',
  hours: 'hour',
  d: 'day',
  day: 'day',
  days: 'day',
  w: 'week',
  week: 'week',
  weeks: 'week',
};

/** "30 days", "5 seconds", "24 hours", "1 week", "100ms", "immediate" (0). */
export function parseDuration(input: string): ParseResult<Duration> {
  const text = input.trim().toLowerCase();
  if (text === 'immediate' || text === 'immediately' || text === '0') return ok(new Duration(input.trim(), 0));
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(text);
  const unit = match ? UNIT_ALIASES[match[2]!] : undefined;
  if (!match || !unit) return fail('a duration like "30 days", "5 seconds" or "100ms"');
  return ok(new Duration(input.trim(), Math.round(Number(match[1]) * UNIT_MS[unit])));
}

/** "80%" → 80. */
export function parsePercent(input: string): ParseResult<Percent> {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
  if (!match) return fail('a percentage like "80%"');
  const value = Number(match[1]);
  if (value > 100) return fail('a percentage between 0% and 100%');
  return ok(new Percent(input.trim(), value));
}

/** "5 versions" → 5; a whole number is accepted as it is. */
export function parseCount(input: string | number, noun = 'versions'): ParseResult<Count> {
  if (typeof input === 'number')
    return Number.isInteger(input) && input >= 0
      ? ok(new Count(input, input))
      : fail(`a whole number like "5 ${noun}"`);
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(input);
  if (!match) return fail(`a count like "5 ${noun}"`);
  return ok(new Count(input, Number(match[1])));
}

/** "100MB", "512k", "1GiB" (powers of 1024), or a number of bytes; more than zero. */
export function parseByteSize(input: string | number): ParseResult<ByteSize> {
  if (typeof input === 'number')
    return Number.isInteger(input) && input > 0 ? ok(new ByteSize(input, input)) : fail('a size of at least 1 byte');
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(input);
  if (!match) return fail('a size like "100MB" or a number of bytes');
  const power = ['', 'k', 'm', 'g', 't'].indexOf(match[2]!.toLowerCase());
  const bytes = Math.round(Number(match[1]) * 1024 ** power);
  return bytes > 0 ? ok(new ByteSize(input, bytes)) : fail('a size of at least 1 byte');
}

/** "> 90%", "< 80%", "> 100ms", ">= 5". */
export function parseThreshold(input: string): ParseResult<Threshold> {
  const match = /^\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*(%|ms|s|)\s*$/.exec(input);
  if (!match) return fail('a threshold like "> 90%", "< 80%" or "> 100ms"');
  const raw = Number(match[2]);
  const suffix = match[3];
  const unit: ThresholdUnit = suffix === '%' ? 'percent' : suffix === 'ms' || suffix === 's' ? 'ms' : 'count';
  const value = suffix === 's' ? raw * 1000 : raw;
  return ok(new Threshold(input.trim(), match[1] as Comparator, value, unit));
}

/** "03:00 UTC", "3:00", "01:30". Only UTC is accepted: Drydock plans in UTC. */
export function parseTimeOfDay(input: string): ParseResult<TimeOfDay> {
  const match = /^\s*(\d{1,2}):(\d{2})\s*(utc|z)?\s*$/i.exec(input);
  if (!match) return fail('a UTC time of day like "03:00 UTC"');
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (hour > 23 || minute > 59) return fail('a UTC time of day between 00:00 and 23:59');
  return ok(new TimeOfDay(input.trim(), hour, minute));
}

/** "02:00-06:00 UTC". */
export function parseTimeRange(input: string): ParseResult<TimeRange> {
  const match = /^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*(utc|z)?\s*$/i.exec(input);
  if (!match) return fail('a UTC time range like "02:00-06:00 UTC"');
  const start = parseTimeOfDay(match[1]!);
  const end = parseTimeOfDay(match[2]!);
  if (!start.ok || !end.ok) return fail('a UTC time range like "02:00-06:00 UTC" with valid times');
  const s = start.value.minuteOfDay;
  const e = end.value.minuteOfDay;
  if (s === e) return fail('a time range whose start and end differ');
  return ok(new TimeRange(input.trim(), start.value, e > s ? e - s : e + 1440 - s));
}

/** "Sunday", "sun". */
export function parseWeekday(input: string): ParseResult<Weekday> {
  const text = input.trim().toLowerCase();
  const index = WEEKDAYS.findIndex((day) => day === text || day.slice(0, 3) === text);
  return index >= 0 ? ok(new Weekday(input.trim(), index)) : fail('a day of the week like "Sunday"');
}

/** "12-15": month and day of every year. */
export function parseMonthDay(input: string): ParseResult<MonthDay> {
  const match = /^\s*(\d{2})-(\d{2})\s*$/.exec(input);
  const month = Number(match?.[1]);
  const day = Number(match?.[2]);
  if (!match || month < 1 || month > 12 || day < 1 || day > 31) return fail('a month-day like "12-15"');
  return ok(new MonthDay(input.trim(), month, day));
}

const DAY_MS = 86_400_000;

/** "2026-12-24" (that whole UTC day) or an ISO date-time ("2026-12-24T08:00Z"; no zone means UTC). */
export function parseCalendarDate(input: string): ParseResult<CalendarDate> {
  const text = input.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const day = Date.parse(`${text}T00:00:00Z`);
    if (Number.isNaN(day)) return fail('an ISO date like "2026-11-27"');
    return ok(new CalendarDate(text, new Date(day), new Date(day + DAY_MS)));
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]/.test(text)) return fail('an ISO date like "2026-11-27" or a date-time');
  const at = Date.parse(/[zZ]|[+-]\d{2}:\d{2}$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(at)) return fail('an ISO date like "2026-11-27" or a date-time');
  return ok(new CalendarDate(text, new Date(at), new Date(at)));
}

/** "immediate", "next business day", "daily", "weekly", or a delay like "1 hour". */
export function parseNoticeTiming(input: string): ParseResult<NoticeTiming> {
  const text = input.trim().toLowerCase();
  const value = (rule: NoticeTiming['rule']) => ok(new NoticeTiming(input.trim(), rule));
  if (text === 'immediate' || text === 'immediately') return value({ kind: 'immediate' });
  if (text === 'next business day') return value({ kind: 'next_business_day' });
  if (text === 'weekly' || text === 'daily') return value({ kind: 'digest', every: text });
  const duration = parseDuration(text);
  if (duration.ok) return value({ kind: 'delay', ms: duration.value.ms });
  return fail('"immediate", "next business day", "daily", "weekly" or a delay like "1 hour"');
}

const NAMED = ['hourly', 'daily', 'weekly', 'monthly'] as const;

function isCronExpression(text: string): boolean {
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

/** "daily", "every 15 minutes" (at least a second), "on change", "manual", or a cron expression (UTC). */
export function parseFrequency(input: string): ParseResult<Frequency> {
  const text = input.trim().toLowerCase();
  const value = (rule: FrequencyRule) => ok(new Frequency(input.trim(), rule));
  if ((NAMED as readonly string[]).includes(text))
    return value({ kind: 'named', name: text as (typeof NAMED)[number] });
  if (text === 'on change') return value({ kind: 'on_change' });
  if (text === 'manual' || text === 'on demand') return value({ kind: 'manual' });
  const every = /^every\s+(.+)$/.exec(text);
  if (every) {
    const body = /^\d/.test(every[1]!) ? every[1]! : `1 ${every[1]}`;
    const duration = parseDuration(body);
    if (duration.ok && duration.value.ms >= 1000) return value({ kind: 'every', ms: duration.value.ms });
    return fail('an interval like "every 15 minutes" (at least one second)');
  }
  if (isCronExpression(input)) return value({ kind: 'cron', expression: input.trim() });
  return fail(
    '"hourly", "daily", "weekly", "monthly", "every 15 minutes", "on change" or a cron expression like "0 3 * * *"',
  );
}

/** "every 1 minute", "every 30 seconds": an interval of at least a second. */
export function parseInterval(input: string): ParseResult<Interval> {
  const frequency = parseFrequency(input);
  if (frequency.ok && frequency.value.rule.kind === 'every')
    return ok(new Interval(frequency.value.text, frequency.value.rule.ms));
  return fail('an interval like "every 1 minute" (at least one second)');
}

/** Formats milliseconds back into the spec's vocabulary ("30 days", "5 seconds"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return 'immediate';
  const units: Array<[DurationUnit, string]> = [
    ['week', 'week'],
    ['day', 'day'],
    ['hour', 'hour'],
    ['minute', 'minute'],
    ['second', 'second'],
  ];
  for (const [unit, name] of units) {
    const size = UNIT_MS[unit];
    if (ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms}ms`;
}
