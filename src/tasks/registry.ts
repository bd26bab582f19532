// The static registry of tasks: one map, nothing registered by side effect. A test checks that
// every catalog id is here and that every implemented task's file is listed (Renovate's
// manager map + completeness test).
import type { ImplementedTask, TaskDefinition } from '../engine/types.js';
import { distance } from 'fastest-levenshtein';
import { DrydockError } from '../errors.js';
import { plannedTasks } from './catalog.js';
import { databaseBackupTask } from './backup/database-backup.js';
import { configurationBackupTask, userUploadsBackupTask } from './backup/files-backup.js';
import { integrityCheckTask } from './backup/integrity-check.js';
import { backupMonitoringTask } from './backup/monitoring.js';
import { backupFullTask, backupIncrementalTask } from './backup/postgres-backup.js';
import { cacheBackupTask } from './backup/redis-backup.js';
import { restoreTestTask } from './backup/restore-test.js';
import { cacheEvictionTask } from './cache/eviction.js';
import { cacheReplicationTask } from './cache/replication.js';
import { activityPruneTask } from './drydock/activity-prune.js';
import { indexRebuildTask } from './database/index-rebuild.js';
import { vacuumTask } from './database/vacuum.js';
import { createCleanupTask, serverCleanupTask } from './server/cleanup.js';
import { serverHealthCheckTask } from './server/health-check.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const IMPLEMENTED: ReadonlyArray<ImplementedTask<any>> = [
  vacuumTask,
  indexRebuildTask,
  cacheEvictionTask,
  cacheReplicationTask,
  serverHealthCheckTask,
  serverCleanupTask,
  databaseBackupTask,
  backupFullTask,
  backupIncrementalTask,
  integrityCheckTask,
  restoreTestTask,
  backupMonitoringTask,
  cacheBackupTask,
  userUploadsBackupTask,
  configurationBackupTask,
  activityPruneTask,
];

/** Tasks that can show what they would do without doing it (`drydock run ID --dry-run`). */
export const DRY_RUN_VARIANTS: Readonly<Record<string, () => ImplementedTask>> = {
  'server.cleanup': () => createCleanupTask({ dryRun: true }),
};

export interface Registry {
  all(): TaskDefinition[];
  get(id: string): TaskDefinition | undefined;
  require(id: string): TaskDefinition;
  implemented(): ImplementedTask[];
}

export function createRegistry(implemented: ReadonlyArray<ImplementedTask> = IMPLEMENTED): Registry {
  const byId = new Map<string, TaskDefinition>();
  for (const planned of plannedTasks()) byId.set(planned.id, planned);
  for (const task of implemented) byId.set(task.id, task);
  const all = [...byId.values()];
  return {
    all: () => all,
    get: (id) => byId.get(id),
    require(id) {
      const task = byId.get(id);
      if (!task) {
        const close = closestIds(
          id,
          all.map((t) => t.id),
        );
        throw new DrydockError('TASK_UNKNOWN', `unknown task "${id}"`, {
          hint: close.length ? `did you mean ${close.join(', ')}?` : 'run `drydock tasks` to list them',
        });
      }
      return task;
    },
    implemented: () => all.filter((t): t is ImplementedTask => t.implemented),
  };
}

/**
 * The ids closest to a mistyped one: by edit distance (a typo such as "database.vacum"), or sharing
 * its last part or its beginning ("vacuum", "backup."). At most three, closest first.
 */
export function closestIds(id: string, ids: readonly string[]): string[] {
  const last = (text: string) => text.split('.').pop() ?? text;
  // Allow about one edit in three characters of the last part, at least one.
  const limit = Math.max(1, Math.floor(last(id).length / 3));
  return ids
    .map((candidate) => {
      const typo = distance(id, candidate);
      const related = last(candidate) === last(id) || (id.length >= 3 && candidate.startsWith(id));
      return { candidate, score: related ? 0 : typo <= limit ? typo : Infinity };
    })
    .filter((c) => c.score !== Infinity)
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map((c) => c.candidate);
}
