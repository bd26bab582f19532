// The spec's phrases once resolved. Each value keeps the words the policy used (`text`, which is also
// what JSON and `drydock config print` show) beside what the code needs: milliseconds, an operator and
// a number, a minute of the day. Values are made by the parsers in phrases.ts, at load; nothing after
// the policy boundary parses a phrase again.

abstract class PhraseValue {
  constructor(readonly text: string) {}

  /** JSON (and so `config print`) shows the phrase as written. */
  toJSON(): string | number {
    return this.text;
  }

  toString(): string {
    return this.text;
  }
}

/** "30 days", "5 seconds", "100ms", "immediate". */
export class Duration extends PhraseValue {
  constructor(
    text: string,
    readonly ms: number,
  ) {
    super(text);
  }
}

/** "80%": a number from 0 to 100. */
export class Percent extends PhraseValue {
  constructor(
    text: string,
    readonly percent: number,
  ) {
    super(text);
  }
}

/** "5 versions", or a bare number. */
export class Count extends PhraseValue {
  constructor(
    private readonly written: string | number,
    readonly count: number,
  ) {
    super(String(written));
  }

  override toJSON(): string | number {
    return this.written;
  }
}

/** "100MB", "1GiB", or a number of bytes. */
export class ByteSize extends PhraseValue {
  constructor(
    private readonly written: string | number,
    readonly bytes: number,
  ) {
    super(String(written));
  }

  override toJSON(): string | number {
    return this.written;
  }
}

export type Comparator = '>' | '>=' | '<' | '<=';
export type ThresholdUnit = 'percent' | 'ms' | 'count';

/** "> 90%", "< 80%", "> 100ms" (a value in seconds is stored in ms), ">= 5". */
export class Threshold extends PhraseValue {
  constructor(
    text: string,
    readonly op: Comparator,
    readonly value: number,
    readonly unit: ThresholdUnit,
  ) {
    super(text);
  }

  /** Whether an observed value is on the wrong side of the threshold. */
  breachedBy(observed: number): boolean {
    switch (this.op) {
      case '>':
        return observed > this.value;
      case '>=':
        return observed >= this.value;
      case '<':
        return observed < this.value;
      case '<=':
        return observed <= this.value;
    }
  }
}

/** "03:00 UTC". */
export class TimeOfDay extends PhraseValue {
  constructor(
    text: string,
    readonly hour: number,
    readonly minute: number,
  ) {
    super(text);
  }

  /** A fixed time of day in code (a schedule the policy does not make configurable). */
  static at(hour: number, minute: number): TimeOfDay {
    return new TimeOfDay(`${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} UTC`, hour, minute);
  }

  /** Minutes since midnight UTC. */
  get minuteOfDay(): number {
    return this.hour * 60 + this.minute;
  }
}

/** "02:00-06:00 UTC": a range that crosses midnight ends the next day. */
export class TimeRange extends PhraseValue {
  constructor(
    text: string,
    readonly start: TimeOfDay,
    readonly durationMinutes: number,
  ) {
    super(text);
  }
}

export type WeekdayName = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';
export const WEEKDAYS: readonly WeekdayName[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

/** "Sunday", "mon". */
export class Weekday extends PhraseValue {
  constructor(
    text: string,
    /** 0 = Sunday, as in Date.getUTCDay() and cron. */
    readonly index: number,
  ) {
    super(text);
  }
}

/** "12-15": a day of every year. */
export class MonthDay extends PhraseValue {
  constructor(
    text: string,
    /** 1-12. */
    readonly month: number,
    /** 1-31. */
    readonly day: number,
  ) {
    super(text);
  }
}

/** "2026-11-27" (a whole UTC day) or "2026-11-27T08:00Z" (an instant). */
export class CalendarDate extends PhraseValue {
  constructor(
    text: string,
    /** The instant, or the start of the day for a bare date. */
    readonly start: Date,
    /** The instant, or the end of the day (next midnight) for a bare date: a range "to" a bare date includes it. */
    readonly end: Date,
  ) {
    super(text);
  }
}

/** When a notice goes out. */
export type NoticeRule =
  | { kind: 'immediate' }
  | { kind: 'next_business_day' }
  | { kind: 'digest'; every: 'daily' | 'weekly' }
  | { kind: 'delay'; ms: number };

/** "immediate", "next business day", "weekly", or a delay like "1 hour". */
export class NoticeTiming extends PhraseValue {
  constructor(
    text: string,
    readonly rule: NoticeRule,
  ) {
    super(text);
  }
}

export type FrequencyRule =
  | { kind: 'named'; name: 'hourly' | 'daily' | 'weekly' | 'monthly' }
  | { kind: 'every'; ms: number }
  | { kind: 'cron'; expression: string }
  | { kind: 'on_change' }
  | { kind: 'manual' };

/** "daily", "every 15 minutes", "on change", "0 3 * * *". */
export class Frequency extends PhraseValue {
  constructor(
    text: string,
    readonly rule: FrequencyRule,
  ) {
    super(text);
  }

  /** A fixed frequency in code (a schedule the policy does not make configurable). */
  static named(name: 'hourly' | 'daily' | 'weekly' | 'monthly'): Frequency {
    return new Frequency(name, { kind: 'named', name });
  }

  static readonly onChange = new Frequency('on change', { kind: 'on_change' });
}

/** "every 1 minute": a frequency that is a fixed interval (metrics collection). */
export class Interval extends Frequency {
  constructor(
    text: string,
    readonly ms: number,
  ) {
    super(text, { kind: 'every', ms });
  }
}

/** The policy (or a part of it) as a policy file would say it: every resolved value back to its phrase. */
export function toPhrases<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
