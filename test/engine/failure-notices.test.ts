import { describe, expect, it } from 'vitest';
import { decideFailureNotice, failureSignature } from '../../src/engine/failure-notices.js';

const hour = 3_600_000;
const t0 = new Date('2026-11-29T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('decideFailureNotice', () => {
  const base = { signature: 'check:disk /', repeatMs: 4 * hour, now: t0 };

  it('sends the first failure of a streak', () => {
    expect(
      decideFailureNotice({ ...base, outcome: 'validation_failed', previousFailed: false, lastNotice: null }).send,
    ).toBe('failure');
    // An old notice from an earlier streak does not hold back a new streak.
    const old = { at: at(-hour), signature: 'check:disk /' };
    expect(
      decideFailureNotice({ ...base, outcome: 'validation_failed', previousFailed: false, lastNotice: old }).send,
    ).toBe('failure');
  });

  it('holds back the same failure until the repeat interval has passed, then sends it again', () => {
    const last = { at: t0, signature: 'check:disk /' };
    const again = { ...base, outcome: 'validation_failed' as const, previousFailed: true, lastNotice: last };
    expect(decideFailureNotice({ ...again, now: at(5 * 60_000) })).toMatchObject({ send: 'none' });
    expect(decideFailureNotice({ ...again, now: at(4 * hour - 1) }).send).toBe('none');
    expect(decideFailureNotice({ ...again, now: at(4 * hour) }).send).toBe('failure');
  });

  it('sends a different failure at once', () => {
    const last = { at: t0, signature: 'check:disk /' };
    expect(
      decideFailureNotice({
        ...base,
        signature: 'check:memory',
        outcome: 'validation_failed',
        previousFailed: true,
        lastNotice: last,
        now: at(60_000),
      }).send,
    ).toBe('failure');
  });

  it('sends one recovery notice after a notified failure, nothing for an ordinary success or an interruption', () => {
    const last = { at: t0, signature: 'check:disk /' };
    const ok = { ...base, signature: '', outcome: 'succeeded' as const };
    expect(decideFailureNotice({ ...ok, previousFailed: true, lastNotice: last }).send).toBe('recovered');
    expect(decideFailureNotice({ ...ok, previousFailed: false, lastNotice: last }).send).toBe('none');
    expect(decideFailureNotice({ ...ok, previousFailed: true, lastNotice: null }).send).toBe('none');
    expect(decideFailureNotice({ ...base, outcome: 'interrupted', previousFailed: false, lastNotice: null }).send).toBe(
      'none',
    );
  });

  it('describes a failure by the names of its failing steps and checks, not by their changing figures', () => {
    expect(failureSignature([{ name: 'execute' }], [{ name: 'disk /' }, { name: 'memory' }])).toBe(
      'check:disk /, check:memory, step:execute',
    );
  });
});
