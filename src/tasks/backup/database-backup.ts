// database.backup — the "Database Maintenance" backup of the spec: daily, of the policy's type
// (incremental by default, full when no parent exists), inside the 01:00 UTC two-hour window, kept
// 30 days. It is the same physical backup as backup.database.*; the window is a hard deadline for a
// run that started inside it, and the retention is recorded on each backup it takes.
import type { ImplementedTask, TaskContext } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { runPostgresBackup } from '../../backup/backup-postgres.js';
import { postgresBackupOptions } from '../../backup/settings.js';
import type { BackupRecord } from '../../backup/types.js';
import { windowDeadline } from '../../backup/window.js';
import { DrydockError } from '../../errors.js';
import { backupIncrementalTask, foldedIntoFull, validateBackup } from './postgres-backup.js';

async function execute(ctx: TaskContext): Promise<BackupRecord> {
  const settings = ctx.policy.database.backup;
  const start = settings.window.start;
  const deadline = windowDeadline(ctx.clock.now(), start.hour, start.minute, settings.window.duration.ms);
  const signals = [ctx.signal];
  if (deadline) {
    const left = deadline.getTime() - ctx.clock.now().getTime();
    signals.push(AbortSignal.timeout(Math.max(1, left)));
    ctx.summary(`window ends ${deadline.toISOString()}`);
  }
  const signal = AbortSignal.any(signals);
  const record = await ctx.step(`${settings.type} backup inside the maintenance window`, async (step) => {
    try {
      return await runPostgresBackup(
        postgresBackupOptions(ctx.policy, settings.type, {
          signal,
          log: (l) => step.output(l),
          retentionMs: settings.retention.ms,
        }),
      );
    } catch (error) {
      if (signal.aborted && !ctx.signal.aborted)
        throw new DrydockError(
          'ABORTED',
          `the backup did not finish inside its window (ends ${deadline?.toISOString()})`,
          { hint: 'the partial backup was removed; widen database.backup.window.duration or use more processes' },
        );
      throw error;
    }
  });
  const r = record!;
  ctx.figure('backup.stored_bytes', { value: r.storedSize, unit: 'bytes' });
  ctx.figure('backup.duration', { value: r.durationMs, unit: 'ms' });
  ctx.summary(
    `${r.kind} backup ${r.id}: ${(r.storedSize / 1048576).toFixed(1)} MiB stored in ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  return r;
}

export const databaseBackupTask: ImplementedTask<BackupRecord> = {
  id: 'database.backup',
  title: 'Daily database backup inside the 01:00 UTC two-hour window',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) =>
    foldedIntoFull(policy)
      ? { kind: 'manual', text: 'taken by backup.database.full (one backup per slot)' }
      : toSchedule({ frequency: policy.database.backup.frequency, time: policy.database.backup.window.start }),
  resources: (policy) => [`backup-repo:${policy.backup.repository.path}`],
  execute,
  validate: (ctx, r) => validateBackup(ctx, r),
  recoverInterrupted: (ctx) => backupIncrementalTask.recoverInterrupted!(ctx),
};
