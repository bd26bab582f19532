// database.index_rebuild: REINDEX INDEX CONCURRENTLY, index by index, high-priority tables first.
//
// A concurrent rebuild builds a copy named <index>_ccnew next to the original and swaps them at the
// end (the original becomes <index>_ccold and is dropped). If it is cancelled, times out on a lock
// or its session dies half-way, the copy stays behind as an INVALID index: it is never used for
// reads but every write still maintains it. So this task (1) drops such leftovers before anything
// else, (2) drops the one it just left whenever a rebuild fails, and (3) offers recoverInterrupted
// for the engine to call after a crash.
import type pg from 'pg';
import {
  LOCK_MODES,
  applyGentleMaintenance,
  cancelOnAbort,
  closeQuietly,
  connectPostgres,
  describeTarget,
  isCancelled,
  isLockTimeout,
  lockTimeoutError,
  resolveTable,
  tableMissingError,
} from '../../adapters/postgres.js';
import { DrydockError, describeError } from '../../errors.js';
import type {
  ImplementedTask,
  StepHandle,
  TaskContext,
  ValidationCheck,
  ValidationResult,
} from '../../engine/types.js';
import type { Policy } from '../../policy/schema.js';
import { toSchedule } from '../../schedule/frequency.js';
import { formatBytes } from './vacuum.js';
import { indexBloat } from './index-bloat.js';

export type TablePriority = 'high_priority' | 'normal';

export interface IndexOutcome {
  index: string;
  beforeBytes: number;
  afterBytes?: number;
  /** Estimated bloat before the run, 0-1 (null: no estimate, rebuilt anyway). */
  bloat: number | null;
  /** False when the index was compact enough to keep (under database.index_rebuild.min_bloat). */
  rebuilt: boolean;
  ok: boolean;
  error?: string;
}

export interface IndexTableOutcome {
  table: string;
  priority: TablePriority;
  ok: boolean;
  error?: string;
  errorCode?: string;
  /** pg_indexes_size of the table, all its indexes together. */
  beforeBytes?: number;
  afterBytes?: number;
  indexes: IndexOutcome[];
}

export interface LeftoverCleanup {
  dropped: string[];
  /** Leftovers that could not be dropped now (e.g. their table was locked), with the reason. */
  kept: string[];
}

export interface IndexRebuildResult {
  database: string;
  concurrent: boolean;
  leftovers: LeftoverCleanup;
  tables: IndexTableOutcome[];
}

type RebuildPolicy = Policy['database']['index_rebuild'];

/** Names REINDEX CONCURRENTLY gives its temporary indexes: foo_ccnew, foo_ccold, foo_ccnew1, ... */
const LEFTOVER_NAME = '_cc(new|old)[0-9]*$';

export const indexRebuildTask: ImplementedTask<IndexRebuildResult> = {
  id: 'database.index_rebuild',
  title: 'Rebuild database indexes',
  implemented: true,
  // A plain REINDEX blocks writes to the table: only inside a maintenance window.
  disruptive: (policy) => !policy.database.index_rebuild.concurrent,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.database.index_rebuild),
  resources: (policy) =>
    orderedTables(policy.database.index_rebuild).map(({ table }) => `pg:${policy.targets.postgres.database}.${table}`),
  execute: executeRebuild,
  validate: validateRebuild,
  recoverInterrupted,
};

/** High-priority tables first, then normal ones; a table listed twice is rebuilt once, at its first place. */
function orderedTables(settings: RebuildPolicy): { table: string; priority: TablePriority }[] {
  const seen = new Set<string>();
  const out: { table: string; priority: TablePriority }[] = [];
  for (const priority of ['high_priority', 'normal'] as const) {
    for (const table of settings.tables[priority]) {
      if (seen.has(table)) continue;
      seen.add(table);
      out.push({ table, priority });
    }
  }
  return out;
}

/** One connection with the policy's lock timeout, reopened if PostgreSQL kills it mid-run. */
interface Session {
  client: pg.Client;
  broken: boolean;
  detach: () => void;
}

