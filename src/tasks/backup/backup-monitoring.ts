// backup.monitoring (hourly): success rate of backup attempts over the policy's window (30 days)
// against its threshold (99.9%), and size changes above the limit (20%) between consecutive
// backups of the same kind. Both come from the repository alone (catalog + history.jsonl).
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { readAttempts } from '../../backup/history.js';
import { sizeChangeAlerts, successRate, type SizeChange, type SuccessRate } from '../../backup/backup-health.js';
import { listBackups, openRepository } from '../../backup/repository.js';
import { repositorySettings } from '../../backup/settings.js';
import { Frequency, TimeOfDay } from '../../policy/values.js';

export interface BackupMonitoringResult {
  rate: SuccessRate;
  threshold: number;
  sizeAlerts: SizeChange[];
}

async function execute(ctx: TaskContext): Promise<BackupMonitoringResult> {
  const m = ctx.policy.backup.monitoring;
  const repo = openRepository(repositorySettings(ctx.policy), { create: true });
  const threshold = m.success_rate.threshold.percent;
  const rate = successRate(readAttempts(repo), ctx.clock.now(), m.success_rate.window.ms, threshold);
  const sizeAlerts = sizeChangeAlerts(listBackups(repo), m.alerts.size_change.value);
  ctx.figure('backup.success_rate', { value: rate.rate ?? 100, unit: '%' });
  ctx.figure('backup.failed_attempts', { value: rate.failed, unit: 'attempts' });
  ctx.summary(
    rate.rate === null
      ? 'no backup attempts in the window'
      : `success rate ${rate.rate.toFixed(2)}% over ${rate.attempts} attempt(s) (threshold ${threshold}%)`,
  );
  for (const a of sizeAlerts)
    ctx.summary(
      `${a.kind} backup ${a.id} is ${a.changePercent > 0 ? '+' : ''}${a.changePercent}% against ${a.previous}`,
    );
  return { rate, threshold, sizeAlerts };
}

async function validate(_ctx: TaskContext, r: BackupMonitoringResult): Promise<ValidationResult> {
  const checks = [
    {
      name: 'success rate',
      ok: r.rate.ok,
      detail:
        r.rate.rate === null
          ? 'no attempts'
          : `${r.rate.rate.toFixed(3)}% (${r.rate.failed} failed of ${r.rate.attempts}), threshold ${r.threshold}%`,
    },
    ...r.sizeAlerts.map((a) => ({
      name: `size change ${a.id}`,
      ok: false,
      detail: `${a.changePercent}% against ${a.previous} (${a.previousSize} → ${a.size} bytes)`,
    })),
  ];
  return { ok: checks.every((c) => c.ok), checks };
}

export const backupMonitoringTask: ImplementedTask<BackupMonitoringResult> = {
  id: 'backup.monitoring',
  title: 'Backup success rate and size-change alerts',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: () => toSchedule({ frequency: Frequency.named('hourly'), time: TimeOfDay.at(0, 50) }),
  resources: () => [],
  execute,
  validate,
};
