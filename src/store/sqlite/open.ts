import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations, type Migration } from './migrations/index.js';

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the state file in WAL mode and applies pending migrations inside one
 * immediate transaction, so two processes opening the same new file do not both migrate.
 */
export function openSqlite(path: string, list: readonly Migration[] = migrations): SqliteDatabase {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
    // The state file holds the activity log and token hashes: readable by Drydock's user only.
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  if (path !== ':memory:') restrictStateFiles(path);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Two daemons on one file: wait for the other's write instead of failing at once.
  db.pragma('busy_timeout = 10000');
  migrate(db, list);
  return db;
}

/** chmod 0600 the state file and its -wal/-shm companions (SQLite creates them with the umask's mode). */
export function restrictStateFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      // Missing (no WAL yet) or owned by another user (who then keeps it private): nothing to do here.
      if (!['ENOENT', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
}

function migrate(db: SqliteDatabase, list: readonly Migration[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const apply = db.transaction(() => {
    const done = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
    );
    for (const migration of [...list].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }
  });
  apply.immediate();
}
