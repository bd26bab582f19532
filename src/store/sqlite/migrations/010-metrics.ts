// Metrics: one row per series (name + labels), raw points, and 5-minute / 1-hour rollups.
// Never edit a migration that has shipped: add the next number instead.
export const sql = `
CREATE TABLE metric_series (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  labels TEXT NOT NULL,
  retention_ms INTEGER NOT NULL,
  last_at INTEGER,
  last_value REAL,
  UNIQUE (name, labels)
);

CREATE TABLE metric_points (
  series_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series_id, at)
) WITHOUT ROWID;
CREATE INDEX metric_points_at ON metric_points (at);

CREATE TABLE metric_rollups (
  series_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  at INTEGER NOT NULL,
  min REAL NOT NULL,
  max REAL NOT NULL,
  sum REAL NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (series_id, step, at)
) WITHOUT ROWID;
CREATE INDEX metric_rollups_age ON metric_rollups (step, at);

CREATE TABLE metric_rollup_marks (
  step INTEGER PRIMARY KEY,
  done_until INTEGER NOT NULL
);
`;
