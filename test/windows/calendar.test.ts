import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { policySchema, type Policy, type PolicyInput } from '../../src/policy/schema.js';
import {
  blackoutAt,
  blackoutRules,
  calendarOf,
  decide,
  nextWindow,
  nthWeekdayOfMonth,
  regularWindowRule,
  windowAt,
  windowOccurrences,
  type GateTask,
} from '../../src/windows/calendar.js';
import { windowGate } from '../../src/windows/gate.js';
import type { TaskDefinition } from '../../src/engine/types.js';

const policy = (input: PolicyInput = {}): Policy => policySchema.parse(input);
const d = (iso: string) => new Date(iso);
const task = (over: Partial<GateTask> = {}): GateTask => ({
  id: 'database.index_rebuild',
  disruptive: false,
  class: 'maintenance',
  ...over,
});
const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m + 1, 0)).getUTCDate();

describe('regular window calendar', () => {
  it('finds the nth and last weekday of a month', () => {
    expect(nthWeekdayOfMonth(2026, 10, 0, 1)).toBe(1); // Nov 1 2026 is a Sunday
    expect(nthWeekdayOfMonth(2026, 10, 0, 'last')).toBe(29);
    expect(nthWeekdayOfMonth(2026, 11, 0, 1)).toBe(6);
    expect(nthWeekdayOfMonth(2026, 11, 0, 'last')).toBe(27);
    expect(nthWeekdayOfMonth(2026, 1, 0, 'last')).toBe(22); // Feb 2026 has 4 Sundays starting on the 1st
    expect(nthWeekdayOfMonth(2028, 1, 2, 'last')).toBe(29); // leap-year Tuesday Feb 29 2028
  });

  it('walks 24 months of default windows: one first Sunday 02:00-06:00 UTC each month', () => {
    const rule = regularWindowRule(policy());
    const list = windowOccurrences(rule, d('2027-01-01T00:00:00Z'), d('2029-01-01T00:00:00Z'));
    expect(list).toHaveLength(24);
    list.forEach((w, i) => {
      expect(w.start.getUTCDay()).toBe(0);
      expect(w.start.getUTCDate()).toBeLessThanOrEqual(7);
      expect(w.start.getUTCMonth()).toBe(i % 12);
      expect(w.start.toISOString().slice(11, 16)).toBe('02:00');
      expect(w.end.getTime() - w.start.getTime()).toBe(4 * 3_600_000);
    });
  });

  it("supports 'last' Sunday and a window crossing midnight", () => {
    const rule = regularWindowRule(
      policy({ maintenance_windows: { regular: { window: { week_of_month: 'last', time: '22:00-02:00 UTC' } } } }),
    );
    const list = windowOccurrences(rule, d('2027-01-01T00:00:00Z'), d('2028-01-01T00:00:00Z'));
    expect(list).toHaveLength(12);
    for (const w of list) {
      expect(w.start.getUTCDay()).toBe(0);
      expect(w.start.getUTCDate() + 7).toBeGreaterThan(daysInMonth(w.start.getUTCFullYear(), w.start.getUTCMonth()));
      expect(w.end.getUTCDay()).toBe(1);
      expect(w.end.toISOString().slice(11, 16)).toBe('02:00');
    }
    // Inside the part after midnight, the window that started the day before is open.
    const lastJan = list[0]!;
    expect(windowAt(rule, new Date(lastJan.end.getTime() - 60_000))?.start).toEqual(lastJan.start);
  });

  it('weekly windows and nextWindow', () => {
    const rule = regularWindowRule(
      policy({
        maintenance_windows: {
          regular: { window: { frequency: 'weekly', day: 'Wednesday', time: '01:00-03:00 UTC' } },
        },
      }),
    );
    expect(nextWindow(rule, d('2026-11-26T12:00:00Z')).start.toISOString()).toBe('2026-12-02T01:00:00.000Z');
    expect(windowOccurrences(rule, d('2026-12-01T00:00:00Z'), d('2027-01-01T00:00:00Z'))).toHaveLength(5);
    expect(nextWindow(regularWindowRule(policy()), d('2026-11-26T12:00:00Z')).start.toISOString()).toBe(
      '2026-12-06T02:00:00.000Z',
    );
  });

  it('refuses a frequency a window cannot have, when the policy is loaded', () => {
    expect(() =>
      parsePolicy({ maintenance_windows: { regular: { window: { frequency: 'hourly' as 'weekly' } } } }),
    ).toThrow(
      /maintenance_windows\.regular\.window\.frequency: expected a maintenance window frequency, "monthly" or "weekly", got "hourly"/,
    );
  });
});

