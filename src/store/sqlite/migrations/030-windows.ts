// Issue 5: maintenance windows with their change records and updates, the notice delivery log,
// status-page notices and component health, API tokens (hashes only), approval decisions and
// security patches with their SLAs. Never edit once shipped: add 031 instead.
export const sql = `
CREATE TABLE windows (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  title TEXT NOT NULL,
  start_at INTEGER NOT NULL,
  end_at INTEGER NOT NULL,
  change TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  outcome TEXT,
  pre_checks TEXT,
  validation TEXT,
  lessons TEXT,
  status_reason TEXT,
  plan_hash TEXT NOT NULL,
  advance_sent_at INTEGER,
  reminder_sent_at INTEGER
);
CREATE INDEX windows_start ON windows (start_at);

CREATE TABLE window_updates (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  window_id INTEGER NOT NULL REFERENCES windows(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  phase TEXT NOT NULL,
  message TEXT NOT NULL,
  author TEXT NOT NULL
);
CREATE INDEX window_updates_window ON window_updates (window_id, at);

CREATE TABLE deliveries (
  message_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  window_id INTEGER,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, channel, recipient)
);
CREATE INDEX deliveries_window ON deliveries (window_id);

CREATE TABLE status_notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  window_id INTEGER
);

CREATE TABLE components (
  name TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  person TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE approvals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subject TEXT NOT NULL,
  person TEXT NOT NULL,
  role TEXT NOT NULL,
  decision TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  comment TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX approvals_subject ON approvals (subject, at);

CREATE TABLE security_patches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ref TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  found_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  decided_by TEXT,
  decided_at INTEGER,
  applied_at INTEGER,
  notify_at INTEGER NOT NULL,
  notified_at INTEGER,
  warned_at INTEGER
);
`;
