// The one way Drydock opens a PostgreSQL connection: the password comes from the policy's secret
// reference (never inline), the connect timeout is honoured, and every failure becomes a
// DrydockError that names host and port and says what to do, instead of a bare ECONNREFUSED.
import { setPriority } from 'node:os';
import pg from 'pg';
import { DrydockError } from '../errors.js';
import { resolveSecret } from '../policy/secrets.js';
import type { Policy } from '../policy/schema.js';
import { Duration } from '../policy/values.js';

export type PostgresTarget = Policy['targets']['postgres'];

/** Where and as whom to connect, already resolved (a scratch server, the backup session's settings). */
export type PostgresConnection = pg.ClientConfig;

export interface ConnectOptions {
  /** Database to connect to instead of target.database (e.g. the maintenance database). */
  database?: string;
  /** Shows up in pg_stat_activity, so a DBA can tell Drydock's sessions apart. */
  applicationName?: string;
  /** Overrides target.connect_timeout (a collection round's own budget). */
  connectTimeoutMs?: number;
  /** statement_timeout for the session; default none (VACUUM FULL or a backup may rightly take hours). */
  statementTimeoutMs?: number;
}

/** "127.0.0.1:5432", the way every message names the server. */
export function describeTarget(target: Pick<PostgresTarget, 'host' | 'port'>): string {
  return `${target.host}:${target.port}`;
}

/** Always-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A policy table name ("listings", "public.listings", "Weird-Name") as text for to_regclass:
 * plain names stay unquoted so PostgreSQL folds them to lower case like it does in SQL;
 * anything else is quoted so it can never inject SQL.
 */
function regclassInput(table: string): string {
  return table
    .split('.')
    .map((part) => (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(part) ? part : quoteIdent(part)))
    .join('.');
}

/** Connects to the policy's PostgreSQL target: the password from its secret reference, its connect timeout. */
export async function connectPostgres(target: PostgresTarget, options: ConnectOptions = {}): Promise<pg.Client> {
  const database = options.database ?? target.database;
  const password = resolveSecret(target.password, 'targets.postgres.password');
  return openPostgres(
    {
      host: target.host,
      port: target.port,
      user: target.user,
      database,
      // pg asks for a password only when the server demands one; undefined keeps trust/peer auth working.
      ...(password === undefined ? {} : { password }),
      connectionTimeoutMillis: Math.max(1, options.connectTimeoutMs ?? target.connect_timeout.ms),
    },
    options,
    target,
  );
}

/**
 * The one place a pg.Client is made. Every session gets an application_name, a connect timeout,
 * an optional statement timeout, and an 'error' listener; a failure to connect is a DrydockError
 * naming host and port.
 */
export async function openPostgres(
  connection: PostgresConnection,
  options: Omit<ConnectOptions, 'database'> = {},
  target?: Pick<PostgresTarget, 'connect_timeout'>,
): Promise<pg.Client> {
  const connectTimeoutMs = options.connectTimeoutMs ?? connection.connectionTimeoutMillis ?? 10_000;
  const client = new pg.Client({
    ...connection,
    connectionTimeoutMillis: Math.max(1, connectTimeoutMs),
    application_name: options.applicationName ?? connection.application_name ?? 'drydock',
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
  });
  // Without a listener, a backend terminated while idle (pg_terminate_backend, server restart)
  // emits 'error' and would crash the whole daemon. The next query on the client fails instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(
      error,
      {
        host: connection.host ?? 'localhost',
        port: connection.port ?? 5432,
        user: connection.user ?? 'postgres',
        connect_timeout: target?.connect_timeout ?? new Duration(`${connectTimeoutMs} ms`, connectTimeoutMs),
      },
      connection.database ?? connection.user ?? 'postgres',
    );
  }
  return client;
}

/** Maps what pg throws while connecting to an error a person can act on. Never includes the password. */
function connectionError(
  error: unknown,
  target: Pick<PostgresTarget, 'host' | 'port' | 'user' | 'connect_timeout'>,
  database: string,
): DrydockError {
  const where = describeTarget(target);
  const err = error as { code?: string; message?: string; errors?: { message?: string }[] };
  // Node's happy-eyeballs connect reports an AggregateError with an empty message; use its parts.
  const message =
    err.message ||
    err.errors
      ?.map((e) => e.message)
      .filter(Boolean)
      .join('; ') ||
    err.code ||
    String(error);
  // pg raises its own SASL/password errors (e.g. the server wants a password and none is set) without a code.
  if (err.code === '28P01' || err.code === '28000' || (!err.code && /SASL|password/i.test(message))) {
    return new DrydockError('TARGET_AUTH_FAILED', `PostgreSQL at ${where} refused user "${target.user}": ${message}`, {
      retryable: false,
      cause: error,
      hint: 'check targets.postgres.user and the secret named by targets.postgres.password, and pg_hba.conf on the server',
    });
  }
  if (err.code === '3D000') {
    return new DrydockError('TARGET_UNREACHABLE', `database "${database}" does not exist on PostgreSQL at ${where}`, {
      retryable: false,
      cause: error,
      details: { reason: 'database_missing', database },
      hint: 'create it with `drydock demo seed`, or set targets.postgres.database to an existing database',
    });
  }
  const reason = /timeout expired|connection timeout/i.test(message)
    ? `no answer within ${target.connect_timeout.text}`
    : err.code && !/^\d/.test(err.code) && !message.includes(err.code)
      ? `${err.code}: ${message}`
      : message;
  return new DrydockError('TARGET_UNREACHABLE', `cannot reach PostgreSQL at ${where}: ${reason}`, {
    retryable: true,
    cause: error,
    hint: 'check that PostgreSQL is running and that targets.postgres.host/port point at it',
  });
}

