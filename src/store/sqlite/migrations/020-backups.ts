// Backup catalog mirror (issue 3). The repository's own catalog/ folder is the source of truth;
// this table lets the dashboard and the API list backups without opening the repository.
// Never edit a migration that has shipped: add the next number instead.
export const sql = `
CREATE TABLE backups (
  repository TEXT NOT NULL,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  parent TEXT,
  started_at INTEGER NOT NULL,
  stopped_at INTEGER NOT NULL,
  start_lsn TEXT NOT NULL,
  stop_lsn TEXT NOT NULL,
  timeline INTEGER NOT NULL,
  size INTEGER NOT NULL,
  stored_size INTEGER NOT NULL,
  record TEXT NOT NULL,
  removed_at INTEGER,
  PRIMARY KEY (repository, id)
);
CREATE INDEX backups_by_time ON backups (repository, stopped_at);
`;
