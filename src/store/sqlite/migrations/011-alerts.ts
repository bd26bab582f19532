// Alerts: current state per rule and series, the history of every transition and notification,
// and silences (maintenance runs and windows).
// Never edit a migration that has shipped: add the next number instead.
export const sql = `
CREATE TABLE alert_states (
  rule TEXT NOT NULL,
  key TEXT NOT NULL,
  labels TEXT NOT NULL,
  component TEXT NOT NULL,
  status TEXT NOT NULL,
  since INTEGER,
  fired_at INTEGER,
  last_sent_at INTEGER,
  notified INTEGER NOT NULL DEFAULT 0,
  value REAL,
  message TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (rule, key)
);

CREATE TABLE alert_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rule TEXT NOT NULL,
  key TEXT NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  from_status TEXT,
  to_status TEXT,
  value REAL,
  message TEXT NOT NULL
);
CREATE INDEX alert_history_rule ON alert_history (rule, key, id);
CREATE INDEX alert_history_at ON alert_history (at);

CREATE TABLE alert_silences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  component TEXT NOT NULL,
  reason TEXT NOT NULL,
  run_id INTEGER,
  starts_at INTEGER NOT NULL,
  ends_at INTEGER,
  lifted_at INTEGER
);
CREATE INDEX alert_silences_open ON alert_silences (component) WHERE lifted_at IS NULL;
`;
