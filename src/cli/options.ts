// Parsers for option values. Commander calls them while it reads the command line, so a bad value
// stops the command before it does anything, with "error: option '--days <n>' argument '0' is
// invalid. ..." and exit code 2 (main.ts maps every usage error to 2).
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../policy/phrases.js';
import { MOMENT_FORMS, parseMomentText } from '../backup/moment.js';

/** A whole number between min and max, e.g. `--days`, `--limit`, `--port`. */
export function integerBetween(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** A positive number, fractions allowed, up to max (e.g. `--scale 0.5`). */
export function numberUpTo(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max)
      throw new InvalidArgumentError(`expected a number above 0 and at most ${max}.`);
    return n;
  };
}

/** A duration phrase ("24 hours", "7d", "30 minutes"), as milliseconds. */
export function durationValue(value: string): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new InvalidArgumentError(`expected ${parsed.expected}.`);
  return parsed.value.ms;
}

/**
 * A moment: ISO 8601 ("2026-11-26T14:03:00Z"), or "2026-11-26 14:03:00+00", or "... UTC". A time
 * without a zone is refused rather than guessed.
 */
function instantValue(value: string): Date {
  const text = value.trim().replace(/\s*UTC$/i, 'Z');
  const iso = text.replace(/^(\d{4}-\d{2}-\d{2})[ T]/, '$1T').replace(/([+-]\d{2})$/, '$1:00');
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(iso);
  const at = new Date(iso);
  if (!zoned || Number.isNaN(at.getTime()))
    throw new InvalidArgumentError(
      'expected a date and time with its zone, e.g. "2026-11-26 14:03:00+00" or "2026-11-26T14:03:00Z".',
    );
  return at;
}

/** Checks a moment as instantValue does but keeps the text as written (for code that takes the text). */
export function instantText(value: string): string {
  instantValue(value);
  return value;
}

/** A moment kept to the microsecond (`restore --target-time`), in one of MOMENT_FORMS; returns the text. */
export function momentValue(value: string): string {
  if (!parseMomentText(value))
    throw new InvalidArgumentError(`expected a date and time with its zone: ${MOMENT_FORMS}.`);
  return value;
}
