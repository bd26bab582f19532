// Where tokens and sessions live: an async interface so a PostgreSQL store can follow the SQLite one.
// Only hashes are kept: a leaked state file reveals neither tokens nor session ids.
import type { SqliteDatabase } from '../store/sqlite/open.js';

export interface TokenRecord {
  id: string;
  person: string;
  /** SHA-256 of the token's secret part. */
  secretHash: Buffer;
  label: string;
  createdAt: Date;
  /** Who issued it ("setup" for the first admin token). */
  createdBy: string;
  revokedAt: Date | null;
  revokedBy: string | null;
}

export interface SessionRecord {
  idHash: Buffer;
  person: string;
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface AccessStore {
  insertToken(token: Omit<TokenRecord, 'revokedAt' | 'revokedBy'>): Promise<void>;
  token(id: string): Promise<TokenRecord | null>;
  tokens(): Promise<TokenRecord[]>;
  /** Revokes one token by id, or every live token of a person; returns how many. */
  revoke(which: { id: string } | { person: string }, at: Date, by: string): Promise<number>;
  /** Records the one-time setup; false when it was already done (nothing is written then). */
  recordSetup(person: string, tokenId: string, at: Date): Promise<boolean>;
  setup(): Promise<{ person: string; tokenId: string; at: Date } | null>;
  insertSession(session: SessionRecord): Promise<void>;
  session(idHash: Buffer, now: Date): Promise<SessionRecord | null>;
  deleteSession(idHash: Buffer): Promise<void>;
}

interface TokenRow {
  id: string;
  person: string;
  secret_hash: Buffer;
  label: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id,
  person: r.person,
  secretHash: r.secret_hash,
  label: r.label,
  createdAt: new Date(r.created_at),
  createdBy: r.created_by,
  revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  revokedBy: r.revoked_by,
});

export class SqliteAccessStore implements AccessStore {
  constructor(private readonly db: SqliteDatabase) {}

  insertToken(t: Omit<TokenRecord, 'revokedAt' | 'revokedBy'>): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO access_tokens (id, person, secret_hash, label, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(t.id, t.person, t.secretHash, t.label, t.createdAt.getTime(), t.createdBy);
    return Promise.resolve();
  }

  token(id: string): Promise<TokenRecord | null> {
    const row = this.db.prepare('SELECT * FROM access_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return Promise.resolve(row ? toToken(row) : null);
  }

  tokens(): Promise<TokenRecord[]> {
    const rows = this.db.prepare('SELECT * FROM access_tokens ORDER BY created_at, id').all() as TokenRow[];
    return Promise.resolve(rows.map(toToken));
  }

  revoke(which: { id: string } | { person: string }, at: Date, by: string): Promise<number> {
    const [column, value] = 'id' in which ? ['id', which.id] : ['person', which.person];
    let changes = this.db
      .prepare(`UPDATE access_tokens SET revoked_at = ?, revoked_by = ? WHERE ${column} = ? AND revoked_at IS NULL`)
      .run(at.getTime(), by, value).changes;
    // Tokens issued before issue 9 (api_tokens, whole-token hashes) are revoked with the person's.
    if ('person' in which)
      changes += this.db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE person = ? AND revoked_at IS NULL')
        .run(at.getTime(), which.person).changes;
    return Promise.resolve(changes);
  }

  recordSetup(person: string, tokenId: string, at: Date): Promise<boolean> {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO access_setup (id, person, token_id, at) VALUES (1, ?, ?, ?)')
      .run(person, tokenId, at.getTime());
    return Promise.resolve(result.changes === 1);
  }

  setup(): Promise<{ person: string; tokenId: string; at: Date } | null> {
    const row = this.db.prepare('SELECT person, token_id, at FROM access_setup WHERE id = 1').get() as
      { person: string; token_id: string; at: number } | undefined;
    return Promise.resolve(row ? { person: row.person, tokenId: row.token_id, at: new Date(row.at) } : null);
  }

  insertSession(s: SessionRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO access_sessions (id_hash, person, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(s.idHash, s.person, s.csrf, s.createdAt.getTime(), s.expiresAt.getTime());
    return Promise.resolve();
  }

  session(idHash: Buffer, now: Date): Promise<SessionRecord | null> {
    const row = this.db
      .prepare('SELECT * FROM access_sessions WHERE id_hash = ? AND expires_at > ?')
      .get(idHash, now.getTime()) as
      { id_hash: Buffer; person: string; csrf: string; created_at: number; expires_at: number } | undefined;
    return Promise.resolve(
      row
        ? {
            idHash: row.id_hash,
            person: row.person,
            csrf: row.csrf,
            createdAt: new Date(row.created_at),
            expiresAt: new Date(row.expires_at),
          }
        : null,
    );
  }

  deleteSession(idHash: Buffer): Promise<void> {
    this.db.prepare('DELETE FROM access_sessions WHERE id_hash = ?').run(idHash);
    return Promise.resolve();
  }
}
