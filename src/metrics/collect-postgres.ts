// PostgreSQL metrics for one collection round.
import { connectPostgres, describeTarget, type PostgresTarget } from '../adapters/postgres.js';
import { DrydockError } from '../errors.js';
import type { MetricValue } from './types.js';

export function postgresTargetName(target: Pick<PostgresTarget, 'host' | 'port' | 'database'>): string {
  return `${describeTarget(target)}/${target.database}`;
}

/** At most this many tables get a dead-tuple series (the ones with the most dead tuples). */
const MAX_TABLES = 50;

export async function collectPostgres(target: PostgresTarget, timeoutMs: number): Promise<MetricValue[]> {
  const name = postgresTargetName(target);
  const client = await connectPostgres(target, { applicationName: 'drydock-metrics', connectTimeoutMs: timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const work = (async () => {
    await client.query(`SET statement_timeout = ${Math.max(1, timeoutMs)}`);
    const labels = { target: name };
    const out: MetricValue[] = [];
    const conns = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity');
    out.push({ name: 'pg_connections', labels, value: Number(conns.rows[0]!.n) });
    const size = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
    out.push({ name: 'pg_database_size_bytes', labels, value: Number(size.rows[0]!.bytes) });
    const dead = await client.query<{ schemaname: string; relname: string; n: string }>(
      `SELECT schemaname, relname, n_dead_tup AS n FROM pg_stat_user_tables ORDER BY n_dead_tup DESC, relname LIMIT ${MAX_TABLES}`,
    );
    for (const r of dead.rows)
      out.push({
        name: 'pg_dead_tuples',
        labels: { target: name, table: `${r.schemaname}.${r.relname}` },
        value: Number(r.n),
      });
    const longest = await client.query<{ s: string | null }>(
      'SELECT extract(epoch FROM max(now() - xact_start)) AS s FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()',
    );
    out.push({ name: 'pg_longest_transaction_seconds', labels, value: Math.max(0, Number(longest.rows[0]?.s ?? 0)) });
    const replicas = await client.query<{ name: string; lag: string | null }>(
      "SELECT coalesce(nullif(application_name, ''), client_addr::text, pid::text) AS name, extract(epoch FROM replay_lag) AS lag FROM pg_stat_replication",
    );
    for (const r of replicas.rows)
      out.push({
        name: 'pg_replication_lag_seconds',
        labels: { target: name, replica: r.name },
        value: Number(r.lag ?? 0),
      });
    return out;
  })();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DrydockError(
            'TARGET_UNREACHABLE',
            `PostgreSQL at ${describeTarget(target)} did not answer within ${timeoutMs} ms`,
            { retryable: true },
          ),
        ),
      timeoutMs + 500,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
    await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
}
