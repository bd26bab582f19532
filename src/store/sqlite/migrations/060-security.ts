// Issue 13: vulnerability findings (de-duplicated across scanners and days, with their SLA clock,
// patch, exception and closing run), exceptions recorded from the CLI, and stored compliance reports.
// Never edit once shipped: add 041 instead.
export const sql = `
CREATE TABLE findings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  host TEXT NOT NULL,
  package TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  vuln_id TEXT NOT NULL,
  aliases TEXT NOT NULL,
  installed_version TEXT NOT NULL,
  fixed_version TEXT,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  locations TEXT NOT NULL,
  scanners TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  first_run_id INTEGER,
  last_run_id INTEGER,
  status TEXT NOT NULL,
  due_at INTEGER,
  patch_id INTEGER,
  exception TEXT,
  closed_at INTEGER,
  closed_by_run INTEGER,
  close_reason TEXT,
  pre_breach_alerted_at INTEGER,
  breach_alerted_at INTEGER
);
CREATE INDEX findings_open ON findings (status, host, package);

CREATE TABLE finding_exceptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  finding TEXT NOT NULL,
  package TEXT,
  host TEXT,
  owner TEXT NOT NULL,
  reason TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE compliance_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  month TEXT NOT NULL,
  format TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  run_id INTEGER,
  summary TEXT NOT NULL
);
`;
