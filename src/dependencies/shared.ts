// What the three dependency tasks share: the change-record store behind the task's context, and
// the blackout rule for merges (the same calendar the window gate uses; security updates are the
// spec's exception when the policy keeps it).
import { DrydockError } from '../errors.js';
import type { TaskContext } from '../engine/types.js';
import type { Policy } from '../policy/schema.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { blackoutApplies, blackoutAt, blackoutRules } from '../windows/calendar.js';
import { DependencyStore } from './store.js';

export function dependencyStoreOf(ctx: Pick<TaskContext, 'store'>): DependencyStore {
  if (!(ctx.store instanceof SqliteStore))
    throw new DrydockError('INTERNAL', 'dependency updates keep their change records in the SQLite state store');
  return new DependencyStore(ctx.store.db);
}

/** The blackout that stops a merge at `at`, if any, with the instant it (and any that continues it) ends. */
export function mergeBlockedBy(
  policy: Policy,
  taskId: string,
  security: boolean,
  at: Date,
): { reason: string; until: Date } | null {
  if (!blackoutApplies({ id: taskId, class: security ? 'security' : 'maintenance', disruptive: false }, policy))
    return null;
  const black = blackoutAt(blackoutRules(policy), at);
  return black
    ? {
        reason: `blackout "${black.period}" (${black.detail}) until ${black.clearAt.toISOString()}`,
        until: black.clearAt,
      }
    : null;
}
