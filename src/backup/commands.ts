// What the CLI calls: each function takes the policy and does one thing a person asks for.
//   drydock backup [--full|--incremental]     → backupDatabase
//   drydock backup list                       → listDatabaseBackups
//   drydock backup expire [--dry-run]         → expireBackups
//   drydock backup verify                     → verifyRepository
//   drydock backup restore-test               → testRestore
//   drydock restore [--backup ID | --target-time T] --to DIR   → restoreDatabase
//   drydock --policy FILE wal push %p %f / wal get %f %p   → walPush / walGet (the --repo form: wal/cli.ts)
import type { Policy } from '../policy/schema.js';
import { runPostgresBackup } from './backup-postgres.js';
import { expireRepository, type ExpireResult } from './expire.js';
import { checkIntegrity, type IntegrityReport } from './integrity.js';
import { listBackups, openRepository } from './repository.js';
import { restoreBackup, type RestoreResult } from './restore.js';
import { runRestoreTest, type RestoreTestResult } from './restore-test.js';
import { restoreCommand } from './wal/command-line.js';
import { getWal, pushWal } from './wal-archive.js';
import { dataDirectoryOwner, postgresBackupOptions, repositorySettings, retentionRules } from './settings.js';
import type { BackupKind, BackupRecord } from './types.js';

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
    restoreCommand: restoreCommand(policy),
    owner: options.owner ?? dataDirectoryOwner(policy),
    progress: options.progress ?? true,
  });
}

export function expireBackups(policy: Policy, now: Date = new Date(), dryRun = false): ExpireResult {
  return expireRepository(openRepository(repositorySettings(policy)), now, retentionRules(policy), { dryRun });
}

export function verifyRepository(policy: Policy): IntegrityReport {
  return checkIntegrity(openRepository(repositorySettings(policy)), {
    binDirectory: policy.backup.postgres.bin_directory,
  });
}

export function testRestore(policy: Policy, log?: (line: string) => void): Promise<RestoreTestResult> {
  return runRestoreTest({
    repository: repositorySettings(policy),
    restoreCommand: restoreCommand(policy),
    binDirectory: policy.backup.postgres.bin_directory,
    owner: dataDirectoryOwner(policy),
    log,
  });
}

/** archive_command entry point with a policy: `drydock --policy FILE wal push %p %f`. */
export function walPush(policy: Policy, path: string, name: string): 'stored' | 'duplicate' {
  return pushWal(openRepository(repositorySettings(policy), { create: true }), path, name);
}

/** restore_command entry point with a policy: `drydock --policy FILE wal get %f %p`; false means "not archived" (exit 1). */
export function walGet(policy: Policy, name: string, dest: string): boolean {
  return getWal(openRepository(repositorySettings(policy)), name, dest);
}
