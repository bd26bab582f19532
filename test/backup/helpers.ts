// Shared set-up for the backup tests: a cluster archiving into a Drydock repository through the
// real `wal push` command, and the options a backup/restore of it needs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  drydockWalCommand,
  ensureWalBuild,
  makeTempDir,
  PgCluster,
  postgresUser,
  chownTree,
} from '../helpers/pg-cluster.js';
import type { PostgresBackupOptions } from '../../src/backup/backup-postgres.js';
import { openRepository, type RepositorySettings } from '../../src/backup/repository.js';

export interface BackupFixture {
  cluster: PgCluster;
  work: string;
  repoPath: string;
  repository: RepositorySettings;
  backupOptions(kind: 'full' | 'incremental'): PostgresBackupOptions;
  restoreCommand: string;
}

export async function createFixture(
  options: {
    encryptionKey?: string;
    settings?: Record<string, string | number>;
    /** The archive_command for a repository (default: the synchronous `wal push` Drydock prints). */
    archiveCommand?: (repository: string) => string;
  } = {},
): Promise<BackupFixture> {
  const work = makeTempDir('drydock-bk-');
  const repoPath = join(work, 'repo');
  mkdirSync(repoPath);
  chownTree(repoPath);
  const keyArg = options.encryptionKey ? '--key-env DRYDOCK_TEST_KEY' : '';
  const archiveCommand = options.archiveCommand
    ? (ensureWalBuild(), options.archiveCommand(repoPath))
    : `${options.encryptionKey ? `DRYDOCK_TEST_KEY=${options.encryptionKey} ` : ''}${drydockWalCommand(repoPath, 'push', keyArg)}`;
  const repository: RepositorySettings = {
    path: repoPath,
    compression: 'zstd',
    level: 1,
    processes: 2,
    encryptionKey: options.encryptionKey,
  };
  // Created here and handed to the postgres user, who runs archive_command (in production Drydock
  // and PostgreSQL's archive_command run as the same account).
  openRepository(repository, { create: true });
  chownTree(repoPath);
  const cluster = await PgCluster.create({ archiveCommand, settings: options.settings ?? {} });
  const restoreCommand = `${options.encryptionKey ? `DRYDOCK_TEST_KEY=${options.encryptionKey} ` : ''}${drydockWalCommand(repoPath, 'get', keyArg)}`;
  return {
    cluster,
    work,
    repoPath,
    repository,
    restoreCommand,
    backupOptions: (kind) => ({
      kind,
      repository,
      connection: cluster.connection(),
      dataDirectory: cluster.dataDir,
      database: 'postgres',
      verifyTables: ['listings', 'bookings', 'messages'],
      archiveTimeoutMs: 30_000,
    }),
  };
}

export function owner() {
  return postgresUser();
}
