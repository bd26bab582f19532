// Never edit a migration that has shipped: add the next number instead.
export const sql = `
CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  kind TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

CREATE TABLE slots (
  task_id TEXT NOT NULL,
  slot_at INTEGER NOT NULL,
  instance_id TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, slot_at)
);

CREATE TABLE retries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  retry_of INTEGER NOT NULL,
  claimed_by TEXT,
  claimed_at INTEGER
);
CREATE INDEX retries_due ON retries (due_at) WHERE claimed_by IS NULL;

CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  trigger TEXT NOT NULL,
  slot_at INTEGER,
  attempt INTEGER NOT NULL DEFAULT 1,
  status TEXT NOT NULL,
  reason TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  instance_id TEXT NOT NULL,
  summary TEXT NOT NULL DEFAULT '[]',
  figures TEXT NOT NULL DEFAULT '{}',
  validation TEXT,
  error TEXT
);
CREATE INDEX runs_task ON runs (task_id, id);
CREATE INDEX runs_open ON runs (status) WHERE status = 'running';

CREATE TABLE steps (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  output TEXT NOT NULL DEFAULT '',
  error TEXT,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE locks (
  resource TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL,
  task_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  acquired_at INTEGER NOT NULL
);

CREATE TABLE activity (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  task_id TEXT,
  run_id INTEGER,
  actor TEXT,
  message TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_at ON activity (at);
CREATE INDEX activity_task ON activity (task_id, at);
`;
