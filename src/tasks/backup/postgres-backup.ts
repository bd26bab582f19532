// backup.database.full (daily 01:00 UTC, kept 30 days) and backup.database.incremental (hourly,
// kept 24 hours): a physical backup of the PostgreSQL cluster into the repository, then expire.
// Validation re-reads the catalog entry and checks the chain and its WAL are complete.
// With backup.postgres.method = logical the full backup is a pg_dump instead (see logical.ts).
import { describeError } from '../../errors.js';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { runPostgresBackup } from '../../backup/backup-postgres.js';
import { resolveChain } from '../../backup/chain.js';
import { expireRepository } from '../../backup/pg-expire.js';
import { sizeChangeAlerts } from '../../backup/backup-health.js';
import { listBackups, openRepository } from '../../backup/repository.js';
import { postgresBackupOptions, repositorySettings, retentionRules } from '../../backup/settings.js';
import type { BackupKind, BackupRecord } from '../../backup/types.js';
import { findWal } from '../../backup/wal-archive.js';
import { parseLsn, segmentsBetween } from '../../backup/lsn.js';
import { executeLogical, validateLogical, type LogicalResult } from './logical.js';
import { windowDeadline } from '../../backup/window.js';
import { backupProgressListener } from '../../backup/progress.js';
import type { Policy } from '../../policy/schema.js';

/**
 * database.backup (Database Maintenance) and backup.database.full (Backup & Recovery) describe the
 * same 01:00 UTC backup. When they fall on the same slot there is one backup: backup.database.full
 * takes it, inside this section's window and with the longer of the two retentions, and
 * database.backup has no schedule of its own (it can still be run by hand).
 */
export function foldedIntoFull(policy: Policy): boolean {
  const own = toSchedule({ frequency: policy.database.backup.frequency, time: policy.database.backup.window.start });
  const full = toSchedule(policy.backup.database.full);
  return own.kind === 'cron' && full.kind === 'cron' && own.expression === full.expression;
}

/** The terminal's progress bar when `backup run` runs on one (see progress.ts). */
function progressReporter(): ((done: number, total: number, files: number, totalFiles: number) => void) | undefined {
  const listener = backupProgressListener();
  return listener
    ? (bytes, totalBytes, files, totalFiles) => listener({ bytes, totalBytes, files, totalFiles })
    : undefined;
}

async function executeBackup(ctx: TaskContext, kind: BackupKind): Promise<BackupRecord> {
  // The full backup that database.backup folds into keeps that section's window and retention.
  const folded = kind === 'full' && foldedIntoFull(ctx.policy);
  const section = ctx.policy.database.backup;
  const signals = [ctx.signal];
  if (folded) {
    const deadline = windowDeadline(
      ctx.clock.now(),
      section.window.start.hour,
      section.window.start.minute,
      section.window.duration.ms,
    );
    if (deadline) signals.push(AbortSignal.timeout(Math.max(1, deadline.getTime() - ctx.clock.now().getTime())));
  }
  const retentionMs = folded ? Math.max(section.retention.ms, ctx.policy.backup.database.full.retention.ms) : undefined;
  const record = await ctx.step(`${kind} backup of ${ctx.policy.backup.postgres.data_directory}`, async (step) => {
    const r = await runPostgresBackup(
      postgresBackupOptions(ctx.policy, kind, {
        signal: AbortSignal.any(signals),
        log: (line) => step.output(line),
        retentionMs,
        onProgress: progressReporter(),
      }),
    );
    return r;
  });
  const r = record!;
  ctx.figure('backup.stored_bytes', { value: r.storedSize, unit: 'bytes' });
  ctx.figure('backup.read_bytes', { value: r.readBytes, unit: 'bytes' });
  ctx.figure('backup.data_bytes', { value: r.size, unit: 'bytes' });
  ctx.figure('backup.duration', { value: r.durationMs, unit: 'ms' });
  ctx.figure('backup.changed_files', { value: r.changedFiles, unit: 'files' });
  ctx.summary(
    `${r.kind} backup ${r.id}: ${(r.size / 1048576).toFixed(1)} MiB of data, ${(r.storedSize / 1048576).toFixed(1)} MiB stored, ${(r.durationMs / 1000).toFixed(1)} s${r.parent ? `, parent ${r.parent}` : ''}`,
  );
  if (kind === 'incremental' && r.kind === 'full')
    ctx.summary(`${r.fullReason ?? 'no earlier backup of this cluster'}: a full backup was taken instead`);

  const repo = openRepository(repositorySettings(ctx.policy));
  const limitPercent = ctx.policy.backup.monitoring.alerts.size_change.value;
  for (const alert of sizeChangeAlerts(listBackups(repo), limitPercent).filter((a) => a.id === r.id)) {
    ctx.summary(
      `size alert: ${alert.kind} backup is ${alert.changePercent > 0 ? '+' : ''}${alert.changePercent}% against ${alert.previous}`,
    );
  }
  await ctx.step(
    'expire backups and WAL past retention',
    async (step) => {
      const result = expireRepository(repo, ctx.clock.now(), retentionRules(ctx.policy));
      step.output(
        `removed ${result.removedBackups.length} backup(s) [${result.removedBackups.join(', ')}], ${result.removedPartials.length} interrupted folder(s), ${result.removedWal} WAL file(s)`,
      );
    },
    { continueOnError: true },
  );
  return r;
}

