// Every procedure of the spec, by the id taken from the spec's own keys, with the schedule the
// policy gives it. Implemented tasks replace these entries in registry.ts; the rest are listed
// as planned so `drydock tasks` says plainly what this version does not do yet.
import type { Policy } from '../policy/schema.js';
import { toSchedule, type Schedule, type ScheduleInput } from '../schedule/frequency.js';
import type { PlannedTask, TaskClass } from '../engine/types.js';

interface Entry {
  id: string;
  title: string;
  plannedIn: string;
  handledBy?: string;
  disruptive?: boolean;
  class?: TaskClass;
  schedule: (policy: Policy) => ScheduleInput;
}

const NOT_FILED = 'not yet filed as an issue';

const ENTRIES: Entry[] = [
  {
    id: 'database.vacuum',
    title: 'VACUUM (ANALYZE) the busiest tables',
    plannedIn: 'issue 2',
    schedule: (p) => p.database.vacuum,
  },
  {
    id: 'database.backup',
    title: 'Daily database backup inside the 01:00 UTC two-hour window',
    plannedIn: 'issue 3',
    schedule: (p) => ({ frequency: p.database.backup.frequency, time: p.database.backup.window.start }),
  },
  {
    id: 'database.index_rebuild',
    title: 'REINDEX CONCURRENTLY, high-priority tables first',
    plannedIn: 'issue 2',
    schedule: (p) => p.database.index_rebuild,
  },
  {
    id: 'cache.eviction',
    title: 'Bring Redis back under its memory/key thresholds',
    plannedIn: 'issue 4',
    schedule: (p) => p.cache.eviction,
  },
  {
    id: 'cache.replication',
    title: 'Check Redis replicas are connected and in sync',
    plannedIn: 'issue 4',
    schedule: (p) => ({ frequency: p.cache.replication.sync_check }),
  },
  {
    id: 'cache.backup',
    title: 'Redis RDB backup over the replication protocol',
    plannedIn: 'issue 3',
    schedule: (p) => p.cache.backup,
  },
  {
    id: 'cache.metrics',
    title: 'Collect Redis metrics and evaluate cache alerts',
    plannedIn: 'issue 4',
    handledBy: "the daemon's metrics collector (drydock metrics, drydock alerts)",
    schedule: (p) => ({ frequency: p.cache.metrics.collection }),
  },
  {
    id: 'security.patches',
    title: 'Track security patches against their SLA',
    plannedIn: 'issue 5',
    handledBy: 'the patch SLA service (drydock patches; approvals, notices and SLA alerts each minute in the daemon)',
    class: 'security',
    schedule: () => ({ frequency: 'on change' }),
  },
  {
    id: 'security.scans.vulnerability',
    title: 'Vulnerability scan of infrastructure and applications',
    plannedIn: NOT_FILED,
    class: 'security',
    schedule: (p) => p.security.scans.vulnerability,
  },
  {
    id: 'security.scans.compliance',
    title: 'Compliance review (PCI-DSS, GDPR, SOC2)',
    plannedIn: NOT_FILED,
    class: 'security',
    schedule: (p) => p.security.scans.compliance,
  },
  {
    id: 'dependencies.npm',
    title: 'npm dependency updates',
    plannedIn: NOT_FILED,
    schedule: (p) => p.dependencies.npm,
  },
  {
    id: 'dependencies.system',
    title: 'OS, runtime and tool package updates (tested in staging)',
    plannedIn: NOT_FILED,
    disruptive: true,
    schedule: (p) => p.dependencies.system,
  },
  {
    id: 'dependencies.docker',
    title: 'Docker base image updates with a Trivy scan',
    plannedIn: NOT_FILED,
    schedule: (p) => p.dependencies.docker,
  },
  {
    id: 'server.health_check',
    title: 'Disk, memory, CPU and service health',
    plannedIn: 'issue 4',
    schedule: (p) => ({ frequency: p.server.health_check.frequency }),
  },
  {
    id: 'server.cleanup',
    title: 'Log rotation, temp files and old deployments',
    plannedIn: 'issue 4',
    schedule: (p) => p.server.cleanup,
  },
  {
    id: 'server.monitoring',
    title: 'Collect host metrics and evaluate host alerts',
    plannedIn: 'issue 4',
    handledBy: "the daemon's metrics collector (drydock metrics, drydock alerts)",
    schedule: (p) => ({ frequency: p.server.monitoring.metrics.collection }),
  },
  {
    id: 'network.firewall.review',
    title: 'Firewall rule review',
    plannedIn: NOT_FILED,
    class: 'security',
    schedule: (p) => ({ frequency: p.network.firewall.review, time: '07:00 UTC' }),
  },
  {
    id: 'network.firewall.updates',
    title: 'Planned firewall updates',
    plannedIn: NOT_FILED,
    class: 'security',
    schedule: (p) => ({ frequency: p.network.firewall.updates.planned, time: '07:30 UTC' }),
  },
  {
    id: 'network.dns.health_check',
    title: 'DNS health check',
    plannedIn: NOT_FILED,
    schedule: (p) => ({ frequency: p.network.dns.health_check }),
  },
  {
    id: 'network.dns.propagation',
    title: 'DNS propagation check',
    plannedIn: NOT_FILED,
    schedule: (p) => ({ frequency: p.network.dns.propagation.check }),
  },
  {
    id: 'network.ssl.renewal',
    title: 'Renew certificates 30 days before expiry',
    plannedIn: NOT_FILED,
    class: 'security',
    schedule: (p) => ({ frequency: 'daily', time: p.network.ssl.validation.time ?? '06:00 UTC' }),
  },
  {
    id: 'network.ssl.validation',
    title: 'Certificate expiry and configuration check',
    plannedIn: NOT_FILED,
    class: 'security',
    schedule: (p) => p.network.ssl.validation,
  },
  {
    id: 'backup.database.full',
    title: 'Full physical PostgreSQL backup',
    plannedIn: 'issue 3',
    schedule: (p) => p.backup.database.full,
  },
  {
    id: 'backup.database.incremental',
    title: 'Page-level incremental PostgreSQL backup',
    plannedIn: 'issue 3',
    schedule: (p) => p.backup.database.incremental,
  },
  {
    id: 'backup.validation.restore_test',
    title: 'Restore the newest backup into a throwaway server and compare',
    plannedIn: 'issue 3',
    schedule: (p) => p.backup.validation.restore_test,
  },
  {
    id: 'backup.validation.integrity_check',
    title: 'Re-read and verify every stored backup file',
    plannedIn: 'issue 3',
    schedule: (p) => p.backup.validation.integrity_check,
  },
  {
    id: 'backup.files.user_uploads',
    title: 'Deduplicated backup of user uploads',
    plannedIn: 'issue 3',
    schedule: (p) => p.backup.files.user_uploads,
  },
  {
    id: 'backup.files.configuration',
    title: 'Versioned backup of configuration files on change',
    plannedIn: 'issue 3',
    schedule: (p) => p.backup.files.configuration,
  },
  {
    id: 'backup.monitoring',
    title: 'Backup success rate and size-change alerts',
    plannedIn: 'issue 3',
    schedule: () => ({ frequency: 'hourly', time: '00:50 UTC' }),
  },
];

export const CATALOG_IDS: readonly string[] = ENTRIES.map((e) => e.id);

export function plannedTasks(): PlannedTask[] {
  return ENTRIES.map((entry) => ({
    id: entry.id,
    title: entry.title,
    implemented: false as const,
    disruptive: entry.disruptive ?? false,
    class: entry.class ?? 'maintenance',
    plannedIn: entry.plannedIn,
    ...(entry.handledBy ? { handledBy: entry.handledBy } : {}),
    schedule: (policy: Policy): Schedule => toSchedule(entry.schedule(policy)),
  }));
}