async function openSession(ctx: TaskContext, suffix = ''): Promise<Session> {
  const target = ctx.policy.targets.postgres;
  const client = await connectPostgres(target, { applicationName: `drydock:${indexRebuildTask.id}${suffix}` });
  // At least 1 ms: lock_timeout = 0 would mean "wait forever".
  await client.query(`SET lock_timeout = ${Math.max(1, ctx.policy.database.index_rebuild.lock_timeout.ms)}`);
  await applyGentleMaintenance(client);
  const session: Session = { client, broken: false, detach: () => undefined };
  client.on('end', () => {
    session.broken = true;
  });
  session.detach = cancelOnAbort(client, target, ctx.signal);
  return session;
}

async function closeSession(session: Session | undefined): Promise<void> {
  if (!session) return;
  session.detach();
  await closeQuietly(session.client);
}

async function executeRebuild(ctx: TaskContext): Promise<IndexRebuildResult> {
  const target = ctx.policy.targets.postgres;
  const settings = ctx.policy.database.index_rebuild;
  const result: IndexRebuildResult = {
    database: target.database,
    concurrent: settings.concurrent,
    leftovers: { dropped: [], kept: [] },
    tables: [],
  };
  let session = await ctx.step(`connect to ${describeTarget(target)}/${target.database}`, async (step) => {
    const s = await openSession(ctx);
    step.output(
      `connected; lock_timeout ${settings.lock_timeout.text}, ${settings.concurrent ? 'concurrent' : 'blocking (concurrent: false)'} rebuilds, no parallel workers`,
    );
    return s;
  });
  if (!session) throw new DrydockError('INTERNAL', 'connect step returned nothing');
  try {
    const tables = orderedTables(settings);
    await ctx.step(
      'drop indexes left by interrupted concurrent rebuilds',
      async (step) => {
        const live = session!;
        const cleanup = await dropLeftovers(
          live.client,
          tables.map((t) => t.table),
        );
        result.leftovers = cleanup;
        for (const line of describeCleanup(cleanup)) step.output(line);
      },
      { continueOnError: true },
    );
    if (result.leftovers.dropped.length > 0) {
      ctx.summary(
        `dropped ${result.leftovers.dropped.length} invalid index(es) left by an interrupted REINDEX CONCURRENTLY: ${result.leftovers.dropped.join(', ')}`,
      );
    }
    if (result.leftovers.kept.length > 0) ctx.summary(`could not drop yet: ${result.leftovers.kept.join('; ')}`);

    for (const { table, priority } of tables) {
      if (ctx.signal.aborted)
        throw new DrydockError('ABORTED', `index rebuild stopped before table "${table}": the run was cancelled`, {
          retryable: true,
        });
      if (session.broken) {
        await closeSession(session);
        session = await openSession(ctx);
      }
      const outcome: IndexTableOutcome = { table, priority, ok: false, indexes: [] };
      result.tables.push(outcome);
      const live = session;
      await ctx.step(
        `reindex ${table} (${priority === 'high_priority' ? 'high priority' : 'normal'})`,
        async (step) => {
          try {
            await rebuildTable(ctx, live, outcome, step);
            outcome.ok = true;
          } catch (error) {
            outcome.error = describeError(error);
            if (error instanceof DrydockError) outcome.errorCode = error.code;
            throw error;
          }
        },
        { continueOnError: true },
      );
    }
  } finally {
    await closeSession(session);
  }
  summarise(ctx, result);
  return result;
}

