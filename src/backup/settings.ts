// Policy → backup settings. Kept apart so every entry point reads the policy the same way.
import { resolveSecret } from '../policy/secrets.js';
import type { Policy } from '../policy/schema.js';
import type { RepositorySettings } from './repository.js';

export function repositorySettings(policy: Policy): RepositorySettings {
  const r = policy.backup.repository;
  return {
    path: r.path,
    compression: r.compression,
    level: r.level,
    processes: r.processes,
    encryptionKey: resolveSecret(r.encryption_key, 'backup.repository.encryption_key'),
  };
}

import { statSync } from 'node:fs';
import type pg from 'pg';
import type { PostgresBackupOptions } from './backup-postgres.js';
import type { RetentionRules } from './retention.js';
import { archiveCommand } from './wal/command-line.js';

/** The connection a physical backup uses: the policy's PostgreSQL target (a superuser or a role with pg_backup_start rights). */
export function backupConnection(policy: Policy): pg.ClientConfig {
  const t = policy.targets.postgres;
  const password = resolveSecret(t.password, 'targets.postgres.password');
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    database: t.database,
    ...(password === undefined ? {} : { password }),
    connectionTimeoutMillis: Math.max(1, t.connect_timeout.ms),
  };
}

export function postgresBackupOptions(
  policy: Policy,
  kind: 'full' | 'incremental',
  extra: Partial<PostgresBackupOptions> = {},
): PostgresBackupOptions {
  return {
    kind,
    repository: repositorySettings(policy),
    connection: backupConnection(policy),
    dataDirectory: policy.backup.postgres.data_directory,
    database: policy.targets.postgres.database,
    verifyTables: policy.backup.postgres.verify_tables,
    archiveTimeoutMs: policy.backup.postgres.archive_timeout.ms,
    archiveCommand: archiveCommand(policy),
    ...extra,
  };
}

export function retentionRules(policy: Policy): RetentionRules {
  return {
    fullMs: policy.backup.database.full.retention.ms,
    incrementalMs: policy.backup.database.incremental.retention.ms,
  };
}

/** Restored files belong to whoever owns the production data directory (PostgreSQL refuses root). */
export function dataDirectoryOwner(policy: Policy): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const st = statSync(policy.backup.postgres.data_directory);
    return st.uid === 0 ? undefined : { uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}
