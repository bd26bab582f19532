// backup.validation.integrity_check (daily): re-read and verify every stored object of every kept
// backup and every archived WAL file; the run fails validation naming each damaged or missing file.
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { checkRepository, type IntegrityReport } from '../../backup/pg-integrity.js';
import { openRepository } from '../../backup/repository.js';
import { repositorySettings } from '../../backup/settings.js';

async function execute(ctx: TaskContext): Promise<IntegrityReport> {
  const report = await ctx.step(`verify every object in ${ctx.policy.backup.repository.path}`, async (step) => {
    const r = await checkRepository(openRepository(repositorySettings(ctx.policy)), {
      signal: ctx.signal,
      binDirectory: ctx.policy.backup.postgres.bin_directory,
    });
    step.output(
      `${r.backups} backup(s), ${r.logicalBackups} logical dump(s), ${r.objects} object(s), ${r.walFiles} WAL file(s), ${(r.bytesRead / 1048576).toFixed(1)} MiB read`,
    );
    for (const p of r.problems) step.output(`${p.backup}: ${p.file}: ${p.problem}`);
    return r;
  });
  const r = report!;
  ctx.figure('integrity.problems', { value: r.problems.length, unit: 'files' });
  ctx.figure('integrity.objects', { value: r.objects, unit: 'objects' });
  ctx.figure('integrity.wal_files', { value: r.walFiles, unit: 'files' });
  ctx.figure('integrity.bytes_read', { value: r.bytesRead, unit: 'bytes' });
  ctx.summary(
    r.problems.length === 0
      ? `all ${r.objects} objects of ${r.backups} backup(s) and ${r.walFiles} WAL file(s) verified`
      : `${r.problems.length} damaged or missing file(s)`,
  );
  return r;
}

async function validate(_ctx: TaskContext, r: IntegrityReport): Promise<ValidationResult> {
  const checks = r.problems.length
    ? r.problems.map((p) => ({ name: `${p.backup}: ${p.file}`, ok: false, detail: p.problem }))
    : [{ name: 'every stored object verified', ok: true, detail: `${r.objects} objects, ${r.walFiles} WAL files` }];
  if (r.backups + r.logicalBackups === 0)
    checks.push({ name: 'repository holds a backup', ok: false, detail: 'no backup in the catalog' });
  return { ok: checks.every((c) => c.ok), checks };
}

export const integrityCheckTask: ImplementedTask<IntegrityReport> = {
  id: 'backup.validation.integrity_check',
  title: 'Re-read and verify every stored backup file',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.backup.validation.integrity_check),
  resources: (policy) => [`backup-repo-read:${policy.backup.repository.path}`],
  execute,
  validate,
};
