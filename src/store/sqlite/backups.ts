// The backup catalog in Drydock's state file: a mirror of the repository's catalog/ folder,
// refreshed after every backup and expire. When the two disagree the repository wins (sync).
import type { SqliteDatabase } from './open.js';
import type { BackupCatalog } from '../../backup/catalog-store.js';
import type { BackupRecord } from '../../backup/types.js';

interface Row {
  record: string;
  removed_at: number | null;
}

export class BackupCatalogStore implements BackupCatalog {
  constructor(private readonly db: SqliteDatabase) {}

  async upsert(repository: string, r: BackupRecord): Promise<void> {
    this.upsertNow(repository, r);
  }

  private upsertNow(repository: string, r: BackupRecord): void {
    this.db
      .prepare(
        `INSERT INTO backups (repository, id, kind, parent, started_at, stopped_at, start_lsn, stop_lsn, timeline, size, stored_size, record, removed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (repository, id) DO UPDATE SET record = excluded.record, stored_size = excluded.stored_size, removed_at = NULL`,
      )
      .run(
        repository,
        r.id,
        r.kind,
        r.parent,
        Date.parse(r.startedAt),
        Date.parse(r.stoppedAt),
        r.startLsn,
        r.stopLsn,
        r.timeline,
        r.size,
        r.storedSize,
        JSON.stringify(r),
      );
  }

  async markRemoved(repository: string, id: string, at: Date): Promise<void> {
    this.markRemovedNow(repository, id, at);
  }

  private markRemovedNow(repository: string, id: string, at: Date): void {
    this.db
      .prepare('UPDATE backups SET removed_at = ? WHERE repository = ? AND id = ? AND removed_at IS NULL')
      .run(at.getTime(), repository, id);
  }

  /** Kept backups, oldest first. */
  async list(repository: string): Promise<BackupRecord[]> {
    return this.listNow(repository);
  }

  private listNow(repository: string): BackupRecord[] {
    const rows = this.db
      .prepare('SELECT record, removed_at FROM backups WHERE repository = ? AND removed_at IS NULL ORDER BY id')
      .all(repository) as Row[];
    return rows.map((row) => JSON.parse(row.record) as BackupRecord);
  }

  /** Makes the mirror equal to the repository's catalog; returns what changed. */
  async sync(
    repository: string,
    records: readonly BackupRecord[],
    at: Date,
  ): Promise<{ added: string[]; removed: string[] }> {
    const known = new Set(this.listNow(repository).map((r) => r.id));
    const present = new Set(records.map((r) => r.id));
    const added: string[] = [];
    const removed: string[] = [];
    const tx = this.db.transaction(() => {
      for (const r of records) {
        if (!known.has(r.id)) added.push(r.id);
        this.upsertNow(repository, r);
      }
      for (const id of known) {
        if (!present.has(id)) {
          removed.push(id);
          this.markRemovedNow(repository, id, at);
        }
      }
    });
    tx();
    return { added, removed };
  }
}
