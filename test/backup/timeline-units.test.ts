// Pure pieces of restore and timelines: moments with microseconds, timeline history files, which
// timeline a segment is read from, and which backup an incremental may build on.
import { describe, expect, it } from 'vitest';
import { chooseParent, offHistory } from '../../src/backup/chain.js';
import { isoText, parseMomentText, pgText, toMoment } from '../../src/backup/moment.js';
import { parseHistory, timelineOfSegment } from '../../src/backup/wal-range.js';
import type { HistoryEntry } from '../../src/backup/types.js';

describe('moments', () => {
  it('keeps microseconds and converts zones to UTC', () => {
    expect(pgText(parseMomentText('2026-11-26 23:12:21.018115+00')!)).toBe('2026-11-26 23:12:21.018115+00');
    expect(pgText(parseMomentText('2026-11-26T23:12:21.5Z')!)).toBe('2026-11-26 23:12:21.500000+00');
    expect(pgText(parseMomentText('2026-11-27 01:12:21.000001+02')!)).toBe('2026-11-26 23:12:21.000001+00');
    expect(pgText(parseMomentText('2026-11-26 18:12:21-05:00')!)).toBe('2026-11-26 23:12:21.000000+00');
    expect(pgText(parseMomentText('2026-11-26 23:12 UTC')!)).toBe('2026-11-26 23:12:00.000000+00');
    expect(isoText(toMoment(new Date('2026-11-26T23:12:21.018Z')))).toBe('2026-11-26T23:12:21.018000Z');
  });
  it('refuses a time without a zone, a date that does not exist, and words', () => {
    for (const bad of ['2026-11-26 23:12:21', '2026-02-30 10:00:00+00', 'yesterday', '2026-11-26 24:00:00Z'])
      expect(parseMomentText(bad), bad).toBeUndefined();
    expect(() => toMoment('yesterday')).toThrow(/not a date and time: "yesterday"/);
  });
});

describe('timeline histories', () => {
  const text = '1\t0/5000000\tno recovery target specified\n\n2\t0/90000A0\tbefore 2026-11-26 23:12:21+00\n';
  it('parses a history file and reads each segment from the newest timeline that had begun', () => {
    const h = parseHistory(text, 3);
    expect(h).toEqual([
      { tli: 1, begin: 0n, end: 0x5000000n },
      { tli: 2, begin: 0x5000000n, end: 0x90000a0n },
      { tli: 3, begin: 0x90000a0n, end: null },
    ]);
    const seg = 16 * 1024 * 1024;
    expect(timelineOfSegment(h, 4n, seg)).toBe(1);
    // The segment holding a switch point comes from the new timeline.
    expect(timelineOfSegment(h, 5n, seg)).toBe(2);
    expect(timelineOfSegment(h, 0n, seg)).toBe(1);
    expect(timelineOfSegment(h, 8n, seg)).toBe(2);
    expect(timelineOfSegment(h, 9n, seg)).toBe(3);
  });
});

describe('parents across timelines', () => {
  const history: HistoryEntry[] = [
    { tli: 1, begin: '0/0', end: '0/7000000' },
    { tli: 2, begin: '0/7000000', end: null },
  ];
  const rec = (id: string, timeline: number, stopLsn: string, systemIdentifier = 'S') => ({
    id,
    kind: 'full' as const,
    parent: null,
    systemIdentifier,
    stoppedAt: '2026-11-26T00:00:00Z',
    timeline,
    stopLsn,
  });
  it('skips backups of the old timeline taken after the switch, saying why, and takes the newest before it', () => {
    const records = [rec('A', 1, '0/3000100'), rec('B', 1, '0/9000100'), rec('C', 3, '0/B000100')];
    const skipped: string[] = [];
    expect(chooseParent(records, 'S', history, (w) => skipped.push(w))!.id).toBe('A');
    expect(skipped).toEqual([
      'C was taken on timeline 3, which is not in the history of timeline 2',
      'B ended at 0/9000100 on timeline 1, after timeline 2 branched off it at 0/7000000',
    ]);
  });
  it('finds no parent when every backup is off the history (the backup becomes a full)', () => {
    expect(chooseParent([rec('B', 1, '0/9000100')], 'S', history)).toBeUndefined();
    expect(offHistory(rec('D', 2, '0/8000000'), history)).toBeUndefined();
    expect(offHistory(rec('D', 2, '0/8000000'), undefined)).toMatch(/history of this backup is unknown/);
  });
});
