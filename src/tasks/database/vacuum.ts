// database.vacuum: `VACUUM (ANALYZE, VERBOSE)` on the policy's tables, one recorded step per
// table so one blocked or missing table never stops the others. Each step measures the table in
// pg_stat_user_tables before and after, keeps VACUUM VERBOSE's report, and never waits longer
// than the policy's lock_timeout behind a production transaction.
import type pg from 'pg';
import {
  BLOCKS_SHARE_UPDATE_EXCLUSIVE,
  applyGentleMaintenance,
  LOCK_MODES,
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

export interface TableStats {
  deadTuples: number;
  liveTuples: number;
  lastVacuum: Date | null;
  lastAnalyze: Date | null;
  vacuumCount: number;
  analyzeCount: number;
  /** pg_total_relation_size: heap, indexes and TOAST. */
  sizeBytes: number;
  /** Changes when VACUUM FULL rewrites the table; plain VACUUM keeps it. */
  filenode: number;
}

export interface VacuumTableOutcome {
  table: string;
  ok: boolean;
  error?: string;
  errorCode?: string;
  before?: TableStats;
  after?: TableStats;
  /** VACUUM VERBOSE's INFO messages for this table. */
  verbose: string[];
}

export interface VacuumResult {
  database: string;
  options: { full: boolean; analyze: boolean; verbose: boolean };
  tables: VacuumTableOutcome[];
}

type VacuumPolicy = Policy['database']['vacuum'];

export const vacuumTask: ImplementedTask<VacuumResult> = {
  id: 'database.vacuum',
  title: 'Vacuum and analyze database tables',
  implemented: true,
  // VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: only inside a maintenance window.
  disruptive: (policy) => policy.database.vacuum.options.full,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.database.vacuum),
  resources: (policy) => policy.database.vacuum.tables.map((t) => `pg:${policy.targets.postgres.database}.${t}`),
  execute: executeVacuum,
  validate: validateVacuum,
};

