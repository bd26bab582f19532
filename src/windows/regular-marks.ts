// What a person needs to know about each regular window slot, pure: does it fall inside a blackout
// (3 January lies inside the holiday season: disruptive tasks then wait), and was it announced (a
// scheduled regular window record covers it)? And the warning `drydock start` prints when the next
// slot will open for disruptive tasks without the advance notice the policy asks for.
import type { Policy } from '../policy/schema.js';
import {
  blackoutRules,
  blackoutSpans,
  formatInterval,
  regularWindowRule,
  windowOccurrences,
  type Interval,
} from './calendar.js';
import { noticeDurations } from './rules.js';
import type { WindowRecord } from './types.js';

export interface MarkedWindow extends Interval {
  /** Names of the blackout periods the slot overlaps; disruptive tasks do not run in it then. */
  blackouts: string[];
  /** The regular window record that announced this slot, if any. */
  announced: { id: number; status: WindowRecord['status'] } | null;
}

const LIVE: ReadonlySet<WindowRecord['status']> = new Set(['scheduled', 'in_progress', 'completed']);

export function markRegularWindows(
  policy: Policy,
  from: Date,
  to: Date,
  records: readonly Pick<WindowRecord, 'id' | 'kind' | 'status' | 'start' | 'end'>[],
): MarkedWindow[] {
  const rules = blackoutRules(policy);
  return windowOccurrences(regularWindowRule(policy), from, to).map((w) => {
    const record = records.find(
      (r) => r.kind === 'regular' && LIVE.has(r.status) && r.start < w.end && r.end > w.start,
    );
    return {
      ...w,
      blackouts: [...new Set(blackoutSpans(rules, w.start, w.end).map((b) => b.period))],
      announced: record ? { id: record.id, status: record.status } : null,
    };
  });
}

/** One line for the calendar: the slot, then its marks. */
export function describeMarkedWindow(w: MarkedWindow): string {
  const marks: string[] = [];
  if (w.blackouts.length > 0)
    marks.push(`inside blackout ${w.blackouts.join(', ')}: disruptive tasks wait until it ends`);
  marks.push(w.announced ? `announced (window #${w.announced.id}, ${w.announced.status})` : 'not announced');
  return `${formatInterval(w)}  [${marks.join('; ')}]`;
}

/**
 * The warning for `drydock start`: the next regular slot opens for the enabled disruptive tasks
 * within the advance notice, and no announced window covers it (and it is not inside a blackout,
 * where those tasks would not run anyway). Null when there is nothing to warn about.
 */
export function unannouncedWindowWarning(
  policy: Policy,
  now: Date,
  records: readonly Pick<WindowRecord, 'id' | 'kind' | 'status' | 'start' | 'end'>[],
  disruptiveTasks: readonly string[],
): string | null {
  if (disruptiveTasks.length === 0) return null;
  const { advanceMs } = noticeDurations(policy);
  const [next] = markRegularWindows(policy, now, new Date(now.getTime() + 62 * 86_400_000), records).filter(
    (w) => w.start >= now,
  );
  if (!next || next.announced || next.blackouts.length > 0) return null;
  if (next.start.getTime() - now.getTime() >= advanceMs) return null;
  const days = (next.start.getTime() - now.getTime()) / 86_400_000;
  const when = days < 1 ? `in ${Math.round(days * 24)} hours` : `in ${days.toFixed(1)} days`;
  return `the next regular window (${formatInterval(next)}) opens for disruptive tasks (${disruptiveTasks.join(', ')}) ${when} without its ${Math.round(advanceMs / 86_400_000)}-day notice: nobody was told. Announce it with \`drydock windows schedule --kind regular ...\`, or give maintenance_windows.regular.change a rollback_plan and owner so Drydock announces each window by itself`;
}
