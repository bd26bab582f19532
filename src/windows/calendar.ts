// The maintenance calendar: the regular window ("first Sunday of the month, 02:00-06:00 UTC", which
// a cron expression cannot say) and the blackout periods (absolute date ranges, yearly recurring
// ranges that may cross the new year, weekly hours). Pure functions over UTC dates; no clock.
import { DrydockError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { WEEKDAYS } from '../policy/values.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

export interface Interval {
  start: Date;
  end: Date;
}

export interface WindowRule {
  /** 0 = Sunday. */
  weekday: number;
  startMinute: number;
  durationMinutes: number;
  /** Monthly windows fall on the nth weekday of the month or the last; weekly ones every week. */
  frequency: 'monthly' | 'weekly';
  weekOfMonth: 1 | 2 | 3 | 4 | 'last';
}

export interface MonthDay {
  month: number; // 1-12
  day: number; // 1-31
}

export interface BlackoutRule {
  name: string;
  dates: Interval[];
  yearly: Array<{ from: MonthDay; to: MonthDay }>;
  weekly: Array<{ days: number[]; startMinute: number; durationMinutes: number }>;
}

export interface BlackoutSpan extends Interval {
  period: string;
  /** "yearly 12-15..01-05", "weekly Mon-Fri 09:00-18:00 UTC", "2026-11-27..2026-11-30". */
  detail: string;
}

/** The regular window of the policy as numbers. */
export function regularWindowRule(policy: Policy): WindowRule {
  const window = policy.maintenance_windows.regular.window;
  return {
    weekday: window.day.index,
    startMinute: window.time.start.minuteOfDay,
    durationMinutes: window.time.durationMinutes,
    frequency: window.frequency,
    weekOfMonth: window.week_of_month as WindowRule['weekOfMonth'],
  };
}

/** Day of month (1-31) of the nth (or last) given weekday of a month (month 0-11). */
export function nthWeekdayOfMonth(year: number, month: number, weekday: number, n: 1 | 2 | 3 | 4 | 'last'): number {
  if (n === 'last') {
    const lastDay = new Date(Date.UTC(year, month + 1, 0));
    const back = (lastDay.getUTCDay() - weekday + 7) % 7;
    return lastDay.getUTCDate() - back;
  }
  const first = new Date(Date.UTC(year, month, 1)).getUTCDay();
  return 1 + ((weekday - first + 7) % 7) + (n - 1) * 7;
}

function windowOn(rule: WindowRule, dayStart: number): Interval {
  const start = dayStart + rule.startMinute * MINUTE;
  return { start: new Date(start), end: new Date(start + rule.durationMinutes * MINUTE) };
}

/** Every window that overlaps [from, to), in order. */
export function windowOccurrences(rule: WindowRule, from: Date, to: Date): Interval[] {
  const out: Interval[] = [];
  // Start a day early: a window may start the day before and cross midnight.
  const first = new Date(from.getTime() - DAY);
  if (rule.frequency === 'weekly') {
    let day = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate());
    day += ((rule.weekday - new Date(day).getUTCDay() + 7) % 7) * DAY;
    for (; day < to.getTime(); day += 7 * DAY) {
      const w = windowOn(rule, day);
      if (w.end > from && w.start < to) out.push(w);
    }
    return out;
  }
  let year = first.getUTCFullYear();
  let month = first.getUTCMonth();
  for (;;) {
    const day = Date.UTC(year, month, nthWeekdayOfMonth(year, month, rule.weekday, rule.weekOfMonth));
    if (day >= to.getTime()) break;
    const w = windowOn(rule, day);
    if (w.end > from && w.start < to) out.push(w);
    month += 1;
    if (month === 12) {
      month = 0;
      year += 1;
    }
  }
  return out;
}

/** The window open at `at`, if any. */
export function windowAt(rule: WindowRule, at: Date): Interval | null {
  return windowOccurrences(rule, at, new Date(at.getTime() + 1))[0] ?? null;
}

