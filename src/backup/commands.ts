// What the CLI calls: each function takes the policy and does one thing a person asks for.
//   drydock backup [--full|--incremental]     → backupDatabase
//   drydock backup list                       → listDatabaseBackups
//   drydock backup expire [--dry-run]         → expireBackups
//   drydock backup verify                     → verifyRepository
//   drydock backup restore-test               → testRestore
//   drydock restore [--backup ID | --target-time T] --to DIR   → restoreDatabase
//   drydock wal push %p %f / drydock wal get %f %p             → walPush / walGet (wal-archive.ts)
import type { Policy } from '../policy/schema.js';
import { runPostgresBackup } from './backup-postgres.js';
import { expireRepository, type ExpireResult } from './pg-expire.js';
import { checkRepository, type IntegrityReport } from './pg-integrity.js';
import { listBackups, openRepository } from './repository.js';
import { restoreBackup, type RestoreResult } from './restore.js';
import { runRestoreTest, type RestoreTestResult } from './scratch-restore.js';
import { dataDirectoryOwner, postgresBackupOptions, repositorySettings, retentionRules } from './settings.js';
import type { BackupKind, BackupRecord } from './types.js';

export { walGet, walPush } from './wal-archive.js';

export function backupDatabase(
  policy: Policy,
  kind: BackupKind,
  options: {
    log?: (line: string) => void;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<BackupRecord> {
  return runPostgresBackup(postgresBackupOptions(policy, kind, options));
}

export function listDatabaseBackups(policy: Policy): BackupRecord[] {
  return listBackups(openRepository(repositorySettings(policy)));
}

export function restoreDatabase(
  policy: Policy,
  options: {
    backupId?: string;
    targetTime?: string | Date;
    to: string;
    progress?: boolean;
    owner?: { uid: number; gid: number };
  },
): Promise<RestoreResult> {
  return restoreBackup({
    repository: repositorySettings(policy),
    backupId: options.backupId,
    targetTime: options.targetTime,
    to: options.to,
    restoreCommand: policy.backup.postgres.restore_command,
    owner: options.owner ?? dataDirectoryOwner(policy),
    progress: options.progress ?? true,
  });
}

export function expireBackups(policy: Policy, now: Date = new Date(), dryRun = false): ExpireResult {
  return expireRepository(openRepository(repositorySettings(policy)), now, retentionRules(policy), { dryRun });
}

export function verifyRepository(policy: Policy): Promise<IntegrityReport> {
  return checkRepository(openRepository(repositorySettings(policy)), {
    binDirectory: policy.backup.postgres.bin_directory,
  });
}

export function testRestore(policy: Policy, log?: (line: string) => void): Promise<RestoreTestResult> {
  return runRestoreTest({
    repository: repositorySettings(policy),
    restoreCommand: policy.backup.postgres.restore_command,
    binDirectory: policy.backup.postgres.bin_directory,
    owner: dataDirectoryOwner(policy),
    log,
  });
}
