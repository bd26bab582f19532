// Issue 9: access. Issued tokens (`ddk_<id>_<secret>`: only a SHA-256 of the secret is kept, looked up
// by id), the one-time setup record of the first admin token, browser sessions (hashes only), who
// reported a security patch (so they cannot approve it), and the public title/description of a
// window, distinct from its internal change record. Never edit once shipped: add 041 instead.
export const sql = `
CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  person TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at INTEGER,
  revoked_by TEXT
);
CREATE INDEX access_tokens_person ON access_tokens (person);

CREATE TABLE access_setup (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  person TEXT NOT NULL,
  token_id TEXT NOT NULL,
  at INTEGER NOT NULL
);

CREATE TABLE access_sessions (
  id_hash BLOB PRIMARY KEY,
  person TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

ALTER TABLE security_patches ADD COLUMN reported_by TEXT NOT NULL DEFAULT '';
ALTER TABLE windows ADD COLUMN public_title TEXT;
ALTER TABLE windows ADD COLUMN public_description TEXT;
`;
