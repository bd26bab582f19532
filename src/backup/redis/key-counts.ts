// The restore test's verdict on key counts, kept pure. What the backup recorded is INFO keyspace just
// before and just after the transfer; the snapshot was taken in between. A restored database passes
// when its key count lies between the lower of the two counts less the keys that had a TTL (those may
// have expired since, and redis-server drops expired keys when it loads an RDB) and the higher one.
// On a server that did not change during the backup and holds no keys with a TTL this is exact.
import type { Keyspace } from './rdb-store.js';

export interface DbComparison {
  db: string;
  restored: number;
  /** The accepted range. */
  min: number;
  max: number;
  ok: boolean;
}

export function compareKeyCounts(before: Keyspace, after: Keyspace, restored: Keyspace): DbComparison[] {
  const dbs = [...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(restored)])].sort(
    (a, b) => Number(a) - Number(b),
  );
  return dbs.map((db) => {
    const b = before[db] ?? { keys: 0, expires: 0 };
    const a = after[db] ?? { keys: 0, expires: 0 };
    const got = restored[db]?.keys ?? 0;
    const min = Math.max(0, Math.min(b.keys, a.keys) - Math.max(b.expires, a.expires));
    const max = Math.max(b.keys, a.keys);
    return { db, restored: got, min, max, ok: got >= min && got <= max };
  });
}

export function describeComparison(c: DbComparison): string {
  const expected = c.min === c.max ? `${c.max}` : `${c.min}-${c.max}`;
  return `db${c.db}: ${c.restored} key(s) restored, expected ${expected}`;
}