describe('blackouts', () => {
  const rules = blackoutRules(policy());

  it('holiday season Dec 15 - Jan 5 crosses the new year, both ends inclusive', () => {
    expect(blackoutAt(rules, d('2026-12-14T23:59:59Z'))).toBeNull(); // a Monday night, outside business hours
    expect(blackoutAt(rules, d('2026-12-15T00:00:00Z'))?.period).toBe('holiday_season');
    expect(blackoutAt(rules, d('2026-12-31T03:00:00Z'))?.period).toBe('holiday_season');
    const last = blackoutAt(rules, d('2027-01-05T23:59:00Z'));
    expect(last?.period).toBe('holiday_season');
    expect(last?.clearAt.toISOString()).toBe('2027-01-06T00:00:00.000Z');
    expect(blackoutAt(rules, d('2027-01-06T00:00:00Z'))).toBeNull();
    expect(blackoutAt(rules, d('2026-01-03T04:00:00Z'))?.period).toBe('holiday_season');
  });

  it('business hours Mon-Fri 09:00-18:00 UTC', () => {
    expect(blackoutAt(rules, d('2026-11-23T08:59:00Z'))).toBeNull();
    const monday = blackoutAt(rules, d('2026-11-23T09:00:00Z'));
    expect(monday?.period).toBe('business_hours');
    expect(monday?.clearAt.toISOString()).toBe('2026-11-23T18:00:00.000Z');
    expect(blackoutAt(rules, d('2026-11-23T18:00:00Z'))).toBeNull();
    expect(blackoutAt(rules, d('2026-11-28T10:00:00Z'))).toBeNull(); // Saturday
  });

  it('date ranges (major events) and chained blackouts report when all of them clear', () => {
    const p = policy({
      maintenance_windows: {
        blackout: {
          definitions: {
            major_events: { dates: [{ from: '2027-03-01', to: '2027-03-03', name: 'launch' }] },
            business_hours: { weekly: [{ days: ['Thursday'], time: '00:00-12:00 UTC' }] },
            holiday_season: {},
          },
        },
      },
    });
    const r = blackoutRules(p);
    expect(blackoutAt(r, d('2027-02-28T23:59:00Z'))).toBeNull();
    const inEvent = blackoutAt(r, d('2027-03-02T12:00:00Z'));
    expect(inEvent?.period).toBe('major_events');
    // Mar 3 2027 is a Wednesday; the event ends at Thursday 00:00, where business hours continue to 12:00.
    expect(inEvent?.clearAt.toISOString()).toBe('2027-03-04T12:00:00.000Z');
  });

  it('refuses, when the policy is loaded, a period in force without a definition', () => {
    expect(() => parsePolicy({ maintenance_windows: { blackout: { periods: ['black_friday'] } } })).toThrow(
      /maintenance_windows\.blackout\.periods\[0\]: unknown blackout period "black_friday"/,
    );
  });

  it('keeps the built-in definitions when the policy defines one of its own', () => {
    const r = blackoutRules(
      policy({
        maintenance_windows: {
          blackout: {
            periods: ['holiday_season', 'business_hours', 'black_friday'],
            definitions: { black_friday: { dates: [{ from: '2026-11-27', to: '2026-11-30' }] } },
          },
        },
      }),
    );
    expect(r.map((b) => b.name)).toEqual(['holiday_season', 'business_hours', 'black_friday']);
    expect(blackoutAt(r, d('2026-11-30T23:00:00Z'))?.period).toBe('black_friday');
    expect(blackoutAt(r, d('2026-12-20T03:00:00Z'))?.period).toBe('holiday_season');
  });
});

