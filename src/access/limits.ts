// Bounded input: strict numbers in queries, text fields with a length limit. Both throw an
// InputError, which the API turns into a 400 naming the field.
import type { Context } from 'hono';

export class InputError extends Error {
  readonly status = 400 as const;
}

/** Length limits of free text, in characters. */
export const TEXT_LIMITS = {
  title: 200,
  reason: 1_000,
  comment: 2_000,
  message: 4_000,
  description: 4_000,
  label: 100,
  name: 200,
} as const;

/** A whole number from the query string, within [min, max]; absent gives the fallback; anything else is a 400. */
export function queryInt(c: Context, name: string, range: { min: number; max: number; fallback: number }): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return range.fallback;
  if (!/^\d+$/.test(raw.trim()))
    throw new InputError(
      `${name}: expected a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  const value = Number(raw);
  if (value < range.min || value > range.max)
    throw new InputError(`${name}: expected a whole number from ${range.min} to ${range.max}, got ${value}`);
  return value;
}

/** A text field of a request body: a string of at most `max` characters (required unless optional). */
export function textField(body: Record<string, unknown>, name: string, max: number, optional?: false): string;
export function textField(body: Record<string, unknown>, name: string, max: number, optional: true): string | undefined;
export function textField(
  body: Record<string, unknown>,
  name: string,
  max: number,
  optional = false,
): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') {
    if (optional) return undefined;
    throw new InputError(`${name}: required (text of at most ${max} characters)`);
  }
  if (typeof value !== 'string') throw new InputError(`${name}: expected text, got ${typeof value}`);
  if (value.length > max) throw new InputError(`${name}: at most ${max} characters, got ${value.length}`);
  return value;
}