async function executeVacuum(ctx: TaskContext): Promise<VacuumResult> {
  const target = ctx.policy.targets.postgres;
  const settings = ctx.policy.database.vacuum;
  const result: VacuumResult = { database: target.database, options: { ...settings.options }, tables: [] };
  const client = await ctx.step(`connect to ${describeTarget(target)}/${target.database}`, async (step) => {
    const c = await connectPostgres(target, { applicationName: `drydock:${vacuumTask.id}` });
    // Session-wide: every VACUUM below gives up instead of queueing behind a long transaction
    // (and, worse, making every later query on that table queue behind it).
    // At least 1 ms: lock_timeout = 0 would mean "wait forever".
    await c.query(`SET lock_timeout = ${Math.max(1, settings.lock_timeout.ms)}`);
    const costDelayMs = settings.cost_delay.ms;
    await applyGentleMaintenance(c, { vacuumCostDelayMs: costDelayMs });
    step.output(
      `connected; lock_timeout ${settings.lock_timeout.text}, vacuum_cost_delay ${costDelayMs} ms, no parallel workers`,
    );
    return c;
  });
  if (!client) throw new DrydockError('INTERNAL', 'connect step returned nothing');
  const detach = cancelOnAbort(client, target, ctx.signal);
  try {
    for (const table of settings.tables) {
      if (ctx.signal.aborted)
        throw new DrydockError('ABORTED', `vacuum stopped before table "${table}": the run was cancelled`, {
          retryable: true,
        });
      const outcome: VacuumTableOutcome = { table, ok: false, verbose: [] };
      result.tables.push(outcome);
      await ctx.step(
        `vacuum ${table}`,
        async (step) => {
          try {
            await vacuumTable(ctx, client, settings, outcome, step);
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
    detach();
    await closeQuietly(client);
  }
  summarise(ctx, result);
  return result;
}

async function vacuumTable(
  ctx: TaskContext,
  client: pg.Client,
  settings: VacuumPolicy,
  outcome: VacuumTableOutcome,
  step: StepHandle,
): Promise<void> {
  const { table } = outcome;
  const resolved = await resolveTable(client, table);
  if (!resolved) throw tableMissingError(table, ctx.policy.targets.postgres.database, 'database.vacuum.tables');
  try {
    await measureAndVacuum(ctx, client, settings, outcome, resolved.regclass, step);
  } catch (error) {
    // Measuring the size takes a lock too (pg_total_relation_size opens the table), so a lock
    // timeout can come from any statement here, not only from VACUUM itself.
    throw error instanceof DrydockError
      ? error
      : await vacuumError(ctx, client, error, table, resolved.regclass, settings);
  }
}

async function measureAndVacuum(
  ctx: TaskContext,
  client: pg.Client,
  settings: VacuumPolicy,
  outcome: VacuumTableOutcome,
  regclass: string,
  step: StepHandle,
): Promise<void> {
  const { table } = outcome;
  const before = await readTableStats(client, regclass);
  outcome.before = before;
  step.output(`before: ${formatStats(before)}`);

  const sql = vacuumStatement(regclass, settings.options);
  step.output(sql);
  // VERBOSE reports arrive as INFO notices while the statement runs; keep them with this table.
  const onNotice = (notice: { message?: string; detail?: string; severity?: string }): void => {
    const text = [notice.message, notice.detail].filter(Boolean).join('\n');
    outcome.verbose.push(text);
    step.output(`${notice.severity ?? 'INFO'}: ${text}`);
  };
  client.on('notice', onNotice);
  try {
    await client.query(sql);
  } finally {
    client.off('notice', onNotice);
  }

  const after = await readTableStats(client, regclass);
  outcome.after = after;
  step.output(`after: ${formatStats(after)}`);
  ctx.figure(`${table}.dead_tuples`, { before: before.deadTuples, after: after.deadTuples, unit: 'rows' });
  ctx.figure(`${table}.size_bytes`, { before: before.sizeBytes, after: after.sizeBytes, unit: 'bytes' });
}

/** VACUUM's option list from the policy. FULL rewrites the table under an exclusive lock, so only when asked. */
function vacuumStatement(regclass: string, options: VacuumPolicy['options']): string {
  const list = [
    options.full ? 'FULL' : undefined,
    options.analyze ? 'ANALYZE' : undefined,
    options.verbose ? 'VERBOSE' : undefined,
  ].filter(Boolean);
  return list.length > 0 ? `VACUUM (${list.join(', ')}) ${regclass}` : `VACUUM ${regclass}`;
}

async function vacuumError(
  ctx: TaskContext,
  client: pg.Client,
  error: unknown,
  table: string,
  relation: string,
  settings: VacuumPolicy,
): Promise<DrydockError> {
  if (isLockTimeout(error)) {
    return lockTimeoutError(client, {
      table,
      relation,
      action: settings.options.full ? 'VACUUM FULL' : 'VACUUM',
      lockTimeout: settings.lock_timeout.text,
      conflicting: settings.options.full ? LOCK_MODES : BLOCKS_SHARE_UPDATE_EXCLUSIVE,
      cause: error,
    });
  }
  if (isCancelled(error) && ctx.signal.aborted) {
    return new DrydockError('ABORTED', `VACUUM of table "${table}" was cancelled`, { retryable: true, cause: error });
  }
  return new DrydockError('EXEC_FAILED', `VACUUM of table "${table}" failed: ${(error as Error).message}`, {
    retryable: true,
    cause: error,
  });
}

/**
 * Counters from pg_stat_user_tables plus the size on disk. pg_stat_clear_snapshot() first: inside
 * a transaction PostgreSQL would otherwise answer from the snapshot it cached on the first read.
 */
async function readTableStats(client: pg.Client, regclass: string): Promise<TableStats> {
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{
    dead: string | null;
    live: string | null;
    last_vacuum: Date | null;
    last_analyze: Date | null;
    vacuum_count: string | null;
    analyze_count: string | null;
    size: string;
    filenode: string | null;
  }>(
    `SELECT s.n_dead_tup AS dead, s.n_live_tup AS live, s.last_vacuum, s.last_analyze,
            s.vacuum_count, s.analyze_count,
            pg_total_relation_size(c.oid) AS size, pg_relation_filenode(c.oid) AS filenode
       FROM pg_class c
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.oid = $1::regclass`,
    [regclass],
  );
  const row = rows[0];
  if (!row) throw new DrydockError('TABLE_MISSING', `table ${regclass} disappeared while it was being measured`);
  return {
    deadTuples: Number(row.dead ?? 0),
    liveTuples: Number(row.live ?? 0),
    lastVacuum: row.last_vacuum,
    lastAnalyze: row.last_analyze,
    vacuumCount: Number(row.vacuum_count ?? 0),
    analyzeCount: Number(row.analyze_count ?? 0),
    sizeBytes: Number(row.size),
    filenode: Number(row.filenode ?? 0),
  };
}

function formatStats(s: TableStats): string {
  return `${s.deadTuples} dead / ${s.liveTuples} live tuples, ${formatBytes(s.sizeBytes)}, last vacuum ${s.lastVacuum?.toISOString() ?? 'never'}, last analyze ${s.lastAnalyze?.toISOString() ?? 'never'}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function summarise(ctx: TaskContext, result: VacuumResult): void {
  for (const t of result.tables) {
    if (t.ok && t.before && t.after) {
      ctx.summary(
        `${t.table}: dead tuples ${t.before.deadTuples} → ${t.after.deadTuples}, size ${formatBytes(t.before.sizeBytes)} → ${formatBytes(t.after.sizeBytes)}`,
      );
    } else {
      ctx.summary(`${t.table}: not vacuumed: ${t.error ?? 'unknown error'}`);
    }
  }
}

async function validateVacuum(ctx: TaskContext, result: VacuumResult): Promise<ValidationResult> {
  const checks: ValidationCheck[] = [];
  const vacuumed = result.tables.filter((t) => t.ok && t.before && t.after);
  for (const t of result.tables.filter((x) => !x.ok)) {
    checks.push({ name: `${t.table}.vacuumed`, ok: false, detail: t.error ?? 'the step failed' });
  }
  if (vacuumed.length > 0) {
    // A fresh connection and fresh counters: the proof comes from PostgreSQL's own statistics,
    // not from what execute() believed it did.
    const client = await connectPostgres(ctx.policy.targets.postgres, {
      applicationName: `drydock:${vacuumTask.id}:validate`,
    });
    try {
      // Reading a table's size takes a lock as well; validation must not hang behind a transaction either.
      await client.query(`SET lock_timeout = ${Math.max(1, ctx.policy.database.vacuum.lock_timeout.ms)}`);
      for (const t of vacuumed) checks.push(...(await checkTable(client, t, result.options)));
    } finally {
      await closeQuietly(client);
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}

async function checkTable(
  client: pg.Client,
  t: VacuumTableOutcome,
  options: VacuumResult['options'],
): Promise<ValidationCheck[]> {
  const before = t.before!;
  const after = t.after!;
  const resolved = await resolveTable(client, t.table);
  if (!resolved) return [{ name: `${t.table}.vacuumed`, ok: false, detail: `table "${t.table}" no longer exists` }];
  let now: TableStats;
  try {
    now = await readTableStats(client, resolved.regclass);
  } catch (error) {
    return [
      { name: `${t.table}.vacuumed`, ok: false, detail: `could not read its statistics: ${(error as Error).message}` },
    ];
  }
  const checks: ValidationCheck[] = [];
  if (options.full) {
    // VACUUM FULL is a table rewrite (like CLUSTER): PostgreSQL does not count it in vacuum_count
    // or last_vacuum, but the table gets a new file.
    const rewritten = now.filenode !== before.filenode;
    checks.push({
      name: `${t.table}.vacuumed`,
      ok: rewritten,
      detail: rewritten
        ? `rewritten (filenode ${before.filenode} → ${now.filenode})`
        : `filenode unchanged (${now.filenode}): VACUUM FULL did not rewrite the table`,
    });
  } else {
    const advanced = now.vacuumCount > before.vacuumCount && later(now.lastVacuum, before.lastVacuum);
    checks.push({
      name: `${t.table}.vacuumed`,
      ok: advanced,
      detail: `last_vacuum ${iso(before.lastVacuum)} → ${iso(now.lastVacuum)}, vacuum_count ${before.vacuumCount} → ${now.vacuumCount}`,
    });
  }
  if (options.analyze) {
    const advanced = now.analyzeCount > before.analyzeCount && later(now.lastAnalyze, before.lastAnalyze);
    checks.push({
      name: `${t.table}.analyzed`,
      ok: advanced,
      detail: `last_analyze ${iso(before.lastAnalyze)} → ${iso(now.lastAnalyze)}, analyze_count ${before.analyzeCount} → ${now.analyzeCount}`,
    });
  }
  const fewer = after.deadTuples <= before.deadTuples;
  checks.push({
    name: `${t.table}.dead_tuples`,
    ok: fewer,
    detail: `${before.deadTuples} → ${after.deadTuples} dead tuples`,
  });
  return checks;
}

function later(now: Date | null, before: Date | null): boolean {
  if (!now) return false;
  return !before || now.getTime() > before.getTime();
}

function iso(d: Date | null): string {
  return d ? d.toISOString() : 'never';
}
