import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { dueSlots, planRuns, retryDelay } from '../../src/schedule/planner.js';
import { slotsBetween } from '../../src/schedule/frequency.js';
import { schedule } from '../helpers/phrases.js';
import { createRegistry } from '../../src/tasks/registry.js';

describe('planner', () => {
  const registry = createRegistry();
  const policy = parsePolicy({});

  it('walks a simulated 35 days of the default policy in milliseconds', () => {
    const from = new Date('2026-11-26T12:00:00Z');
    const until = new Date(from.getTime() + 35 * 86_400_000);
    const started = performance.now();
    const runs = planRuns(registry.all(), policy, from, until);
    const elapsed = performance.now() - started;
    const vacuum = runs.filter((r) => r.taskId === 'database.vacuum');
    expect(vacuum).toHaveLength(35);
    expect(vacuum[0]!.at.toISOString()).toBe('2026-11-27T03:00:00.000Z');
    expect(vacuum.every((r) => r.at.getUTCHours() === 3 && r.at.getUTCMinutes() === 0)).toBe(true);
    const reindex = runs.filter((r) => r.taskId === 'database.index_rebuild').map((r) => r.at.toISOString());
    expect(reindex).toEqual([
      '2026-11-29T04:00:00.000Z',
      '2026-12-06T04:00:00.000Z',
      '2026-12-13T04:00:00.000Z',
      '2026-12-20T04:00:00.000Z',
      '2026-12-27T04:00:00.000Z',
    ]);
    expect(runs.every((r) => r.implemented)).toBe(true);
    for (let i = 1; i < runs.length; i++)
      expect(runs[i]!.at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.at.getTime());
    expect(elapsed).toBeLessThan(2000);
  });

  it('includes planned procedures only when asked, and honours a task disabled in the policy', () => {
    const from = new Date('2026-11-26T00:00:00Z');
    const until = new Date('2026-11-27T00:00:00Z');
    const all = planRuns(registry.all(), policy, from, until, { includePlanned: true });
    expect(
      all.filter((r) => r.taskId === 'cache.replication' || r.taskId === 'network.dns.propagation').length,
    ).toBeGreaterThan(0);
    expect(all.filter((r) => r.taskId === 'server.health_check')).toHaveLength(288);
    const disabled = parsePolicy({ tasks: { 'database.vacuum': { enabled: false } } });
    expect(planRuns(registry.all(), disabled, from, until).some((r) => r.taskId === 'database.vacuum')).toBe(false);
  });

  it('aligns interval schedules to the epoch so every instance computes the same slots', () => {
    const every15 = schedule('every 15 minutes');
    const slots = slotsBetween(every15, new Date('2026-11-26T10:07:00Z'), new Date('2026-11-26T11:00:00Z'));
    expect(slots.map((s) => s.toISOString().slice(11, 16))).toEqual(['10:15', '10:30', '10:45', '11:00']);
  });

  it('after a stall runs only the newest slot still inside the grace period, never the backlog', () => {
    const every5 = schedule('every 5 minutes');
    const grace = 10 * 60_000;
    expect(
      dueSlots(every5, new Date('2026-11-26T10:00:00Z'), new Date('2026-11-26T10:05:00Z'), grace).map((s) =>
        s.toISOString(),
      ),
    ).toEqual(['2026-11-26T10:05:00.000Z']);
    // Suspended for 3 hours: one run, not 36.
    expect(
      dueSlots(every5, new Date('2026-11-26T07:00:00Z'), new Date('2026-11-26T10:02:00Z'), grace).map((s) =>
        s.toISOString(),
      ),
    ).toEqual(['2026-11-26T10:00:00.000Z']);
    // A daily slot missed by more than the grace period is not run late.
    expect(
      dueSlots(
        schedule('daily', '03:00 UTC'),
        new Date('2026-11-26T02:00:00Z'),
        new Date('2026-11-26T05:00:00Z'),
        grace,
      ),
    ).toEqual([]);
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, 60_000, 600_000))).toEqual([
      60_000, 120_000, 240_000, 480_000, 600_000,
    ]);
  });
});