describe('gate decisions', () => {
  const p = policy();
  const cal = calendarOf(p);

  it('a disruptive task outside a window waits for the next window start, with the reason', () => {
    const r = decide(task({ disruptive: true }), d('2026-11-26T23:30:00Z'), p, cal);
    expect(r).toMatchObject({ decision: 'delay', until: d('2026-12-06T02:00:00Z') });
    expect(r.decision === 'delay' && r.reason).toMatch(/next maintenance window \(Sun 2026-12-06 02:00-06:00 UTC\)/);
  });

  it('runs a disruptive task inside the window', () => {
    expect(decide(task({ disruptive: true }), d('2026-12-06T03:00:00Z'), p, cal)).toMatchObject({ decision: 'run' });
  });

  it('skips a window inside the holiday blackout: January 3 2027 moves to February 7', () => {
    const r = decide(task({ disruptive: true }), d('2026-12-07T00:00:00Z'), p, cal);
    expect(r.decision).toBe('delay');
    if (r.decision !== 'delay') return;
    expect(r.until.toISOString()).toBe('2027-02-07T02:00:00.000Z');
    expect(r.reason).toMatch(/holiday_season/);
  });

  it('non-disruptive tasks respect blackouts; security and critical bugs do not', () => {
    const monday10 = d('2026-11-23T10:00:00Z');
    const r = decide(task(), monday10, p, cal);
    expect(r).toMatchObject({ decision: 'delay', until: d('2026-11-23T18:00:00Z') });
    expect(r.decision === 'delay' && r.reason).toMatch(/business_hours/);
    expect(decide(task({ class: 'security' }), monday10, p, cal).decision).toBe('run');
    expect(decide(task({ class: 'critical_bug' }), d('2026-12-24T10:00:00Z'), p, cal).decision).toBe('run');
    expect(decide(task(), d('2026-11-23T03:00:00Z'), p, cal).decision).toBe('run');
    // Turning the exception off makes security tasks wait too.
    const strict = policy({ maintenance_windows: { blackout: { exceptions: { security: false } } } });
    expect(decide(task({ class: 'security' }), monday10, strict, calendarOf(strict)).decision).toBe('delay');
  });

  it('by default checks, metrics, eviction and backups are not held back by blackouts; vacuum and clean-up are', () => {
    const monday10 = d('2026-11-23T10:00:00Z');
    for (const id of [
      'server.health_check',
      'cache.metrics',
      'cache.eviction',
      'backup.database.incremental',
      'network.dns.health_check',
    ])
      expect(decide(task({ id }), monday10, p, cal).decision).toBe('run');
    for (const id of ['database.vacuum', 'database.index_rebuild', 'server.cleanup'])
      expect(decide(task({ id }), monday10, p, cal).decision).toBe('delay');
  });

  it('exempt task ids (health checks) ignore blackouts', () => {
    const q = policy({
      maintenance_windows: { blackout: { exempt_tasks: ['server.health_check', 'cache.metrics*'] } },
    });
    const monday10 = d('2026-11-23T10:00:00Z');
    expect(decide(task({ id: 'server.health_check' }), monday10, q, calendarOf(q)).decision).toBe('run');
    expect(decide(task({ id: 'cache.metrics.collect' }), monday10, q, calendarOf(q)).decision).toBe('run');
    expect(decide(task({ id: 'cache.eviction' }), monday10, q, calendarOf(q)).decision).toBe('delay');
  });

  it('an extra (approved emergency) window opens the gate for disruptive tasks', () => {
    const emergency = { start: d('2026-11-26T23:00:00Z'), end: d('2026-11-27T01:00:00Z') };
    expect(decide(task({ disruptive: true }), d('2026-11-26T23:30:00Z'), p, calendarOf(p, [emergency])).decision).toBe(
      'run',
    );
    expect(decide(task({ disruptive: true }), d('2026-11-26T22:00:00Z'), p, calendarOf(p, [emergency]))).toMatchObject({
      decision: 'delay',
      until: emergency.start,
    });
  });

  it('walks three months hour by hour: disruptive runs happen only in open windows outside blackouts', () => {
    const start = d('2026-11-01T00:00:00Z').getTime();
    const ranHours: string[] = [];
    for (let t = start; t < d('2027-03-01T00:00:00Z').getTime(); t += 3_600_000) {
      const at = new Date(t);
      const r = decide(task({ disruptive: true }), at, p, cal);
      if (r.decision === 'run') {
        ranHours.push(at.toISOString());
        expect(windowAt(cal.window, at)).not.toBeNull();
        expect(blackoutAt(cal.blackouts, at)).toBeNull();
      } else {
        expect(r.decision).toBe('delay');
        if (r.decision === 'delay') expect(decide(task({ disruptive: true }), r.until, p, cal).decision).toBe('run');
      }
    }
    // Nov 1, Dec 6, Feb 7 (Jan 3 is in the holiday season): 3 windows x 4 hours.
    expect(ranHours.filter((h) => h.endsWith(':00:00.000Z'))).toHaveLength(12);
    expect(new Set(ranHours.map((h) => h.slice(0, 10)))).toEqual(new Set(['2026-11-01', '2026-12-06', '2027-02-07']));
  });

  it('windowGate implements the engine Gate interface', async () => {
    const gate = windowGate({ extraWindows: () => [] });
    const def = {
      id: 'x',
      title: 'x',
      implemented: false,
      disruptive: true,
      class: 'maintenance',
      plannedIn: 'test',
      schedule: () => ({ kind: 'manual', text: 'manual' }),
    } as TaskDefinition;
    expect(gate.name).toBe('maintenance-window');
    expect(await gate.check(def, d('2026-12-06T02:30:00Z'), p)).toEqual({ decision: 'run' });
    expect(await gate.check(def, d('2026-12-06T06:00:00Z'), p)).toMatchObject({
      decision: 'delay',
      until: d('2027-02-07T02:00:00Z'),
    });
  });
});

