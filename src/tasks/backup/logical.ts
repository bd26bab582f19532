// backup.postgres.method = logical: for a managed database whose data directory Drydock cannot
// reach, the daily full backup is a pg_dump (custom format) into the same repository, with the same
// retention (backup.database.full.retention) and verification (checksums + pg_restore --list).
// Incrementals do not exist for dumps; the hourly task says so and does nothing.
import type { TaskContext, ValidationResult } from '../../engine/types.js';
import { resolveSecret } from '../../policy/secrets.js';
import {
  backupLogical,
  expireLogicalBackups,
  verifyLogicalBackup,
  type LogicalBackupRecord,
} from '../../backup/logical-dump.js';
import { openRepository } from '../../backup/repository.js';
import { repositorySettings } from '../../backup/settings.js';
import type { BackupKind } from '../../backup/types.js';

export type LogicalResult = LogicalBackupRecord | { kind: 'logical-skipped'; reason: string };

export async function executeLogical(ctx: TaskContext, kind: BackupKind): Promise<LogicalResult> {
  if (kind === 'incremental') {
    const reason =
      'backup.postgres.method is logical: pg_dump has no incrementals; the daily full dump covers this database';
    ctx.summary(reason);
    return { kind: 'logical-skipped', reason };
  }
  const t = ctx.policy.targets.postgres;
  const repo = openRepository(repositorySettings(ctx.policy), { create: true });
  const record = await ctx.step(`pg_dump of ${t.database} at ${t.host}:${t.port}`, async (step) => {
    const r = await backupLogical(
      repo,
      {
        host: t.host,
        port: t.port,
        user: t.user,
        database: t.database,
        password: resolveSecret(t.password, 'targets.postgres.password'),
        binDirectory: ctx.policy.backup.postgres.bin_directory,
      },
      ctx.clock.now(),
    );
    step.output(
      `${r.id}: ${r.dumpBytes} bytes dumped, ${r.storedBytes} stored, ${r.tocEntries} table-of-contents entries`,
    );
    return r;
  });
  const r = record!;
  ctx.figure('backup.stored_bytes', { value: r.storedBytes, unit: 'bytes' });
  ctx.figure('backup.dump_bytes', { value: r.dumpBytes, unit: 'bytes' });
  ctx.figure('backup.duration', { value: r.durationMs, unit: 'ms' });
  ctx.summary(`logical backup ${r.id} of ${r.database}: ${(r.storedBytes / 1048576).toFixed(1)} MiB stored`);
  await ctx.step(
    'expire logical backups past retention',
    async (step) => {
      const removed = expireLogicalBackups(repo, ctx.clock.now(), ctx.policy.backup.database.full.retention.ms);
      step.output(removed.length ? `removed ${removed.join(', ')}` : 'nothing past retention');
    },
    { continueOnError: true },
  );
  return r;
}

export async function validateLogical(ctx: TaskContext, r: LogicalResult): Promise<ValidationResult> {
  if (r.kind === 'logical-skipped')
    return { ok: true, checks: [{ name: 'nothing to do', ok: true, detail: r.reason }] };
  const v = await verifyLogicalBackup(
    openRepository(repositorySettings(ctx.policy)),
    r,
    ctx.policy.backup.postgres.bin_directory,
  );
  return {
    ok: v.ok,
    checks: [
      {
        name: 'dump readable by pg_restore, checksums match',
        ok: v.ok,
        detail: v.ok ? `${v.tocEntries} entries` : v.problem!,
      },
    ],
  };
}
