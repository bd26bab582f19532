// backup.validation.restore_test (weekly): restore the newest chain into a scratch folder, start a
// throwaway PostgreSQL on a free port, compare row counts and content checksums with the figures
// recorded at backup time, amcheck the indexes, stop and delete. The run record keeps the figures.
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { cleanupRestoreTests, runRestoreTest, type RestoreTestResult } from '../../backup/scratch-restore.js';
import { dataDirectoryOwner, repositorySettings } from '../../backup/settings.js';
import { restoreCommand } from '../../backup/wal/command-line.js';

async function execute(ctx: TaskContext): Promise<RestoreTestResult> {
  const result = await ctx.step('restore the newest backup into a throwaway server and compare', async (step) =>
    runRestoreTest({
      repository: repositorySettings(ctx.policy),
      restoreCommand: restoreCommand(ctx.policy),
      binDirectory: ctx.policy.backup.postgres.bin_directory,
      owner: dataDirectoryOwner(ctx.policy),
      log: (line) => step.output(line),
    }),
  );
  const r = result!;
  ctx.figure('restore_test.restore', { value: r.restoreMs, unit: 'ms' });
  ctx.figure('restore_test.recovery', { value: r.recoveryMs, unit: 'ms' });
  ctx.figure('restore_test.bytes', { value: r.restoredBytes, unit: 'bytes' });
  ctx.figure('restore_test.indexes_checked', { value: r.indexesChecked, unit: 'indexes' });
  for (const t of r.measured) {
    const want = r.expected.find((e) => e.table === t.table);
    ctx.figure(`restore_test.${t.table}.rows`, { before: want?.rows, after: t.rows, unit: 'rows' });
  }
  ctx.summary(
    `${r.backup} (chain of ${r.chain.length}) restored in ${(r.restoreMs / 1000).toFixed(1)} s, consistent after ${(r.recoveryMs / 1000).toFixed(1)} s; ${r.measured.length} table(s) compared, ${r.indexesChecked} index(es) checked`,
  );
  return r;
}

async function validate(_ctx: TaskContext, r: RestoreTestResult): Promise<ValidationResult> {
  const checks = [
    { name: 'pg_verifybackup', ok: r.pgVerifybackup === 'backup successfully verified', detail: r.pgVerifybackup },
    { name: 'restored server reached consistency', ok: true, detail: `${r.recoveryMs} ms` },
    ...r.expected.map((want) => {
      if (want.error)
        return {
          name: `table ${want.table}`,
          ok: false,
          detail: `could not be read when the backup was taken: ${want.error}`,
        };
      const got = r.measured.find((m) => m.table === want.table);
      const ok = !!got && got.rows === want.rows && got.checksum === want.checksum;
      return {
        name: `table ${want.table}`,
        ok,
        detail: got ? `${got.rows} rows (recorded ${want.rows}), checksum ${ok ? 'matches' : 'differs'}` : 'missing',
      };
    }),
    ...r.problems.filter((p) => p.startsWith('index ')).map((p) => ({ name: 'amcheck', ok: false, detail: p })),
  ];
  if (r.expected.length === 0)
    checks.push({
      name: 'tables recorded at backup time',
      ok: false,
      detail: 'none of backup.postgres.verify_tables existed when the backup was taken',
    });
  return { ok: checks.every((c) => c.ok), checks };
}

export const restoreTestTask: ImplementedTask<RestoreTestResult> = {
  id: 'backup.validation.restore_test',
  title: 'Restore the newest backup into a throwaway server and compare',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.backup.validation.restore_test),
  resources: (policy) => [`backup-repo-read:${policy.backup.repository.path}`],
  execute,
  validate,
  recoverInterrupted: async (ctx) => cleanupRestoreTests(ctx.policy.backup.postgres.bin_directory),
};