describe('gate with task schedules', () => {
  const p = policy();
  const def = (id: string, schedule: import('../../src/schedule/frequency.js').Schedule, disruptive = false) =>
    ({
      id,
      title: id,
      implemented: false,
      disruptive,
      class: 'maintenance',
      plannedIn: 'test',
      schedule: () => schedule,
    }) as TaskDefinition;

  it('an hourly task in business hours is skipped (its next run comes first); a daily one is delayed', async () => {
    const { gateDecision, gatePlannedRuns } = await import('../../src/windows/gate.js');
    const cal = calendarOf(p);
    const hourly = def('dependencies.npm', { kind: 'interval', everyMs: 3_600_000, text: 'hourly' });
    const daily = def('database.vacuum', { kind: 'cron', expression: '0 10 * * *', text: 'daily at 10:00' });
    const at = d('2026-11-23T10:00:00Z');
    const h = gateDecision(hourly, at, p, cal);
    expect(h.decision).toBe('skip');
    expect(h.decision === 'skip' && h.reason).toMatch(
      /business_hours.*next scheduled run \(2026-11-23T11:00:00.000Z\) comes first/,
    );
    expect(gateDecision(daily, at, p, cal)).toMatchObject({ decision: 'delay', until: d('2026-11-23T18:00:00Z') });
    const planned = gatePlannedRuns(
      [
        { taskId: 'database.vacuum', at, schedule: 'daily at 10:00', implemented: true },
        { taskId: 'database.vacuum', at: d('2026-11-28T10:00:00Z'), schedule: 'daily at 10:00', implemented: true },
      ],
      [daily],
      p,
    );
    expect(planned.map((r) => r.gate.decision)).toEqual(['delay', 'run']);
  });
});

describe('disruptive tasks in the plan', () => {
  it('never plans two VACUUM FULLs of one table in one window, over a year of daily slots', async () => {
    const { gatePlannedRuns } = await import('../../src/windows/gate.js');
    const { planRuns } = await import('../../src/schedule/planner.js');
    const { vacuumTask } = await import('../../src/tasks/database/vacuum.js');
    // No blackouts, so only the window decides; the daily 03:00 slot falls inside the 02:00-06:00 window.
    const p = policy({
      database: { vacuum: { options: { full: true } } },
      maintenance_windows: { blackout: { periods: [] } },
    });
    const from = d('2026-11-29T00:00:00Z');
    const until = d('2027-11-29T00:00:00Z');
    const runs = gatePlannedRuns(planRuns([vacuumTask], p, from, until), [vacuumTask], p);
    const windows = windowOccurrences(regularWindowRule(p), from, until);
    expect(windows.length).toBeGreaterThanOrEqual(12);
    for (const w of windows) {
      const inside = runs.filter((r) => {
        const when = r.gate.decision === 'run' ? r.at : r.gate.decision === 'delay' ? r.gate.until : null;
        return when !== null && when >= w.start && when < w.end;
      });
      expect(
        inside.map((r) => r.at.toISOString()),
        w.start.toISOString(),
      ).toHaveLength(1);
    }
    // The Saturday slot that would have been delayed into Sunday's window says why it is skipped.
    const saturday = runs.find((r) => r.at.toISOString() === '2026-12-05T03:00:00.000Z')!;
    expect(saturday.gate).toMatchObject({ decision: 'skip' });
    expect(saturday.gate.decision === 'skip' && saturday.gate.reason).toMatch(
      /next scheduled run \(2026-12-06T03:00:00.000Z\) runs in the same window .* once per table per window/,
    );
  });
});