async function rebuildTable(
  ctx: TaskContext,
  session: Session,
  outcome: IndexTableOutcome,
  step: StepHandle,
): Promise<void> {
  const settings = ctx.policy.database.index_rebuild;
  const { client } = session;
  const resolved = await resolveTable(client, outcome.table);
  if (!resolved)
    throw tableMissingError(outcome.table, ctx.policy.targets.postgres.database, 'database.index_rebuild.tables');
  let indexes: IndexInfo[];
  let bloat: Map<string, number | null>;
  try {
    // Sizes come from opening the relations, which takes a lock: a locked table times out here already.
    indexes = await listIndexes(client, resolved.regclass);
    outcome.beforeBytes = await indexesSize(client, resolved.regclass);
    bloat = new Map((await indexBloat(client, resolved.regclass, LEFTOVER_NAME)).map((b) => [b.index, b.bloat]));
  } catch (error) {
    throw await rebuildFailure(
      ctx,
      session,
      error,
      outcome.table,
      resolved.regclass,
      `measuring the indexes of ${resolved.regclass}`,
    );
  }
  step.output(`${indexes.length} index(es), ${formatBytes(outcome.beforeBytes)} in total`);
  const minBloat = minBloatOf(ctx.policy);
  const pauseMs = pauseOf(ctx.policy);
  let rebuiltOne = false;

  for (const index of indexes) {
    const estimate = bloat.get(index.name) ?? null;
    const entry: IndexOutcome = {
      index: index.name,
      beforeBytes: index.bytes,
      bloat: estimate,
      rebuilt: false,
      ok: false,
    };
    outcome.indexes.push(entry);
    const shown = estimate === null ? 'no estimate' : `${(estimate * 100).toFixed(1)}% estimated bloat`;
    if (estimate !== null) ctx.figure(`${index.name}.bloat`, { value: Number((estimate * 100).toFixed(1)), unit: '%' });
    // A rebuild of a compact index costs the application as much as one of a bloated index and frees nothing.
    if (estimate !== null && estimate < minBloat) {
      entry.ok = true;
      entry.afterBytes = index.bytes;
      step.output(
        `${index.name}: ${formatBytes(index.bytes)}, ${shown}: under min_bloat ${ctx.policy.database.index_rebuild.min_bloat.text}, kept`,
      );
      continue;
    }
    // Paced: the application gets a breather between two rebuilds.
    if (rebuiltOne && pauseMs > 0) await pause(pauseMs, ctx.signal);
    rebuiltOne = true;
    entry.rebuilt = true;
    step.output(`${index.name}: ${formatBytes(index.bytes)}, ${shown}: rebuilding`);
    const sql = `REINDEX INDEX ${settings.concurrent ? 'CONCURRENTLY ' : ''}${index.name}`;
    const started = Date.now();
    try {
      await client.query(sql);
    } catch (error) {
      // A terminated session (57P01) or a dead socket (no SQLSTATE at all) cannot be reused.
      const code = (error as { code?: string }).code;
      if (code === undefined || code === '57P01') session.broken = true;
      const failure = await rebuildFailure(ctx, session, error, outcome.table, resolved.regclass, sql);
      entry.error = failure.message;
      // Whatever the reason, the half-built copy must not stay: it slows every write to the table.
      const cleanup = await cleanUpAfterFailure(ctx, session, outcome.table);
      for (const line of describeCleanup(cleanup)) step.output(line);
      if (cleanup.dropped.length > 0)
        ctx.summary(`dropped ${cleanup.dropped.join(', ')} left by the failed rebuild of ${index.name}`);
      if (cleanup.kept.length > 0)
        ctx.summary(
          `left behind by the failed rebuild of ${index.name}, to be dropped by the next run: ${cleanup.kept.join('; ')}`,
        );
      throw failure;
    }
    entry.afterBytes = await relationSize(client, index.name);
    entry.ok = true;
    step.output(
      `${sql}: ${formatBytes(entry.beforeBytes)} → ${formatBytes(entry.afterBytes)} in ${Date.now() - started} ms`,
    );
  }
  outcome.afterBytes = await indexesSize(client, resolved.regclass);
  step.output(`all indexes: ${formatBytes(outcome.beforeBytes)} → ${formatBytes(outcome.afterBytes)}`);
  ctx.figure(`${outcome.table}.index_bytes`, { before: outcome.beforeBytes, after: outcome.afterBytes, unit: 'bytes' });
}

