// The backup catalog as Drydock's state keeps it (a mirror of the repository's catalog/ folder).
// An async interface so a PostgreSQL state store can implement it; the SQLite one is in
// store/sqlite/backups.ts and the composition root (app.ts) builds it.
import type { BackupRecord } from './types.js';

export interface BackupCatalog {
  upsert(repository: string, record: BackupRecord): Promise<void>;
  markRemoved(repository: string, id: string, at: Date): Promise<void>;
  /** Kept backups, oldest first. */
  list(repository: string): Promise<BackupRecord[]>;
  /** Makes the mirror equal to the repository's catalog; returns what changed. */
  sync(repository: string, records: readonly BackupRecord[], at: Date): Promise<{ added: string[]; removed: string[] }>;
}
