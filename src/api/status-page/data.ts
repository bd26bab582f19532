// What the public status page shows, computed from the windows store: component health, upcoming
// and in-progress maintenance with their public updates, and recent history. Internal details
// (rollback plans, approvers, pending or refused requests) never appear.
import type { ComponentHealth, ComponentStatus, StoredWindow, WindowStore } from '../../store/sqlite/windows.js';
import type { WindowUpdate } from '../../windows/types.js';
import { publicView } from '../../windows/service.js';

/** Phases that are internal to approval and never published. */
const INTERNAL_PHASES = new Set(['pending_approval', 'approved', 'refused', 'expired']);
/** Windows that were never announced are not public. */
const PUBLIC_STATUSES = new Set(['scheduled', 'in_progress', 'completed', 'cancelled']);

export interface PublicUpdate {
  at: Date;
  phase: string;
  message: string;
}

export interface PublicWindow {
  id: number;
  title: string;
  kind: 'regular' | 'emergency' | 'planned';
  status: 'scheduled' | 'in_progress' | 'completed' | 'cancelled';
  start: Date;
  end: Date;
  components: string[];
  summary: string;
  outcome: string | null;
  updates: PublicUpdate[];
}

export interface StatusSnapshot {
  generatedAt: Date;
  overall: { status: ComponentStatus; text: string };
  components: ComponentHealth[];
  inProgress: PublicWindow[];
  upcoming: PublicWindow[];
  recent: PublicWindow[];
}

const SEVERITY: ComponentStatus[] = ['operational', 'under_maintenance', 'degraded', 'partial_outage', 'major_outage'];

export const STATUS_TEXT: Record<ComponentStatus, string> = {
  operational: 'Operational',
  under_maintenance: 'Under maintenance',
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};

function toPublic(internal: StoredWindow, updates: WindowUpdate[]): PublicWindow {
  // The public title and description only; the internal change record never appears.
  const w = publicView(internal);
  return {
    id: w.id,
    title: w.title,
    kind: w.kind,
    status: w.status as PublicWindow['status'],
    start: w.start,
    end: w.end,
    components: w.change.components,
    summary: w.change.summary,
    outcome: w.outcome,
    updates: updates
      .filter((u) => !INTERNAL_PHASES.has(u.phase))
      .map((u) => ({ at: u.at, phase: u.phase, message: u.message }))
      .reverse(),
  };
}

export function statusSnapshot(
  store: WindowStore,
  now: Date,
  options: { historyDays?: number; upcomingDays?: number; components?: readonly string[] } = {},
): StatusSnapshot {
  const historyMs = (options.historyDays ?? 14) * 86_400_000;
  const upcomingMs = (options.upcomingDays ?? 60) * 86_400_000;
  const windows = store
    .list({ from: new Date(now.getTime() - historyMs), to: new Date(now.getTime() + upcomingMs) })
    // A cancelled request that was never announced (an emergency nobody approved) stays private.
    .filter((w) => PUBLIC_STATUSES.has(w.status) && (w.status !== 'cancelled' || w.advanceSentAt !== null))
    .map((w) => toPublic(w, store.updates(w.id)));
  const inProgress = windows.filter((w) => w.status === 'in_progress');
  const upcoming = windows.filter((w) => w.status === 'scheduled' && w.end > now);
  const recent = windows
    .filter((w) => w.status === 'completed' || w.status === 'cancelled' || (w.status === 'scheduled' && w.end <= now))
    .sort((a, b) => b.start.getTime() - a.start.getTime());

  const known = new Map(store.components().map((c) => [c.name, c]));
  for (const name of [...(options.components ?? []), ...windows.flatMap((w) => w.components)]) {
    if (!known.has(name)) known.set(name, { name, status: 'operational', detail: '', updatedAt: now });
  }
  // A component in an in-progress window is under maintenance whatever was last recorded.
  for (const w of inProgress) {
    for (const name of w.components) {
      const c = known.get(name)!;
      if (SEVERITY.indexOf(c.status) < SEVERITY.indexOf('under_maintenance'))
        known.set(name, { ...c, status: 'under_maintenance', detail: `maintenance: ${w.title}` });
    }
  }
  const components = [...known.values()].sort((a, b) => a.name.localeCompare(b.name));
  const worst = components.reduce<ComponentStatus>(
    (acc, c) => (SEVERITY.indexOf(c.status) > SEVERITY.indexOf(acc) ? c.status : acc),
    'operational',
  );
  const overallText =
    worst === 'operational'
      ? 'All systems operational'
      : worst === 'under_maintenance'
        ? 'Maintenance in progress'
        : worst === 'degraded'
          ? 'Some systems are degraded'
          : worst === 'partial_outage'
            ? 'Partial outage'
            : 'Major outage';
  return { generatedAt: now, overall: { status: worst, text: overallText }, components, inProgress, upcoming, recent };
}
