// Issue 14: dependency updates as change records (npm packages, Debian packages, base images):
// what would change, its class (patch, minor, major, security, digest), its status, the branch it
// was tested on, why it stopped, and its plan hash (approvals in `approvals` bind to it, subject
// "dependency:<id>"). Never edit once shipped: add 041 instead.
export const sql = `
CREATE TABLE dependency_updates (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ecosystem TEXT NOT NULL,
  target TEXT NOT NULL,
  package TEXT NOT NULL,
  from_version TEXT NOT NULL,
  to_version TEXT NOT NULL,
  update_type TEXT NOT NULL,
  status TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  branch TEXT,
  reason TEXT,
  detail TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  not_before INTEGER
);
CREATE UNIQUE INDEX dependency_updates_key ON dependency_updates (ecosystem, target, package, to_version);
CREATE INDEX dependency_updates_status ON dependency_updates (status);
`;
