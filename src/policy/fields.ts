// zod field types for the spec's phrases. Each one validates the phrase and resolves it, at load, into
// its typed value (values.ts): the parsed policy holds milliseconds, thresholds and time ranges, while
// the JSON Schema (`io: 'input'`), `config print` (the values' toJSON) and the error messages keep the
// words users write. Phrase defaults are given with `.prefault("30 days")`, so they are parsed too.
import { z } from 'zod';
import {
  parseByteSize,
  parseCalendarDate,
  parseCount,
  parseDuration,
  parseFrequency,
  parseInterval,
  parseMonthDay,
  parseNoticeTiming,
  parsePercent,
  parseThreshold,
  parseTimeOfDay,
  parseTimeRange,
  parseWeekday,
  type ParseResult,
} from './phrases.js';

function phrase<T>(parse: (input: string) => ParseResult<T>, description: string, example: string) {
  return z
    .string({ error: (issue) => `expected ${description} like "${example}", got ${describeValue(issue.input)}` })
    .meta({ description: `${description}, e.g. "${example}"`, examples: [example] })
    .transform((value, ctx) => {
      const result = parse(value);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: `expected ${result.expected}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    });
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

export const duration = () => phrase(parseDuration, 'a duration', '30 days');
/** A duration that must be longer than zero (a retention of "0 days" would delete everything). */
export const positiveDuration = () =>
  duration().refine((d) => d.ms > 0, { message: 'expected a duration longer than zero, like "30 days"' });
export const percent = () => phrase(parsePercent, 'a percentage', '80%');
export const threshold = () => phrase(parseThreshold, 'a threshold', '> 90%');
export const timeOfDay = () => phrase(parseTimeOfDay, 'a UTC time of day', '03:00 UTC');
export const timeRange = () => phrase(parseTimeRange, 'a UTC time range', '02:00-06:00 UTC');
export const weekday = () => phrase(parseWeekday, 'a day of the week', 'Sunday');
export const monthDay = (example = '12-15') => phrase(parseMonthDay, 'a month-day', example);
export const calendarDate = (example = '2026-11-27') => phrase(parseCalendarDate, 'an ISO date', example);
export const noticeTiming = () => phrase(parseNoticeTiming, 'a notice timing', 'next business day');
export const frequency = () =>
  phrase(
    parseFrequency,
    'a frequency ("daily", "hourly", "weekly", "monthly", "every 15 minutes", "on change" or a cron expression)',
    'daily',
  );

export const interval = () => phrase(parseInterval, 'an interval', 'every 1 minute');

/** "5 versions" or a whole number. */
export const versions = () =>
  z
    .union([z.number().int().min(0), z.string()], {
      error: (issue) => `expected a count like "5 versions", got ${describeValue(issue.input)}`,
    })
    .transform((value, ctx) => {
      const result = parseCount(value);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: `expected ${result.expected}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    })
    .meta({ description: 'a count, e.g. "5 versions"', examples: ['5 versions'] });

/** "100MB" or a number of bytes. */
export const byteSize = () =>
  z
    .union([z.number().int().min(1), z.string()], {
      error: (issue) => `expected a size like "100MB", got ${describeValue(issue.input)}`,
    })
    .transform((value, ctx) => {
      const result = parseByteSize(value);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: `expected ${result.expected}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    })
    .meta({ description: 'a size in bytes or like "100MB"', examples: ['100MB'] });

export const int = (min = 0) =>
  z
    .number({ error: (issue) => `expected a whole number, got ${describeValue(issue.input)}` })
    .int()
    .min(min);

export const bool = () => z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` });

export const str = (what = 'text') =>
  z.string({ error: (issue) => `expected ${what}, got ${describeValue(issue.input)}` });

export const identifier = (what: string) =>
  str(what).regex(/^[A-Za-z_][A-Za-z0-9_.$-]*$/, { message: `expected ${what} made of letters, digits and _ . $ -` });

export const list = <T extends z.ZodType>(item: T) =>
  z.array(item, { error: (issue) => `expected a list, got ${describeValue(issue.input)}` });

/**
 * A mapping of named entries whose built-in entries stay when the policy adds its own: an entry the
 * policy names replaces the built-in entry of that name whole, the other built-in entries remain.
 * (A plain `.default()` would drop every built-in entry as soon as the policy named one.)
 */
export function namedEntries<K extends z.ZodType<string>, V extends z.ZodType>(
  key: K,
  value: V,
  builtIn: Record<string, z.input<V>>,
) {
  const record = z.record(key, value);
  const resolvedBuiltIn = record.parse(builtIn) as Record<string, z.output<V>>;
  return record
    .prefault(builtIn as z.input<typeof record>)
    .transform((entries) => ({ ...resolvedBuiltIn, ...(entries as Record<string, z.output<V>>) }));
}
