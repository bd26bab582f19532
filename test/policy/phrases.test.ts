import { describe, expect, it } from 'vitest';
import {
  parseByteSize,
  parseCalendarDate,
  parseCount,
  parseDuration,
  parseFrequency,
  parseNoticeTiming,
  parsePercent,
  parseThreshold,
  parseTimeOfDay,
  parseTimeRange,
} from '../../src/policy/phrases.js';
import { Frequency, TimeOfDay } from '../../src/policy/values.js';
import { toSchedule } from '../../src/schedule/frequency.js';
import { must, schedule } from '../helpers/phrases.js';

describe("the spec's phrases", () => {
  it('reads durations into milliseconds, keeping the words', () => {
    expect(must(parseDuration('30 days')).ms).toBe(30 * 86_400_000);
    expect(must(parseDuration('5 seconds')).ms).toBe(5000);
    expect(must(parseDuration('24 hours')).ms).toBe(86_400_000);
    expect(must(parseDuration('1 week')).ms).toBe(7 * 86_400_000);
    expect(must(parseDuration('100ms')).ms).toBe(100);
    expect(must(parseDuration('immediate')).ms).toBe(0);
    expect(must(parseDuration(' 24 hours ')).text).toBe('24 hours');
    expect(JSON.stringify({ retention: must(parseDuration('24 hours')) })).toBe('{"retention":"24 hours"}');
    expect(parseDuration('soon').ok).toBe(false);
  });

  it('reads percentages, counts, sizes and thresholds', () => {
    expect(must(parsePercent('80%')).percent).toBe(80);
    expect(must(parsePercent('99.9%')).percent).toBe(99.9);
    expect(parsePercent('eighty').ok).toBe(false);
    expect(parsePercent('180%').ok).toBe(false);
    expect(must(parseCount('5 versions')).count).toBe(5);
    expect(JSON.stringify(must(parseCount(5)))).toBe('5');
    expect(must(parseByteSize('100MB')).bytes).toBe(100 * 1024 ** 2);
    expect(must(parseByteSize('64k')).bytes).toBe(65536);
    expect(must(parseByteSize(500)).bytes).toBe(500);
    expect(parseByteSize('lots').ok).toBe(false);
    expect(parseByteSize(0).ok).toBe(false);
    const high = must(parseThreshold('> 90%'));
    expect(high).toMatchObject({ op: '>', value: 90, unit: 'percent' });
    expect(high.breachedBy(91)).toBe(true);
    expect(high.breachedBy(90)).toBe(false);
    const low = must(parseThreshold('< 80%'));
    expect(low.breachedBy(79.9)).toBe(true);
    expect(low.breachedBy(80)).toBe(false);
    expect(must(parseThreshold('> 100ms'))).toMatchObject({ value: 100, unit: 'ms' });
    expect(must(parseThreshold('> 2s'))).toMatchObject({ value: 2000, unit: 'ms', text: '> 2s' });
    expect(parseThreshold('above 90').ok).toBe(false);
  });

  it('reads times, ranges, dates and notice timings in UTC', () => {
    expect(must(parseTimeOfDay('03:00 UTC'))).toMatchObject({ hour: 3, minute: 0, minuteOfDay: 180 });
    expect(parseTimeOfDay('25:00').ok).toBe(false);
    const range = must(parseTimeRange('02:00-06:00 UTC'));
    expect(range.start).toMatchObject({ hour: 2, minute: 0 });
    expect(range.durationMinutes).toBe(240);
    expect(must(parseTimeRange('22:00-02:00 UTC')).durationMinutes).toBe(240);
    const day = must(parseCalendarDate('2026-12-24'));
    expect([day.start.toISOString(), day.end.toISOString()]).toEqual([
      '2026-12-24T00:00:00.000Z',
      '2026-12-25T00:00:00.000Z',
    ]);
    expect(must(parseCalendarDate('2026-12-24T08:30')).start.toISOString()).toBe('2026-12-24T08:30:00.000Z');
    expect(parseCalendarDate('Christmas').ok).toBe(false);
    expect(must(parseNoticeTiming('next business day')).rule).toEqual({ kind: 'next_business_day' });
    expect(must(parseNoticeTiming('immediate')).rule).toEqual({ kind: 'immediate' });
    expect(must(parseNoticeTiming('weekly')).rule).toEqual({ kind: 'digest', every: 'weekly' });
    expect(must(parseNoticeTiming('1 hour')).rule).toEqual({ kind: 'delay', ms: 3_600_000 });
  });

  it('reads frequencies and cron expressions', () => {
    expect(must(parseFrequency('daily')).rule).toEqual({ kind: 'named', name: 'daily' });
    expect(must(parseFrequency('every 15 minutes')).rule).toEqual({ kind: 'every', ms: 900_000 });
    expect(must(parseFrequency('every minute')).rule).toEqual({ kind: 'every', ms: 60_000 });
    expect(must(parseFrequency('on change')).rule).toEqual({ kind: 'on_change' });
    expect(must(parseFrequency('0 3 * * *')).rule).toEqual({ kind: 'cron', expression: '0 3 * * *' });
    expect(parseFrequency('fortnightly').ok).toBe(false);
    expect(parseFrequency('0 99 * * *').ok).toBe(false);
  });

  it('turns frequency + time into schedules', () => {
    expect(schedule('daily', '03:00 UTC')).toMatchObject({ kind: 'cron', expression: '0 3 * * *' });
    expect(schedule('weekly', '04:00 UTC', 'Sunday')).toMatchObject({ expression: '0 4 * * 0' });
    expect(schedule('monthly', '05:30 UTC')).toMatchObject({ expression: '30 5 1 * *' });
    expect(schedule('hourly', '00:30 UTC')).toMatchObject({ expression: '30 * * * *' });
    expect(schedule('every 5 minutes')).toMatchObject({ kind: 'interval', everyMs: 300_000 });
    expect(schedule('on change')).toMatchObject({ kind: 'event' });
    expect(toSchedule({ frequency: Frequency.named('daily'), time: TimeOfDay.at(0, 15) })).toMatchObject({
      expression: '15 0 * * *',
      text: 'daily at 00:15 UTC',
    });
  });
});