/** The first window starting at or after `after`. */
export function nextWindow(rule: WindowRule, after: Date): Interval {
  const list = windowOccurrences(rule, after, new Date(after.getTime() + 62 * DAY));
  const next = list.find((w) => w.start >= after);
  if (!next) throw new DrydockError('INTERNAL', 'no maintenance window in the next two months');
  return next;
}

/** The blackout periods in force (`blackout.periods`) with their definitions. */
export function blackoutRules(policy: Policy): BlackoutRule[] {
  const blackout = policy.maintenance_windows.blackout;
  // The schema guarantees every period in force has a definition.
  return blackout.periods.map((name) => {
    const def = blackout.definitions[name]!;
    return {
      name,
      dates: def.dates.map((d) => ({ start: d.from.start, end: d.to.end })),
      yearly: def.yearly.map((y) => ({
        from: { month: y.from.month, day: y.from.day },
        to: { month: y.to.month, day: y.to.day },
      })),
      weekly: def.weekly.map((w) => ({
        days: w.days.map((d) => d.index),
        startMinute: w.time.start.minuteOfDay,
        durationMinutes: w.time.durationMinutes,
      })),
    };
  });
}

const pad = (n: number) => String(n).padStart(2, '0');
const md = (m: MonthDay) => `${pad(m.month)}-${pad(m.day)}`;
const hm = (minute: number) => `${pad(Math.floor(minute / 60) % 24)}:${pad(minute % 60)}`;
const dayName = (d: number) => WEEKDAYS[d]!.slice(0, 1).toUpperCase() + WEEKDAYS[d]!.slice(1, 3);