export async function validateBackup(ctx: TaskContext, record: BackupRecord): Promise<ValidationResult> {
  const repo = openRepository(repositorySettings(ctx.policy));
  const records = listBackups(repo);
  const listed = records.some((b) => b.id === record.id);
  let chainDetail: string;
  let chainOk = false;
  try {
    chainOk = resolveChain(records, record.id).length > 0;
    chainDetail = `chain ${record.chain.join(' → ')}`;
  } catch (error) {
    chainDetail = describeError(error);
  }
  const needed = segmentsBetween(
    record.timeline,
    parseLsn(record.startLsn),
    parseLsn(record.stopLsn),
    record.segmentSize,
  );
  const missing = needed.filter((n) => findWal(repo, n).length === 0);
  const checks = [
    {
      name: 'listed in the repository catalog',
      ok: listed,
      detail: listed ? record.id : `${record.id} is not in the catalog`,
    },
    { name: 'chain complete', ok: chainOk, detail: chainDetail },
    {
      name: 'WAL archived',
      ok: missing.length === 0,
      detail: missing.length ? `missing ${missing.join(', ')}` : `${needed.length} segment(s) from ${record.walStart}`,
    },
    {
      name: 'stored something',
      ok: record.storedSize > 0 || record.kind === 'incremental',
      detail: `${record.storedSize} bytes`,
    },
  ];
  if (record.pageChecksums) {
    const bad = record.pageChecksums.corrupt;
    checks.push({
      name: 'PostgreSQL page checksums',
      ok: record.pageChecksums.corruptCount === 0,
      detail:
        record.pageChecksums.corruptCount === 0
          ? 'every data page verified'
          : `${record.pageChecksums.corruptCount} damaged page(s) in the database: ${bad
              .slice(0, 5)
              .map((b) => `${b.path} block ${b.block}`)
              .join(', ')}`,
    });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

export type PostgresBackupResult = BackupRecord | LogicalResult;

const isLogical = (r: PostgresBackupResult): r is LogicalResult => r.kind === 'logical' || r.kind === 'logical-skipped';

function backupTask(kind: BackupKind): ImplementedTask<PostgresBackupResult> {
  return {
    id: `backup.database.${kind}`,
    title: kind === 'full' ? 'Full physical PostgreSQL backup' : 'Page-level incremental PostgreSQL backup',
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: (policy) => toSchedule(policy.backup.database[kind]),
    // One backup at a time per repository (the repository lock enforces it across processes too).
    resources: (policy) => [`backup-repo:${policy.backup.repository.path}`],
    execute: (ctx) =>
      ctx.policy.backup.postgres.method === 'logical' ? executeLogical(ctx, kind) : executeBackup(ctx, kind),
    validate: (ctx, r) => (isLogical(r) ? validateLogical(ctx, r) : validateBackup(ctx, r)),
    recoverInterrupted: async (ctx) => {
      // A kill -9 leaves an unlisted folder and perhaps a stale lock; both are cleared here (the
      // catalog never listed the partial backup, so nothing kept is touched).
      const { removePartials } = await import('../../backup/pg-expire.js');
      const repo = openRepository(repositorySettings(ctx.policy));
      const removed = removePartials(repo);
      return removed.length ? [`removed interrupted backup folder(s): ${removed.join(', ')}`] : [];
    },
  };
}

export const backupFullTask = backupTask('full');
export const backupIncrementalTask = backupTask('incremental');