/** `action` is what was attempted, e.g. "REINDEX INDEX CONCURRENTLY listings_pkey". */
async function rebuildFailure(
  ctx: TaskContext,
  session: Session,
  error: unknown,
  table: string,
  relation: string,
  action: string,
): Promise<DrydockError> {
  const settings = ctx.policy.database.index_rebuild;
  if (isLockTimeout(error) && !session.broken) {
    return lockTimeoutError(session.client, {
      table,
      relation,
      action,
      lockTimeout: settings.lock_timeout.text,
      // A concurrent rebuild waits, phase by phase, for every transaction that touched the table.
      conflicting: LOCK_MODES.filter((m) => m !== 'AccessShareLock'),
      cause: error,
    });
  }
  if (ctx.signal.aborted)
    return new DrydockError('ABORTED', `${action} on table "${table}" was cancelled: the run was stopped`, {
      retryable: true,
      cause: error,
    });
  const how = isCancelled(error) || session.broken ? 'was cancelled or its session was terminated' : 'failed';
  return new DrydockError('EXEC_FAILED', `${action} on table "${table}" ${how}: ${(error as Error).message}`, {
    retryable: true,
    cause: error,
  });
}

/** Drops what a failed rebuild left on `table`, on a fresh connection if the old one died with the rebuild. */
async function cleanUpAfterFailure(ctx: TaskContext, session: Session, table: string): Promise<LeftoverCleanup> {
  let side: Session | undefined;
  try {
    const client = session.broken ? (side = await openSession(ctx, ':cleanup')).client : session.client;
    return await dropLeftovers(client, [table], { publicSchema: false });
  } catch (error) {
    return { dropped: [], kept: [`leftovers on ${table}: clean-up failed: ${describeError(error)}`] };
  } finally {
    await closeSession(side);
  }
}

interface IndexInfo {
  name: string;
  bytes: number;
}

function minBloatOf(policy: Policy): number {
  return policy.database.index_rebuild.min_bloat.percent / 100;
}

function pauseOf(policy: Policy): number {
  return policy.database.index_rebuild.pause.ms;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The table's indexes, excluding REINDEX CONCURRENTLY leftovers (those are dropped, not rebuilt). */
async function listIndexes(client: pg.Client, regclass: string): Promise<IndexInfo[]> {
  const { rows } = await client.query<{ name: string; bytes: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_relation_size(i.indexrelid) AS bytes
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND c.relname !~ $2
      ORDER BY c.relname`,
    [regclass, LEFTOVER_NAME],
  );
  return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
}

async function indexesSize(client: pg.Client, regclass: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>('SELECT pg_indexes_size($1::regclass) AS bytes', [regclass]);
  return Number(rows[0]?.bytes ?? 0);
}

async function relationSize(client: pg.Client, regclass: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>('SELECT pg_relation_size($1::regclass) AS bytes', [regclass]);
  return Number(rows[0]?.bytes ?? 0);
}

export interface Leftover {
  index: string;
  table: string;
  bytes: number;
}

/**
 * Invalid `_ccnew`/`_ccold` indexes on `tables` and, unless publicSchema is false, anywhere in the
 * public schema. Tables with an index build in progress right now are skipped: their invalid
 * index may belong to a rebuild that is still running, not to one that died.
 */
async function findLeftovers(
  client: pg.Client,
  tables: string[],
  options: { publicSchema?: boolean } = {},
): Promise<Leftover[]> {
  const oids: number[] = [];
  for (const table of tables) {
    const resolved = await resolveTable(client, table);
    if (resolved) oids.push(resolved.oid);
  }
  const { rows } = await client.query<{ index: string; table: string; bytes: string }>(
    `SELECT i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS table, pg_relation_size(i.indexrelid) AS bytes
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid
        AND c.relname ~ $1
        AND (i.indrelid = ANY($2::oid[]) OR ($3 AND n.nspname = 'public'))
        AND i.indrelid NOT IN (
              SELECT relid FROM pg_stat_progress_create_index
               WHERE relid IS NOT NULL AND pid <> pg_backend_pid()
                 -- relation OIDs repeat across databases: only builds in this one count.
                 AND datid = (SELECT oid FROM pg_database WHERE datname = current_database()))
      ORDER BY 1`,
    [LEFTOVER_NAME, oids, options.publicSchema ?? true],
  );
  return rows.map((r) => ({ index: r.index, table: r.table, bytes: Number(r.bytes) }));
}

/**
 * DROP INDEX CONCURRENTLY each leftover (a plain DROP INDEX would take an exclusive lock on the
 * table). A drop that times out on a lock is reported and left for the next run.
 */
async function dropLeftovers(
  client: pg.Client,
  tables: string[],
  options: { publicSchema?: boolean } = {},
): Promise<LeftoverCleanup> {
  const cleanup: LeftoverCleanup = { dropped: [], kept: [] };
  for (const leftover of await findLeftovers(client, tables, options)) {
    try {
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${leftover.index}`);
      cleanup.dropped.push(`${leftover.index} (on ${leftover.table}, ${formatBytes(leftover.bytes)})`);
    } catch (error) {
      cleanup.kept.push(`${leftover.index} (on ${leftover.table}): ${(error as Error).message}`);
    }
  }
  return cleanup;
}