/** Every blackout span overlapping [from, to). */
export function blackoutSpans(rules: readonly BlackoutRule[], from: Date, to: Date): BlackoutSpan[] {
  const out: BlackoutSpan[] = [];
  const push = (span: BlackoutSpan) => {
    if (span.end > from && span.start < to) out.push(span);
  };
  for (const rule of rules) {
    for (const d of rule.dates)
      push({
        period: rule.name,
        start: d.start,
        end: d.end,
        detail: `${d.start.toISOString()}..${d.end.toISOString()}`,
      });
    for (const y of rule.yearly) {
      const crosses = y.to.month < y.from.month || (y.to.month === y.from.month && y.to.day < y.from.day);
      for (let year = from.getUTCFullYear() - 1; year <= to.getUTCFullYear(); year++) {
        const start = Date.UTC(year, y.from.month - 1, y.from.day);
        const end = Date.UTC(crosses ? year + 1 : year, y.to.month - 1, y.to.day) + DAY;
        push({
          period: rule.name,
          start: new Date(start),
          end: new Date(end),
          detail: `every year ${md(y.from)}..${md(y.to)}`,
        });
      }
    }
    for (const w of rule.weekly) {
      const days = w.days.map(dayName).join(',');
      const detail = `every ${days} ${hm(w.startMinute)}-${hm(w.startMinute + w.durationMinutes)} UTC`;
      for (
        let day = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()) - DAY;
        day < to.getTime();
        day += DAY
      ) {
        if (!w.days.includes(new Date(day).getUTCDay())) continue;
        const start = day + w.startMinute * MINUTE;
        push({ period: rule.name, start: new Date(start), end: new Date(start + w.durationMinutes * MINUTE), detail });
      }
    }
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** The blackout in force at `at`, with the time it (and any blackout that continues it) ends. */
export function blackoutAt(rules: readonly BlackoutRule[], at: Date): (BlackoutSpan & { clearAt: Date }) | null {
  const here = blackoutSpans(rules, at, new Date(at.getTime() + 1));
  const first = here[0];
  if (!first) return null;
  let clear = at;
  for (let i = 0; i < 1000; i++) {
    const covering = blackoutSpans(rules, clear, new Date(clear.getTime() + 1));
    if (covering.length === 0) break;
    clear = new Date(Math.max(...covering.map((s) => s.end.getTime())));
  }
  return { ...first, clearAt: clear };
}

export type GateTask = { id: string; disruptive: boolean; class: 'maintenance' | 'security' | 'critical_bug' };

/** Whether blackouts apply to this task: security and critical-bug tasks are the spec's exceptions. */
function blackoutApplies(task: GateTask, policy: Policy): boolean {
  const blackout = policy.maintenance_windows.blackout;
  if (task.class === 'security' && blackout.exceptions.security) return false;
  if (task.class === 'critical_bug' && blackout.exceptions.critical_bugs) return false;
  return !blackout.exempt_tasks.some((pattern) =>
    pattern.endsWith('*') ? task.id.startsWith(pattern.slice(0, -1)) : task.id === pattern,
  );
}

export function formatInterval(w: Interval): string {
  const s = w.start.toISOString();
  const e = w.end.toISOString();
  const day = `${dayName(w.start.getUTCDay())} ${s.slice(0, 10)}`;
  return `${day} ${s.slice(11, 16)}-${s.slice(0, 10) === e.slice(0, 10) ? '' : `${e.slice(0, 10)} `}${e.slice(11, 16)} UTC`;
}

export interface Calendar {
  window: WindowRule;
  blackouts: BlackoutRule[];
  /** Further open windows (scheduled or approved emergency windows from the store). */
  extra: Interval[];
}

export function calendarOf(policy: Policy, extra: Interval[] = []): Calendar {
  return { window: regularWindowRule(policy), blackouts: blackoutRules(policy), extra };
}

export function openWindowAt(cal: Calendar, at: Date): Interval | null {
  return windowAt(cal.window, at) ?? cal.extra.find((w) => w.start <= at && w.end > at) ?? null;
}

function nextWindowStart(cal: Calendar, after: Date): Interval {
  const candidates = [nextWindow(cal.window, after), ...cal.extra.filter((w) => w.start >= after)];
  return candidates.sort((a, b) => a.start.getTime() - b.start.getTime())[0]!;
}

export type CalendarDecision =
  | { decision: 'run'; window: Interval | null }
  | { decision: 'delay'; until: Date; reason: string }
  | { decision: 'skip'; reason: string };

/**
 * The gate's decision, pure: disruptive tasks need an open window; every task outside the
 * exceptions waits out a blackout. A delay names the first obstacle and the time both clear.
 */
export function decide(task: GateTask, at: Date, policy: Policy, cal: Calendar): CalendarDecision {
  const respectBlackouts = blackoutApplies(task, policy);
  let t = at;
  let reason: string | null = null;
  for (let i = 0; i < 60; i++) {
    if (task.disruptive) {
      const open = openWindowAt(cal, t);
      if (!open) {
        const next = nextWindowStart(cal, t);
        reason ??= `disruptive task waits for the next maintenance window (${formatInterval(next)})`;
        t = next.start;
        continue;
      }
    }
    if (respectBlackouts) {
      const black = blackoutAt(cal.blackouts, t);
      if (black) {
        const which = `blackout "${black.period}" (${black.detail}) until ${black.clearAt.toISOString()}`;
        if (reason === null) reason = `inside ${which}`;
        else if (!reason.includes('blackout')) reason += `; that window falls inside ${which}`;
        t = black.clearAt;
        continue;
      }
    }
    if (t.getTime() === at.getTime()) return { decision: 'run', window: task.disruptive ? openWindowAt(cal, t) : null };
    return { decision: 'delay', until: t, reason: `${reason}; runs at ${t.toISOString()}` };
  }
  return {
    decision: 'skip',
    reason: `${reason ?? 'blocked'}; no time free of blackouts with an open window was found in the next 60 windows`,
  };
}

/** For `drydock plan`: the regular windows and the blackout spans between two dates. */
export function calendarPlan(policy: Policy, from: Date, to: Date): { windows: Interval[]; blackouts: BlackoutSpan[] } {
  const cal = calendarOf(policy);
  return { windows: windowOccurrences(cal.window, from, to), blackouts: blackoutSpans(cal.blackouts, from, to) };
}
