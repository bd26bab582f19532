// The weekly restore test: restore the newest chain into a scratch folder, start a throwaway server
// on a free port, wait until it is consistent, compare row counts and content checksums with the
// figures recorded at backup time, run amcheck on the tables' B-tree indexes, then stop and delete.
// Before starting, pg_verifybackup checks the rebuilt directory against PostgreSQL's manifest.
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../adapters/exec.js';
import { openPostgres } from '../adapters/postgres.js';
import { newestBackup } from './chain.js';
import { segmentName, segmentNumber } from './lsn.js';
import { getWal } from './wal-archive.js';
import { listBackups, openRepository, type RepositorySettings } from './repository.js';
import { restoreBackup } from './restore.js';
import { startScratchServer, stopServer, waitUntilConsistent } from './scratch-server.js';
import { parseRecoveryLog } from './recovery-wait.js';
import { compareFigures, tableFigures } from './table-figures.js';
import type { TableFigure } from './types.js';
import { DrydockError } from '../errors.js';

export interface RestoreTestOptions {
  repository: RepositorySettings;
  restoreCommand: string;
  binDirectory: string;
  /** Parent folder for the scratch copy (default: the system temp folder). */
  scratchParent?: string | undefined;
  /** Owner of the restored files when running as root (PostgreSQL refuses root). */
  owner?: { uid: number; gid: number } | undefined;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface RestoreTestResult {
  backup: string;
  chain: string[];
  restoreMs: number;
  recoveryMs: number;
  restoredBytes: number;
  expected: TableFigure[];
  measured: TableFigure[];
  indexesChecked: number;
  /** pg_verifybackup's verdict on the restored directory (with WAL from the repository). */
  pgVerifybackup: string;
  /** Where recovery of the restored server stopped (its target is consistency) and the last transaction it replayed. */
  recovery: { reachedConsistency: boolean; redoDoneAt: string | null; lastTransactionAt: string | null };
  problems: string[];
  ok: boolean;
}

export async function runRestoreTest(options: RestoreTestOptions): Promise<RestoreTestResult> {
  const log = options.log ?? (() => {});
  const repo = openRepository(options.repository);
  const newest = newestBackup(listBackups(repo));
  if (!newest) throw new DrydockError('VALIDATION_FAILED', 'the repository holds no backup to test');
  const scratch = mkdtempSync(join(options.scratchParent ?? tmpdir(), 'drydock-restore-test-'));
  if (options.owner) chownSync(scratch, options.owner.uid, options.owner.gid);
  const dataDir = join(scratch, 'data');
  let server: Awaited<ReturnType<typeof startScratchServer>> | undefined;
  try {
    const restored = await restoreBackup({
      repository: options.repository,
      backupId: newest.id,
      to: dataDir,
      restoreCommand: options.restoreCommand,
      targetImmediate: true,
      owner: options.owner,
      // The copy must never archive into, or otherwise touch, the production repository.
      settings: { archive_mode: 'off' },
    });
    log(`restored ${newest.id} (chain ${restored.chain.join(' → ')}) in ${restored.durationMs} ms`);
    // PostgreSQL's own verdict on the rebuilt directory, before the server touches it.
    const walDir = join(scratch, 'wal');
    mkdirSync(walDir);
    for (
      let seg = segmentNumber(newest.walStart, newest.segmentSize);
      seg <= segmentNumber(newest.walStop, newest.segmentSize);
      seg++
    ) {
      const name = segmentName(newest.timeline, seg, newest.segmentSize);
      getWal(repo, name, join(walDir, name));
    }
    // Through the exec wrapper: the daemon's event loop (heartbeats, the HTTP API) keeps running.
    // Status 1 is pg_verifybackup's "the backup does not verify"; the verdict is recorded, not thrown.
    const verify = await exec(join(options.binDirectory, 'pg_verifybackup'), ['-w', walDir, dataDir], {
      okCodes: [0, 1],
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    const verifyOutput = `${verify.stdout}${verify.stderr}`.trim();
    const verified = verify.code === 0;
    log(`pg_verifybackup: ${verifyOutput}`);
    server = await startScratchServer(options.binDirectory, dataDir, scratch, options.timeoutMs);
    const recoveryMs = await waitUntilConsistent(
      server.connection(newest.database || 'postgres'),
      options.timeoutMs ?? 300_000,
    );
    const client = await openPostgres(server.connection(newest.database || 'postgres'), {
      applicationName: 'drydock restore test',
    });
    const problems: string[] = verified ? [] : [`pg_verifybackup: ${verifyOutput.split('\n').slice(0, 5).join('; ')}`];
    // Where recovery stopped: the target here is consistency (the end of the backup).
    const ended = parseRecoveryLog(server.log());
    if (!ended.reachedTarget) problems.push('recovery ended without reporting that it reached consistency');
    const last = await client.query<{ at: string | null }>(
      `SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`,
    );
    const recovery = {
      reachedConsistency: ended.reachedTarget,
      redoDoneAt: ended.redoDoneAt,
      lastTransactionAt: last.rows[0]?.at ?? null,
    };
    log(
      `recovery reached consistency${ended.redoDoneAt ? ` at ${ended.redoDoneAt}` : ''}; last transaction replayed: ${recovery.lastTransactionAt ?? 'none after the backup started'}`,
    );
    let indexesChecked = 0;
    let measured: TableFigure[] = [];
    try {
      measured = await tableFigures(
        client,
        newest.tables.map((t) => t.table),
      );
      problems.push(...compareFigures(newest.tables, measured));
      await client.query('CREATE EXTENSION IF NOT EXISTS amcheck');
      // B-tree indexes of the tables and, for a partitioned table, of every partition (amcheck
      // refuses the partitioned parent index itself, relkind 'I', which holds no data).
      const idx = await client.query<{ oid: number; name: string }>(
        `WITH listed AS (
           SELECT t.oid FROM pg_class t WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace),
         tables AS (
           SELECT p.relid AS oid FROM listed l, LATERAL pg_partition_tree(l.oid) p WHERE p.isleaf
           UNION SELECT oid FROM listed)
         SELECT i.indexrelid::int AS oid, c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_am am ON am.oid = c.relam
          WHERE am.amname = 'btree' AND c.relkind = 'i' AND i.indrelid IN (SELECT oid FROM tables) ORDER BY 2`,
        [newest.tables.map((t) => t.table)],
      );
      for (const row of idx.rows) {
        try {
          await client.query('SELECT bt_index_check($1::regclass, true)', [row.oid]);
          indexesChecked++;
        } catch (error) {
          problems.push(`index ${row.name}: ${(error as Error).message}`);
        }
      }
    } finally {
      await client.end().catch(() => {});
    }
    return {
      backup: newest.id,
      chain: restored.chain,
      restoreMs: restored.durationMs,
      recoveryMs,
      restoredBytes: restored.bytes,
      expected: newest.tables,
      measured,
      indexesChecked,
      pgVerifybackup: verified ? 'backup successfully verified' : verifyOutput,
      recovery,
      problems,
      ok: problems.length === 0,
    };
  } finally {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * After a crash mid-test: stop any throwaway server left in a drydock-restore-test-* folder of
 * `parent` (default: the temp folder) and delete the folder. Returns what it did.
 */
export async function cleanupRestoreTests(binDirectory: string, parent: string = tmpdir()): Promise<string[]> {
  const done: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith('drydock-restore-test-')) continue;
    const dir = join(parent, name);
    const data = join(dir, 'data');
    if (existsSync(join(data, 'postmaster.pid'))) {
      await stopServer(binDirectory, data);
      done.push(`stopped the throwaway server in ${data}`);
    }
    rmSync(dir, { recursive: true, force: true });
    done.push(`deleted ${dir}`);
  }
  return done;
}
