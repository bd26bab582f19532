// The static registry of tasks: one list of implemented tasks (each defined once, in its own file:
// id, title, schedule, resources, execute, validate) and one list of the spec's procedures this
// version does not carry out yet. Nothing is registered by side effect. The catalog of the spec's
// procedures is the two together; test/tasks/registry.test.ts fails when a task file under
// src/tasks/ is not listed here or when a procedure of the spec is in neither list (Renovate's
// manager map + completeness test). Adding a task: its file, and one line here (moving its id out
// of NOT_IMPLEMENTED when the spec already lists it).
import type { ImplementedTask, PlannedTask, Registry, TaskClass, TaskDefinition } from '../engine/types.js';
import { distance } from 'fastest-levenshtein';
import { DrydockError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { Frequency } from '../policy/values.js';
import { toSchedule, type ScheduleInput } from '../schedule/frequency.js';
import { databaseBackupTask } from './backup/database-backup.js';
import { configurationBackupTask, userUploadsBackupTask } from './backup/files-backup.js';
import { integrityCheckTask } from './backup/integrity-check.js';
import { backupMonitoringTask } from './backup/backup-monitoring.js';
import { backupFullTask, backupIncrementalTask } from './backup/postgres-backup.js';
import { cacheBackupTask } from './backup/redis-backup.js';
import { restoreTestTask } from './backup/postgres-restore-test.js';
import { cacheEvictionTask } from './cache/eviction.js';
import { cacheReplicationTask } from './cache/replication.js';
import { activityPruneTask } from './drydock/activity-prune.js';
import { indexRebuildTask } from './database/index-rebuild.js';
import { vacuumTask } from './database/vacuum.js';
import { serverCleanupTask } from './server/cleanup.js';
import { serverHealthCheckTask } from './server/health-check.js';
import { dnsHealthTask } from './network/dns-health.js';
import { dnsPropagationTask } from './network/dns-propagation.js';
import { firewallReviewTask } from './network/firewall-review.js';
import { firewallUpdatesTask } from './network/firewall-updates.js';
import { sslRenewalTask } from './network/ssl-renewal.js';
import { sslValidationTask } from './network/ssl-validation.js';
import { advisoryRefreshTask } from './security/advisory-refresh.js';
import { complianceReportTask } from './security/compliance-report.js';
import { vulnerabilityScanTask } from './security/vulnerability-scan.js';
import { npmUpdatesTask } from './dependencies/npm-updates.js';
import { dockerImagesTask } from './dependencies/docker-images.js';
import { systemUpdatesTask } from './dependencies/system-updates.js';

// `any` keeps a list of tasks with different result types assignable; each task is typed in its file.
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
  dnsHealthTask,
  dnsPropagationTask,
  firewallReviewTask,
  firewallUpdatesTask,
  sslValidationTask,
  sslRenewalTask,
  vulnerabilityScanTask,
  complianceReportTask,
  npmUpdatesTask,
  dockerImagesTask,
  systemUpdatesTask,
  advisoryRefreshTask,
];

interface NotImplemented {
  id: string;
  title: string;
  /** Where the work is tracked. */
  plannedIn: string;
  /** Carried out, but not as a run of its own (see PlannedTask.handledBy). */
  handledBy?: string;
  disruptive?: boolean;
  class?: TaskClass;
  schedule: (policy: Policy) => ScheduleInput;
}

const COLLECTOR = "the daemon's metrics collector (drydock metrics, drydock alerts)";

/** The spec's procedures this version does not run as tasks of their own, with the schedule the policy gives them. */
export const NOT_IMPLEMENTED: readonly NotImplemented[] = [
  {
    id: 'cache.metrics',
    title: 'Collect Redis metrics and evaluate cache alerts',
    plannedIn: 'issue 4',
    handledBy: COLLECTOR,
    schedule: (p) => ({ frequency: p.cache.metrics.collection }),
  },
  {
    id: 'server.monitoring',
    title: 'Collect host metrics and evaluate host alerts',
    plannedIn: 'issue 4',
    handledBy: COLLECTOR,
    schedule: (p) => ({ frequency: p.server.monitoring.metrics.collection }),
  },
  {
    id: 'security.patches',
    title: 'Track security patches against their SLA',
    plannedIn: 'issue 5',
    handledBy: 'the patch SLA service (drydock patches; approvals, notices and SLA alerts each minute in the daemon)',
    class: 'security',
    schedule: () => ({ frequency: Frequency.onChange }),
  },
];

function plannedTask(entry: NotImplemented): PlannedTask {
  return {
    id: entry.id,
    title: entry.title,
    implemented: false,
    disruptive: entry.disruptive ?? false,
    class: entry.class ?? 'maintenance',
    plannedIn: entry.plannedIn,
    ...(entry.handledBy ? { handledBy: entry.handledBy } : {}),
    schedule: (policy) => toSchedule(entry.schedule(policy)),
  };
}

/** Tasks that can show what they would do without doing it (`drydock run ID --dry-run`). */
export const DRY_RUN_VARIANTS: Readonly<Record<string, () => ImplementedTask>> = Object.fromEntries(
  IMPLEMENTED.flatMap((task) => (task.dryRun ? [[task.id, task.dryRun] as const] : [])),
);

// The interface lives in engine/types.ts (the engine receives a registry; it does not import tasks/).
export type { Registry } from '../engine/types.js';

export function createRegistry(implemented: ReadonlyArray<ImplementedTask> = IMPLEMENTED): Registry {
  const byId = new Map<string, TaskDefinition>();
  for (const task of implemented) byId.set(task.id, task);
  for (const entry of NOT_IMPLEMENTED) if (!byId.has(entry.id)) byId.set(entry.id, plannedTask(entry));
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
