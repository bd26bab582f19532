import { describe, expect, it } from 'vitest';
import { successRate, sizeChangeAlerts } from '../../src/backup/backup-health.js';
import { planRetention, walExpired } from '../../src/backup/retention.js';
import { segmentNumber } from '../../src/backup/lsn.js';
import { windowDeadline } from '../../src/backup/window.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const SEG = 16 * 1024 * 1024;
const now = new Date('2026-12-31T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const rules = { fullMs: 30 * DAY, incrementalMs: 24 * HOUR };

function rec(id: string, kind: 'full' | 'incremental', parent: string | null, age: number, seg: number) {
  return {
    id,
    kind,
    parent,
    stoppedAt: ago(age),
    walStart: `00000001000000000000${seg.toString(16).toUpperCase().padStart(4, '0')}`,
    segmentSize: SEG,
  };
}

describe('retention', () => {
  it('expires fulls past 30 days and incrementals past 24 hours', () => {
    const records = [
      rec('A-F', 'full', null, 40 * DAY, 0x10),
      rec('B-F', 'full', null, 20 * DAY, 0x20),
      rec('C-I', 'incremental', 'B-F', 2 * DAY, 0x30),
      rec('D-F', 'full', null, 1 * DAY + HOUR, 0x40),
      rec('E-I', 'incremental', 'D-F', 3 * HOUR, 0x50),
    ];
    const plan = planRetention(records, now, rules);
    expect(plan.expire).toEqual(['A-F', 'C-I']);
    expect(plan.keep).toEqual(['B-F', 'D-F', 'E-I']);
    expect(plan.walKeepFrom).toBe(0x20n);
  });

  it('never removes a parent a kept incremental needs, nor the newest backup', () => {
    const records = [
      rec('A-F', 'full', null, 45 * DAY, 0x10),
      rec('B-I', 'incremental', 'A-F', 40 * DAY, 0x11),
      rec('C-I', 'incremental', 'B-I', 2 * HOUR, 0x12),
    ];
    const plan = planRetention(records, now, rules);
    expect(plan.expire).toEqual([]);
    expect(plan.reasons['A-F']).toBe('needed by C-I');
    const old = planRetention([rec('A-F', 'full', null, 90 * DAY, 0x10)], now, rules);
    expect(old.keep).toEqual(['A-F']);
    expect(old.reasons['A-F']).toBe('newest backup');
  });

  it('honours a retention recorded on the backup itself (database.backup keeps 30 days)', () => {
    const records = [
      rec('A-F', 'full', null, 10 * DAY, 0x10),
      { ...rec('B-I', 'incremental', 'A-F', 5 * DAY, 0x11), retentionMs: 30 * DAY },
      rec('C-I', 'incremental', 'B-I', 3 * DAY, 0x12),
    ];
    const plan = planRetention(records, now, rules);
    expect(plan.keep).toEqual(['A-F', 'B-I', 'C-I']); // C-I is the newest, B-I has its own 30 days
    const plan2 = planRetention([...records, rec('D-F', 'full', null, HOUR, 0x20)], now, rules);
    expect(plan2.expire).toEqual(['C-I']);
  });

  it('keeps WAL from the oldest kept backup on, and history files always', () => {
    expect(walExpired('000000010000000000000019', 0x20n, SEG)).toBe(true);
    expect(walExpired('000000010000000000000020', 0x20n, SEG)).toBe(false);
    expect(walExpired('000000020000000000000021', 0x20n, SEG)).toBe(false);
    expect(walExpired('00000002.history', 0x20n, SEG)).toBe(false);
    expect(walExpired('000000010000000000000019', null, SEG)).toBe(false);
    expect(segmentNumber('000000010000000100000000', SEG)).toBe(256n);
  });
});

describe('backup window', () => {
  it('gives the end of the window a run started in, across midnight too', () => {
    expect(windowDeadline(new Date('2026-11-27T01:30:00Z'), 1, 0, 2 * HOUR)?.toISOString()).toBe(
      '2026-11-27T03:00:00.000Z',
    );
    expect(windowDeadline(new Date('2026-11-27T03:00:00Z'), 1, 0, 2 * HOUR)).toBeUndefined();
    expect(windowDeadline(new Date('2026-11-27T00:30:00Z'), 23, 0, 2 * HOUR)?.toISOString()).toBe(
      '2026-11-27T01:00:00.000Z',
    );
    expect(windowDeadline(new Date('2026-11-27T12:00:00Z'), 1, 0, 2 * HOUR)).toBeUndefined();
  });
});

describe('backup monitoring', () => {
  it('computes the success rate over the window against 99.9%', () => {
    const attempts = [
      ...Array.from({ length: 999 }, (_, i) => ({ at: ago(i * HOUR * 0.5), kind: 'incremental', ok: true })),
      { at: ago(2 * DAY), kind: 'full', ok: false, error: 'disk full' },
      { at: ago(40 * DAY), kind: 'full', ok: false },
    ];
    const rate = successRate(attempts, now, 30 * DAY, 99.9);
    expect(rate.attempts).toBe(1000);
    expect(rate.failed).toBe(1);
    expect(rate.rate).toBeCloseTo(99.9, 5);
    expect(rate.ok).toBe(true);
    expect(successRate(attempts.slice(990), now, 30 * DAY, 99.9).ok).toBe(false);
    expect(successRate([], now, 30 * DAY, 99.9)).toEqual({ attempts: 0, failed: 0, rate: null, ok: true });
  });

  it('alerts when a backup differs by more than 20% from the previous one of the same kind', () => {
    const records = [
      { id: '1F', kind: 'full', storedSize: 1000 },
      { id: '2I', kind: 'incremental', storedSize: 100 },
      { id: '3F', kind: 'full', storedSize: 1150 },
      { id: '4I', kind: 'incremental', storedSize: 130 },
    ];
    expect(sizeChangeAlerts(records, 20)).toEqual([
      { id: '4I', previous: '2I', kind: 'incremental', size: 130, previousSize: 100, changePercent: 30 },
    ]);
    expect(
      sizeChangeAlerts([...records, { id: '5F', kind: 'full', storedSize: 800 }], 20).map((a) => [
        a.id,
        a.changePercent,
      ]),
    ).toEqual([
      ['5F', -30.4],
      ['4I', 30],
    ]);
  });
});