function describeCleanup(cleanup: LeftoverCleanup): string[] {
  const lines = [
    ...cleanup.dropped.map((d) => `dropped invalid index ${d}, left by an interrupted REINDEX CONCURRENTLY`),
    ...cleanup.kept.map((k) => `could not drop invalid index ${k}; the next run will try again`),
  ];
  return lines.length > 0 ? lines : ['no invalid _ccnew/_ccold index left by an interrupted rebuild'];
}

function summarise(ctx: TaskContext, result: IndexRebuildResult): void {
  for (const t of result.tables) {
    if (t.ok && t.beforeBytes !== undefined && t.afterBytes !== undefined) {
      const rebuilt = t.indexes.filter((i) => i.rebuilt).length;
      const kept = t.indexes.length - rebuilt;
      ctx.summary(
        `${t.table}: ${rebuilt} of ${t.indexes.length} index(es) rebuilt${result.concurrent ? ' concurrently' : ''}${kept ? ` (${kept} under ${ctx.policy.database.index_rebuild.min_bloat.text} estimated bloat kept)` : ''}, ${formatBytes(t.beforeBytes)} → ${formatBytes(t.afterBytes)}`,
      );
    } else {
      ctx.summary(`${t.table}: not rebuilt: ${t.error ?? 'unknown error'}`);
    }
  }
}

/** After a crash: drops the invalid copies a killed REINDEX CONCURRENTLY left behind. */
export async function recoverInterrupted(ctx: TaskContext): Promise<string[]> {
  const client = await connectPostgres(ctx.policy.targets.postgres, {
    applicationName: `drydock:${indexRebuildTask.id}:recover`,
  });
  try {
    await client.query(`SET lock_timeout = ${Math.max(1, ctx.policy.database.index_rebuild.lock_timeout.ms)}`);
    const tables = orderedTables(ctx.policy.database.index_rebuild).map((t) => t.table);
    return describeCleanup(await dropLeftovers(client, tables));
  } finally {
    await closeQuietly(client);
  }
}

async function validateRebuild(ctx: TaskContext, result: IndexRebuildResult): Promise<ValidationResult> {
  const checks: ValidationCheck[] = [];
  for (const t of result.tables) {
    checks.push({
      name: `${t.table}.rebuilt`,
      ok: t.ok,
      detail: t.ok
        ? `${t.indexes.filter((i) => i.rebuilt).length} of ${t.indexes.length} index(es) rebuilt, ${formatBytes(t.beforeBytes ?? 0)} → ${formatBytes(t.afterBytes ?? 0)}`
        : (t.error ?? 'the step failed'),
    });
  }
  const client = await connectPostgres(ctx.policy.targets.postgres, {
    applicationName: `drydock:${indexRebuildTask.id}:validate`,
  });
  try {
    const oids: number[] = [];
    for (const t of result.tables) {
      const resolved = await resolveTable(client, t.table);
      if (resolved) oids.push(resolved.oid);
    }
    const { rows } = await client.query<{ index: string; table: string }>(
      `SELECT i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS table
         FROM pg_index i WHERE i.indrelid = ANY($1::oid[]) AND NOT i.indisvalid ORDER BY 1`,
      [oids],
    );
    checks.push({
      name: 'no_invalid_indexes',
      ok: rows.length === 0,
      detail:
        rows.length === 0
          ? `pg_index.indisvalid is true for every index on ${result.tables.map((t) => t.table).join(', ')}`
          : `invalid: ${rows.map((r) => `${r.index} on ${r.table}`).join(', ')}`,
    });
  } finally {
    await closeQuietly(client);
  }
  return { ok: checks.every((c) => c.ok), checks };
}
