// Moments with microseconds. PostgreSQL records commit times to the microsecond and
// recovery_target_time accepts them; a JavaScript Date keeps milliseconds only, so a target given
// as "…21.018115+00" would silently become "…21.018+00" (and could then stop before a commit that
// the user meant to keep). A moment is kept as microseconds since the epoch, as a bigint.
import { DrydockError } from '../errors.js';

export interface Moment {
  /** Microseconds since 1970-01-01 UTC. */
  micros: bigint;
}

/** The forms `restore --target-time` accepts, for usage errors. */
export const MOMENT_FORMS =
  '"2026-11-26 14:03:00+00", "2026-11-26T14:03:00.123456Z" or "2026-11-26 14:03:00 UTC" (a zone is required)';

const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)$/i;

/** Parses "2026-11-26 14:03:00.123456+00", ISO 8601 with a zone, or "… UTC"; undefined when it is none of these. */
export function parseMomentText(value: string): Moment | undefined {
  const m = PATTERN.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  // Date.UTC rolls "02-30" over into March; a date that does not exist is refused instead.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    return undefined;
  let offsetMinutes = 0;
  const z = zone!.toUpperCase();
  if (z !== 'Z' && z !== 'UTC') {
    const sign = z.startsWith('-') ? -1 : 1;
    const digits = z.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const micros = BigInt(ms - offsetMinutes * 60_000) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
  return { micros };
}

/** A moment from a Date, a string in one of MOMENT_FORMS, or microseconds. Throws a usage-style error otherwise. */
export function toMoment(value: Date | string | Moment): Moment {
  if (value instanceof Date) return { micros: BigInt(value.getTime()) * 1000n };
  if (typeof value === 'object') return value;
  const parsed = parseMomentText(value);
  if (!parsed)
    throw new DrydockError('CONFIG_INVALID', `not a date and time: ${JSON.stringify(value)}`, {
      hint: `expected ${MOMENT_FORMS}`,
    });
  return parsed;
}

/** "2026-11-26 23:12:21.018115+00": what recovery_target_time is given, microseconds kept. */
export function pgText(m: Moment): string {
  const seconds = m.micros / 1_000_000n; // moments after 1970 only: bigint division truncates
  const micro = m.micros % 1_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return `${base}.${micro.toString().padStart(6, '0')}+00`;
}

/** "2026-11-26T23:12:21.018115Z": ISO 8601 with microseconds, for JSON output. */
export function isoText(m: Moment): string {
  return pgText(m).replace(' ', 'T').replace('+00', 'Z');
}

export function momentNow(): Moment {
  return { micros: BigInt(Date.now()) * 1000n };
}
