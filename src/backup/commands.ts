// What the CLI calls: each function takes the policy and does one thing a person asks for.
//   drydock backup [--full|--incremental]     → backupDatabase
//   drydock backup list                       → listDatabaseBackups
//   drydock backup expire [--dry-run]         → expireBackups
//   drydock backup verify                     → verifyRepository
//   drydock backup restore-test               → testRestore
//   drydock restore [--backup ID | --target-time T] [--wait] --to DIR   → restoreDatabase
//   drydock --policy FILE wal push %p %f / wal get %f %p   → walPush / walGet (the --repo form: wal/cli.ts)
import type { Policy } from '../policy/schema.js';
import { runPostgresBackup } from './backup-postgres.js';
import { expireRepository, type ExpireResult } from './pg-expire.js';
import { checkRepository, type IntegrityReport } from './pg-integrity.js';
import { listBackups, openRepository, readCatalog, REPOSITORY_FILE, type DamagedEntry } from './repository.js';
import { DrydockError } from '../errors.js';
import { restoreBackup, type RestoreResult } from './restore.js';
import { runRestoreTest, type RestoreTestResult } from './scratch-restore.js';
import { waitForRecovery, type RecoveryReport } from './recovery-wait.js';
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

/** Catalog entries that fail their checksum (left out of every list, restore and expire). */
export function damagedCatalogEntries(policy: Policy): DamagedEntry[] {
  return readCatalog(openRepository(repositorySettings(policy))).damaged;
}

export interface RestoreDatabaseResult extends RestoreResult {
  /** With --wait: where recovery of the restored server stopped. */
  recovery?: RecoveryReport;
}

export async function restoreDatabase(
  policy: Policy,
  options: {
    backupId?: string;
    targetTime?: string | Date;
    toEndOfArchive?: boolean;
    to: string;
    progress?: boolean;
    owner?: { uid: number; gid: number };
    /** Start the restored server, wait until recovery reached the target, report, stop it. */
    wait?: boolean;
    /** Extra postgresql.auto.conf settings for the restored server. */
    settings?: Record<string, string>;
  },
): Promise<RestoreDatabaseResult> {
  const owner = options.owner ?? dataDirectoryOwner(policy);
  const binDirectory = policy.backup.postgres.bin_directory;
  const result: RestoreDatabaseResult = await restoreBackup({
    repository: repositorySettings(policy),
    backupId: options.backupId,
    targetTime: options.targetTime,
    toEndOfArchive: options.toEndOfArchive ?? false,
    binDirectory,
    to: options.to,
    restoreCommand: restoreCommand(policy),
    owner,
    progress: options.progress ?? true,
    ...(options.settings ? { settings: options.settings } : {}),
  });
  if (options.wait) {
    result.recovery = await waitForRecovery({
      binDirectory,
      dataDir: options.to,
      owner,
      targetTime: result.targetTime,
      commits: result.wal.newestCommit ? [result.wal.newestCommit] : [],
    });
  }
  return result;
}

export function expireBackups(policy: Policy, now: Date = new Date(), dryRun = false): ExpireResult {
  return expireRepository(openRepository(repositorySettings(policy)), now, retentionRules(policy), { dryRun });
}

export async function verifyRepository(policy: Policy): Promise<IntegrityReport> {
  const t0 = Date.now();
  let repo;
  try {
    repo = openRepository(repositorySettings(policy));
  } catch (error) {
    // A damaged repository file is a finding of verify, named like any other.
    const file = error instanceof DrydockError ? error.details.file : undefined;
    if (typeof file !== 'string') throw error;
    return {
      backups: 0,
      logicalBackups: 0,
      objects: 0,
      walFiles: 0,
      bytesRead: 0,
      problems: [{ backup: 'repository', file: REPOSITORY_FILE, problem: (error as Error).message }],
      durationMs: Date.now() - t0,
    };
  }
  return checkRepository(repo, { binDirectory: policy.backup.postgres.bin_directory });
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
