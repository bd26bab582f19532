// Network maintenance (issue 12): declared or detected DNS changes tracked until every resolver of the
// panel serves them, the last SOA serial seen per zone, the approved firewall baseline and firewall
// change records. Never edit a migration that has shipped: add the next number instead.
export const sql = `
CREATE TABLE dns_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  zone TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  value TEXT,
  serial INTEGER,
  source TEXT NOT NULL,
  declared_by TEXT NOT NULL,
  declared_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  percent REAL NOT NULL DEFAULT 0,
  served_by TEXT NOT NULL DEFAULT '[]',
  lagging TEXT NOT NULL DEFAULT '[]',
  expected_done_at INTEGER,
  checked_at INTEGER,
  done_at INTEGER
);
CREATE INDEX dns_changes_by_status ON dns_changes (status, declared_at);
CREATE TABLE dns_zone_serials (
  zone TEXT PRIMARY KEY,
  serial INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
);
CREATE TABLE firewall_baselines (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  backend TEXT NOT NULL,
  rules TEXT NOT NULL,
  raw TEXT NOT NULL,
  approved_by TEXT NOT NULL,
  approved_at INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE firewall_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  ruleset TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  previous TEXT,
  result TEXT,
  applied_at INTEGER,
  finished_at INTEGER
);
`;
