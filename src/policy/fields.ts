// zod field types for the spec's phrases. Values stay strings in the parsed policy (so
// `config print --defaults` shows the spec's own words); `policy/resolve.ts` turns them into numbers.
import { z } from 'zod';
import {
  parseCount,
  parseDuration,
  parseNoticeTiming,
  parsePercent,
  parseThreshold,
  parseTimeOfDay,
  parseTimeRange,
  parseWeekday,
  type ParseResult,
} from './phrases.js';
import { parseFrequency } from '../schedule/frequency.js';

function phrase(parse: (input: string) => ParseResult<unknown>, description: string, example: string) {
  return z
    .string({ error: (issue) => `expected ${description} like "${example}", got ${describeValue(issue.input)}` })
    .superRefine((value, ctx) => {
      const result = parse(value);
      if (!result.ok)
        ctx.addIssue({ code: 'custom', message: `expected ${result.expected}, got ${JSON.stringify(value)}` });
    })
    .meta({ description: `${description}, e.g. "${example}"`, examples: [example] });
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

export const duration = () => phrase(parseDuration, 'a duration', '30 days');
export const percent = () => phrase(parsePercent, 'a percentage', '80%');
export const threshold = () => phrase(parseThreshold, 'a threshold', '> 90%');
export const timeOfDay = () => phrase(parseTimeOfDay, 'a UTC time of day', '03:00 UTC');
export const timeRange = () => phrase(parseTimeRange, 'a UTC time range', '02:00-06:00 UTC');
export const weekday = () => phrase(parseWeekday, 'a day of the week', 'Sunday');
export const noticeTiming = () => phrase(parseNoticeTiming, 'a notice timing', 'next business day');
export const frequency = () =>
  phrase(
    parseFrequency,
    'a frequency ("daily", "hourly", "weekly", "monthly", "every 15 minutes", "on change" or a cron expression)',
    'daily',
  );
export const versions = () =>
  z
    .union([z.number().int().nonnegative(), phrase((v) => parseCount(v), 'a count', '5 versions')])
    .meta({ description: 'a count, e.g. "5 versions"' });

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
