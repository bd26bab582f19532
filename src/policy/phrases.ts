// The spec's own phrases ("every 15 minutes", "> 90%", "02:00-06:00 UTC", ...) as typed values.
// Each parser returns a value or a human message saying what was expected; the zod schema turns
// those messages into path-addressed issues. Hand-written because the vocabulary is the spec's own.

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

/** "30 days", "5 seconds", "24 hours", "1 week", "100ms", "immediate" (0). Returns milliseconds. */
export function parseDuration(input: string): ParseResult<number> {
  const text = input.trim().toLowerCase();
  if (text === 'immediate' || text === 'immediately' || text === '0') return ok(0);
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(text);
  const unit = match ? UNIT_ALIASES[match[2]!] : undefined;
  if (!match || !unit) return fail('a duration like "30 days", "5 seconds" or "100ms"');
  return ok(Math.round(Number(match[1]) * UNIT_MS[unit]));
}

/** "80%" → 80. */
export function parsePercent(input: string): ParseResult<number> {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
  if (!match) return fail('a percentage like "80%"');
  const value = Number(match[1]);
  if (value > 100) return fail('a percentage between 0% and 100%');
  return ok(value);
}

/** "5 versions" → 5. */
export function parseCount(input: string | number, noun = 'versions'): ParseResult<number> {
  if (typeof input === 'number')
    return Number.isInteger(input) && input >= 0 ? ok(input) : fail(`a whole number like "5 ${noun}"`);
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(input);
  if (!match) return fail(`a count like "5 ${noun}"`);
  return ok(Number(match[1]));
}

export type Comparator = '>' | '>=' | '<' | '<=';
export type ThresholdUnit = 'percent' | 'ms' | 'count';
export interface Threshold {
  op: Comparator;
  value: number;
  unit: ThresholdUnit;
  /** The phrase as written, kept for messages ("memory > 90%"). */
  text: string;
}

/** "> 90%", "< 80%", "> 100ms", ">= 5". */
export function parseThreshold(input: string): ParseResult<Threshold> {
  const match = /^\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*(%|ms|s|)\s*$/.exec(input);
  if (!match) return fail('a threshold like "> 90%", "< 80%" or "> 100ms"');
  const raw = Number(match[2]);
  const suffix = match[3];
  const unit: ThresholdUnit = suffix === '%' ? 'percent' : suffix === 'ms' || suffix === 's' ? 'ms' : 'count';
  const value = suffix === 's' ? raw * 1000 : raw;
  return ok({ op: match[1] as Comparator, value, unit, text: input.trim() });
}

export function breaches(threshold: Threshold, observed: number): boolean {
  switch (threshold.op) {
    case '>':
      return observed > threshold.value;
    case '>=':
      return observed >= threshold.value;
    case '<':
      return observed < threshold.value;
    case '<=':
      return observed <= threshold.value;
  }
}

export interface TimeOfDay {
  hour: number;
  minute: number;
}

/** "03:00 UTC", "3:00", "01:30". Only UTC is accepted: Drydock plans in UTC. */
export function parseTimeOfDay(input: string): ParseResult<TimeOfDay> {
  const match = /^\s*(\d{1,2}):(\d{2})\s*(utc|z)?\s*$/i.exec(input);
  if (!match) return fail('a UTC time of day like "03:00 UTC"');
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (hour > 23 || minute > 59) return fail('a UTC time of day between 00:00 and 23:59');
  return ok({ hour, minute });
}

export interface TimeRange {
  start: TimeOfDay;
  /** Minutes from start to end; a range that crosses midnight ends the next day. */
  durationMinutes: number;
}

/** "02:00-06:00 UTC". */
export function parseTimeRange(input: string): ParseResult<TimeRange> {
  const match = /^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*(utc|z)?\s*$/i.exec(input);
  if (!match) return fail('a UTC time range like "02:00-06:00 UTC"');
  const start = parseTimeOfDay(match[1]!);
  const end = parseTimeOfDay(match[2]!);
  if (!start.ok || !end.ok) return fail('a UTC time range like "02:00-06:00 UTC" with valid times');
  const s = start.value.hour * 60 + start.value.minute;
  const e = end.value.hour * 60 + end.value.minute;
  if (s === e) return fail('a time range whose start and end differ');
  return ok({ start: start.value, durationMinutes: e > s ? e - s : e + 1440 - s });
}

export type Weekday = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';
export const WEEKDAYS: readonly Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

export function parseWeekday(input: string): ParseResult<number> {
  const text = input.trim().toLowerCase();
  const index = WEEKDAYS.findIndex((day) => day === text || day.slice(0, 3) === text);
  return index >= 0 ? ok(index) : fail('a day of the week like "Sunday"');
}

/** When a notice goes out: "immediate", "next business day", "weekly", or a delay like "1 hour". */
export type NoticeTiming =
  | { kind: 'immediate' }
  | { kind: 'next_business_day' }
  | { kind: 'digest'; every: 'daily' | 'weekly' }
  | { kind: 'delay'; ms: number };

export function parseNoticeTiming(input: string): ParseResult<NoticeTiming> {
  const text = input.trim().toLowerCase();
  if (text === 'immediate' || text === 'immediately') return ok({ kind: 'immediate' });
  if (text === 'next business day') return ok({ kind: 'next_business_day' });
  if (text === 'weekly' || text === 'daily') return ok({ kind: 'digest', every: text });
  const duration = parseDuration(text);
  if (duration.ok) return ok({ kind: 'delay', ms: duration.value });
  return fail('"immediate", "next business day", "daily", "weekly" or a delay like "1 hour"');
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