describe('regular window marks', () => {
  it('marks a slot inside a blackout and whether it was announced', async () => {
    const { markRegularWindows } = await import('../../src/windows/regular-marks.js');
    const p = policy();
    const marked = markRegularWindows(p, d('2026-11-29T00:00:00Z'), d('2027-02-15T00:00:00Z'), [
      { id: 7, kind: 'regular', status: 'scheduled', start: d('2026-12-06T02:00:00Z'), end: d('2026-12-06T06:00:00Z') },
      { id: 8, kind: 'regular', status: 'cancelled', start: d('2027-02-07T02:00:00Z'), end: d('2027-02-07T06:00:00Z') },
    ]);
    expect(marked.map((w) => [w.start.toISOString().slice(0, 10), w.blackouts, w.announced?.id ?? null])).toEqual([
      ['2026-12-06', [], 7],
      ['2027-01-03', ['holiday_season'], null],
      ['2027-02-07', [], null],
    ]);
  });

  it('warns at start when the next slot opens for disruptive tasks without its 7-day notice', async () => {
    const { unannouncedWindowWarning } = await import('../../src/windows/regular-marks.js');
    const p = policy();
    const now = d('2026-12-02T12:00:00Z'); // 3.6 days before Sun 2026-12-06 02:00
    const warning = unannouncedWindowWarning(p, now, [], ['database.vacuum']);
    expect(warning).toMatch(
      /^the next regular window \(Sun 2026-12-06 02:00-06:00 UTC\) opens for disruptive tasks \(database.vacuum\) in 3\.6 days without its 7-day notice/,
    );
    // Announced, far enough ahead, no disruptive task, or inside a blackout: nothing to warn about.
    const announced = {
      id: 1,
      kind: 'regular' as const,
      status: 'scheduled' as const,
      start: d('2026-12-06T02:00:00Z'),
      end: d('2026-12-06T06:00:00Z'),
    };
    expect(unannouncedWindowWarning(p, now, [announced], ['database.vacuum'])).toBeNull();
    expect(unannouncedWindowWarning(p, d('2026-11-20T00:00:00Z'), [], ['database.vacuum'])).toBeNull();
    expect(unannouncedWindowWarning(p, now, [], [])).toBeNull();
    expect(unannouncedWindowWarning(p, d('2026-12-30T00:00:00Z'), [], ['database.vacuum'])).toBeNull();
  });
});

describe('windows policy problems', () => {
  it('names unknown channels, missing addresses, roles nobody holds and missing emergency channel types', async () => {
    const { windowsPolicyProblems } = await import('../../src/windows/policy-check.js');
    expect(windowsPolicyProblems(policy())).toEqual([
      'maintenance_windows.regular.change: no rollback_plan/owner, so regular windows are not announced by themselves (schedule them with `drydock windows schedule --kind regular`)',
      'maintenance_windows.emergency.approval: no stakeholder holds the role "CTO", so emergency windows can never be approved',
      'maintenance_windows.emergency.approval: no stakeholder holds the role "Head of Operations", so emergency windows can never be approved',
      'maintenance_windows.emergency.notification.channels: no channel of type "email" is defined',
      'maintenance_windows.emergency.notification.channels: no channel of type "sms" is defined',
      'maintenance_windows.emergency.notification.channels: no channel of type "status_page" is defined',
    ]);
    const q = policy({
      channels: {
        log: { type: 'log' },
        mail: { type: 'email', host: 'h', from: 'f@example.test' },
        sms: { type: 'sms', account_sid: { env: 'A' }, auth_token: { env: 'B' }, from: '+1' },
        status: { type: 'status_page' },
      },
      stakeholders: [
        { name: 'Carol', roles: ['CTO'], channels: ['mail', 'pager'] },
        { name: 'Hank', roles: ['Head of Operations'], email: 'h@example.test', channels: ['sms'] },
      ],
    });
    expect(windowsPolicyProblems(q)).toEqual([
      'stakeholders.0 (Carol): channel "mail" is email but Carol has no email address',
      'stakeholders.0 (Carol): unknown channel "pager" (defined: log, mail, sms, status)',
      'stakeholders.1 (Hank): channel "sms" is SMS but Hank has no phone number',
      'maintenance_windows.regular.change: no rollback_plan/owner, so regular windows are not announced by themselves (schedule them with `drydock windows schedule --kind regular`)',
    ]);
  });
});