/** The backend pid serving this client (pg keeps it from the BackendKeyData message). */
function backendPid(client: pg.Client): number {
  const pid = (client as unknown as { processID?: number | null }).processID;
  if (typeof pid !== 'number') throw new DrydockError('INTERNAL', 'PostgreSQL connection has no backend pid yet');
  return pid;
}

/**
 * Cancels the statement running on `client` when `signal` aborts, by calling
 * pg_cancel_backend(pid) from a second, short-lived connection (node-postgres has no protocol-level
 * cancel). Returns a function that detaches the listener; call it when the work is done.
 */
export function cancelOnAbort(
  client: pg.Client,
  target: PostgresTarget,
  signal: AbortSignal,
  database?: string,
): () => void {
  const pid = backendPid(client);
  const onAbort = (): void => {
    void cancelBackend(target, pid, database).catch(() => client.end().catch(() => undefined));
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** pg_cancel_backend(pid) from a fresh connection. Resolves to whether a backend was signalled. */
async function cancelBackend(target: PostgresTarget, pid: number, database?: string): Promise<boolean> {
  const side = await connectPostgres(target, { ...(database ? { database } : {}), applicationName: 'drydock:cancel' });
  try {
    const { rows } = await side.query<{ ok: boolean }>('SELECT pg_cancel_backend($1) AS ok', [pid]);
    return rows[0]?.ok ?? false;
  } finally {
    await side.end().catch(() => undefined);
  }
}

/** Ends a client without ever throwing: used in finally blocks, where the connection may already be gone. */
export async function closeQuietly(client: pg.Client | undefined): Promise<void> {
  if (client) await client.end().catch(() => undefined);
}

/** True when a pg error is a lock timeout (SQLSTATE 55P03, lock_not_available). */
export function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '55P03';
}

/** True when a statement was cancelled (57014) or its session terminated (57P01) or the socket died. */
export function isCancelled(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '57014' || code === '57P01';
}

/** Lock modes, weakest first, as pg_locks names them. */
export const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;

/** Modes that conflict with ShareUpdateExclusiveLock: what blocks a plain VACUUM or REINDEX CONCURRENTLY's first step. */
export const BLOCKS_SHARE_UPDATE_EXCLUSIVE = [
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;

/** Another session holding a lock on a table (or one of its indexes). */
export interface LockHolder {
  pid: number;
  modes: string[];
  state: string | null;
  applicationName: string | null;
  xactStart: Date | null;
  queryStart: Date | null;
  /** The first 200 characters of the session's current or last statement. */
  query: string;
}

/**
 * Sessions that hold a granted lock, in one of `modes`, on `relation` or one of its indexes.
 * Called right after a lock timeout, when our own wait is already gone, so pg_blocking_pids() can
 * no longer answer; the granted locks on the relation are the next best evidence.
 */
async function findLockHolders(
  client: pg.Client,
  relation: string,
  modes: readonly string[] = LOCK_MODES,
): Promise<LockHolder[]> {
  const { rows } = await client.query<{
    pid: number;
    modes: string[];
    state: string | null;
    application_name: string | null;
    xact_start: Date | null;
    query_start: Date | null;
    query: string | null;
  }>(
    `SELECT l.pid, array_agg(DISTINCT l.mode ORDER BY l.mode) AS modes, a.state, a.application_name,
            a.xact_start, a.query_start, left(a.query, 200) AS query
       FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation'
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.granted
        AND l.pid <> pg_backend_pid()
        AND l.mode = ANY($2::text[])
        AND (l.relation = $1::regclass OR l.relation IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass))
      GROUP BY l.pid, a.state, a.application_name, a.xact_start, a.query_start, a.query
      ORDER BY a.xact_start NULLS LAST, l.pid`,
    [relation, [...modes]],
  );
  return rows.map((r) => ({
    pid: r.pid,
    modes: r.modes,
    state: r.state,
    applicationName: r.application_name || null,
    xactStart: r.xact_start,
    queryStart: r.query_start,
    query: (r.query ?? '').replace(/\s+/g, ' ').trim(),
  }));
}

/** "pid 4242 (idle in transaction, transaction started 2025-01-05T03:00:01.000Z, holds AccessExclusiveLock): LOCK TABLE listings ..." */
function describeHolder(holder: LockHolder): string {
  const parts = [holder.state ?? 'unknown state'];
  if (holder.applicationName) parts.push(`application "${holder.applicationName}"`);
  if (holder.xactStart) parts.push(`transaction started ${holder.xactStart.toISOString()}`);
  if (holder.queryStart) parts.push(`statement started ${holder.queryStart.toISOString()}`);
  parts.push(`holds ${holder.modes.join(', ')}`);
  return `pid ${holder.pid} (${parts.join(', ')}): ${holder.query || '<no query text>'}`;
}

/**
 * Turns a lock timeout on `relation` into a LOCK_TIMEOUT error that names the table and whoever
 * held the conflicting lock. Looks first for holders of the modes that conflict, then for any holder.
 */
export async function lockTimeoutError(
  client: pg.Client,
  args: {
    table: string;
    relation: string;
    action: string;
    lockTimeout: string;
    conflicting: readonly string[];
    cause: unknown;
  },
): Promise<DrydockError> {
  let holders: LockHolder[] = [];
  try {
    holders = await findLockHolders(client, args.relation, args.conflicting);
    if (holders.length === 0) holders = await findLockHolders(client, args.relation);
  } catch {
    // The connection may be unusable; the error below still names the table.
  }
  const blockers =
    holders.length > 0
      ? holders.map(describeHolder).join('; ')
      : 'no session holds a lock on it any more (the blocker has already finished)';
  return new DrydockError(
    'LOCK_TIMEOUT',
    `${args.action} on table "${args.table}" gave up after waiting ${args.lockTimeout} for a lock; blocked by ${blockers}`,
    {
      retryable: true,
      cause: args.cause,
      hint: 'the other tables were still processed; the blocked one is retried on the next attempt',
      details: {
        table: args.table,
        blockers: holders.map((h) => ({
          pid: h.pid,
          state: h.state,
          modes: h.modes,
          query: h.query,
          xactStart: h.xactStart,
          queryStart: h.queryStart,
        })),
      },
    },
  );
}

/** The table's regclass (quoted and qualified as PostgreSQL prints it), or undefined when it does not exist. */
export async function resolveTable(
  client: pg.Client,
  table: string,
): Promise<{ regclass: string; oid: number } | undefined> {
  const { rows } = await client.query<{ regclass: string | null; oid: number | null }>(
    // Only tables and materialized views: an index or view of that name is not what the policy means.
    `SELECT c.oid::regclass::text AS regclass, c.oid::int8 AS oid
       FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'm')`,
    [regclassInput(table)],
  );
  const row = rows[0];
  if (!row?.regclass) return undefined;
  return { regclass: row.regclass, oid: Number(row.oid) };
}

export function tableMissingError(table: string, database: string, policyPath: string): DrydockError {
  return new DrydockError('TABLE_MISSING', `table "${table}" does not exist in database "${database}"`, {
    retryable: false,
    hint: `fix ${policyPath} in the policy, or create the table (the demo tables come from \`drydock demo seed\`)`,
    details: { table, database },
  });
}

/**
 * Session settings that keep maintenance from starving the application it maintains.
 * - max_parallel_maintenance_workers = 0: by default VACUUM's index pass and CREATE/REINDEX
 *   builds fan out to parallel workers, which on a small server takes every core from the app.
 * - vacuum_cost_delay: a manual VACUUM is not throttled at all (only autovacuum is); this gives it
 *   autovacuum's own 2 ms pause per vacuum_cost_limit of page work, so it yields I/O and CPU.
 * - wal_compression: an index build WAL-logs every page of the new index as a full page image;
 *   compressed (lz4, else pglz) that is ~40% less WAL for the application's commits to wait behind.
 *   Only a superuser may set it, so it is best effort.
 * Only this session is affected; the server's settings are untouched.
 */
export async function applyGentleMaintenance(
  client: pg.Client,
  options: { vacuumCostDelayMs?: number } = {},
): Promise<void> {
  await client.query('SET max_parallel_maintenance_workers = 0');
  await lowerBackendPriority(client);
  for (const method of ['lz4', 'on']) {
    try {
      await client.query(`SET wal_compression = ${method}`);
      break;
    } catch {
      // Not built with lz4, or not a superuser: try the next, or keep the server's setting.
    }
  }
  if (options.vacuumCostDelayMs !== undefined) {
    await client.query(`SET vacuum_cost_delay = ${Math.max(0, options.vacuumCostDelayMs)}`);
  }
}

const LOCAL_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * On the database host, the maintenance backend gets the lowest CPU priority (nice 19), so that on
 * a busy or small machine the application's queries are scheduled first. Best effort: it needs the
 * server on this host and the right to renice its processes (root, or the postgres user); otherwise
 * nothing changes.
 */
export async function lowerBackendPriority(client: pg.Client): Promise<boolean> {
  const host = (client as unknown as { host?: string }).host ?? '';
  if (!LOCAL_HOSTS.has(host) && !host.startsWith('/')) return false;
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    setPriority(rows[0]!.pid, 19);
    return true;
  } catch {
    return false;
  }
}
