import { describe, expect, it } from 'vitest';
import {
  breaches,
  parseDuration,
  parseNoticeTiming,
  parsePercent,
  parseThreshold,
  parseTimeOfDay,
  parseTimeRange,
  parseCount,
} from '../../src/policy/phrases.js';
import { parseFrequency, toSchedule } from '../../src/schedule/frequency.js';

const value = <T>(r: { ok: true; value: T } | { ok: false; expected: string }): T => {
  if (!r.ok) throw new Error(r.expected);
  return r.value;
};

describe("the spec's phrases", () => {
  it('reads durations', () => {
    expect(value(parseDuration('30 days'))).toBe(30 * 86_400_000);
    expect(value(parseDuration('5 seconds'))).toBe(5000);
    expect(value(parseDuration('24 hours'))).toBe(86_400_000);
    expect(value(parseDuration('1 week'))).toBe(7 * 86_400_000);
    expect(value(parseDuration('100ms'))).toBe(100);
    expect(value(parseDuration('immediate'))).toBe(0);
    expect(parseDuration('soon').ok).toBe(false);
  });

  it('reads percentages, counts and thresholds', () => {
    expect(value(parsePercent('80%'))).toBe(80);
    expect(value(parsePercent('99.9%'))).toBe(99.9);
    expect(parsePercent('eighty').ok).toBe(false);
    expect(parsePercent('180%').ok).toBe(false);
    expect(value(parseCount('5 versions'))).toBe(5);
    const high = value(parseThreshold('> 90%'));
    expect(high).toMatchObject({ op: '>', value: 90, unit: 'percent' });
    expect(breaches(high, 91)).toBe(true);
    expect(breaches(high, 90)).toBe(false);
    const low = value(parseThreshold('< 80%'));
    expect(breaches(low, 79.9)).toBe(true);
    expect(breaches(low, 80)).toBe(false);
    expect(value(parseThreshold('> 100ms'))).toMatchObject({ value: 100, unit: 'ms' });
    expect(parseThreshold('above 90').ok).toBe(false);
  });

  it('reads times, ranges and notice timings in UTC', () => {
    expect(value(parseTimeOfDay('03:00 UTC'))).toEqual({ hour: 3, minute: 0 });
    expect(parseTimeOfDay('25:00').ok).toBe(false);
    expect(value(parseTimeRange('02:00-06:00 UTC'))).toEqual({ start: { hour: 2, minute: 0 }, durationMinutes: 240 });
    expect(value(parseTimeRange('22:00-02:00 UTC')).durationMinutes).toBe(240);
    expect(value(parseNoticeTiming('next business day'))).toEqual({ kind: 'next_business_day' });
    expect(value(parseNoticeTiming('immediate'))).toEqual({ kind: 'immediate' });
    expect(value(parseNoticeTiming('weekly'))).toEqual({ kind: 'digest', every: 'weekly' });
  });

  it('reads frequencies and cron expressions', () => {
    expect(value(parseFrequency('daily'))).toEqual({ kind: 'named', name: 'daily' });
    expect(value(parseFrequency('every 15 minutes'))).toEqual({ kind: 'every', ms: 900_000 });
    expect(value(parseFrequency('every minute'))).toEqual({ kind: 'every', ms: 60_000 });
    expect(value(parseFrequency('on change'))).toEqual({ kind: 'on_change' });
    expect(value(parseFrequency('0 3 * * *'))).toEqual({ kind: 'cron', expression: '0 3 * * *' });
    expect(parseFrequency('fortnightly').ok).toBe(false);
    expect(parseFrequency('0 99 * * *').ok).toBe(false);
  });

  it('turns frequency + time into schedules', () => {
    expect(toSchedule({ frequency: 'daily', time: '03:00 UTC' })).toMatchObject({
      kind: 'cron',
      expression: '0 3 * * *',
    });
    expect(toSchedule({ frequency: 'weekly', day: 'Sunday', time: '04:00 UTC' })).toMatchObject({
      expression: '0 4 * * 0',
    });
    expect(toSchedule({ frequency: 'monthly', time: '05:30 UTC' })).toMatchObject({ expression: '30 5 1 * *' });
    expect(toSchedule({ frequency: 'hourly', time: '00:30 UTC' })).toMatchObject({ expression: '30 * * * *' });
    expect(toSchedule({ frequency: 'every 5 minutes' })).toMatchObject({ kind: 'interval', everyMs: 300_000 });
    expect(toSchedule({ frequency: 'on change' })).toMatchObject({ kind: 'event' });
  });
});
