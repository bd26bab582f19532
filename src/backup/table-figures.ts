// Row counts and content checksums of tables, taken when a backup is made and again on the
// restored copy by the restore test. The checksum sums 60-bit slices of md5(row text) as numeric,
// so it does not depend on row order (a restored heap may be laid out the same, but nothing
// guarantees scan order) and cannot overflow.
import type pg from 'pg';
import type { TableFigure } from './types.js';

export async function tableFigures(client: pg.Client, tables: string[]): Promise<TableFigure[]> {
  const present = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND c.relname = ANY($1::text[]) ORDER BY 1`,
    [tables],
  );
  const figures: TableFigure[] = [];
  for (const { name } of present.rows) {
    const ident = `"${name.replace(/"/g, '""')}"`;
    try {
      const r = await client.query<{ rows: string; checksum: string | null }>(
        `SELECT count(*)::text AS rows, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)::text AS checksum FROM ${ident} t`,
      );
      figures.push({ table: name, rows: Number(r.rows[0]!.rows), checksum: r.rows[0]!.checksum ?? '0' });
    } catch (error) {
      // A table that cannot be read (a damaged page) must not stop the backup; it is reported.
      figures.push({ table: name, rows: -1, checksum: '', error: (error as Error).message });
    }
  }
  return figures;
}

/** Differences between recorded and measured figures, one line per table; empty when they match. */
export function compareFigures(recorded: TableFigure[], measured: TableFigure[]): string[] {
  const byName = new Map(measured.map((f) => [f.table, f]));
  const problems: string[] = [];
  for (const want of recorded) {
    if (want.error) continue; // unreadable at backup time: nothing to compare against
    const got = byName.get(want.table);
    if (!got) problems.push(`${want.table}: missing in the restored database`);
    else if (got.rows !== want.rows) problems.push(`${want.table}: ${got.rows} rows, expected ${want.rows}`);
    else if (got.checksum !== want.checksum) problems.push(`${want.table}: content checksum differs`);
  }
  return problems;
}
