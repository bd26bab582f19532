// `restore --wait` and the restore test: start the restored data directory on a throwaway port,
// wait until recovery has finished, and say where it stopped: the moment recovered to, the last
// transaction replayed and the timeline the server now runs on. A target that recovery did not
// reach is an error, not a shorter database.
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres } from '../adapters/postgres.js';
import { DrydockError } from '../errors.js';
import { startScratchServer, waitUntilConsistent, type ScratchServer } from './scratch-server.js';

export interface RecoveryReport {
  /** Milliseconds from start until the server left recovery. */
  recoveryMs: number;
  /** The moment recovery stopped at: the target when one was set, else the last transaction replayed. */
  recoveredTo: string | null;
  /** The last transaction replayed (commit time, and its id when the log or the WAL names it). */
  lastTransaction: { at: string; xid: number | null } | null;
  /** "recovery stopping before commit of transaction 742, time …", when a target stopped replay. */
  stoppedAt: { before: boolean; xid: number; at: string } | null;
  /** The timeline the restored server runs on after promotion. */
  timeline: number;
  /** The LSN where replay ended ("redo done at …"). */
  redoDoneAt: string | null;
}

/** What PostgreSQL's log says about the end of recovery. */
export function parseRecoveryLog(log: string): Pick<RecoveryReport, 'stoppedAt' | 'redoDoneAt'> & {
  lastCompleted: string | null;
  reachedTarget: boolean;
} {
  const stop = /recovery stopping (before|after) commit of transaction (\d+), time ([^\n]+)/.exec(log);
  const redo = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(log);
  const last = /last completed transaction was at log time ([^\n]+)/.exec(log);
  return {
    stoppedAt: stop ? { before: stop[1] === 'before', xid: Number(stop[2]), at: stop[3]!.trim() } : null,
    redoDoneAt: redo ? redo[1]! : null,
    lastCompleted: last ? last[1]!.trim() : null,
    reachedTarget: !!stop || /recovery stopping after reaching consistency/.test(log),
  };
}

/**
 * Starts the server on `dataDir`, waits until recovery ended (recovery_target_action = promote) and
 * reads the figures; stops the server unless `keep` is set. `target` says whether a target time was
 * set (then the log must say recovery stopped at it).
 */
export async function waitForRecovery(options: {
  binDirectory: string;
  dataDir: string;
  database?: string | undefined;
  owner?: { uid: number; gid: number } | undefined;
  targetTime?: string | null | undefined;
  timeoutMs?: number | undefined;
  /** Commits read from the archived WAL, to name the id of the last transaction replayed. */
  commits?: Array<{ xid: number; at: string }> | undefined;
}): Promise<RecoveryReport> {
  const socketDir = mkdtempSync(join(tmpdir(), 'drydock-recovery-'));
  if (options.owner) chownSync(socketDir, options.owner.uid, options.owner.gid);
  let server: ScratchServer | undefined;
  try {
    server = await startScratchServer(options.binDirectory, options.dataDir, socketDir, options.timeoutMs);
    const config = server.connection(options.database ?? 'postgres');
    const recoveryMs = await waitUntilConsistent(config, options.timeoutMs ?? 300_000);
    const client = await openPostgres(config, { applicationName: 'drydock restore --wait' });
    let row: { last: string | null; walfile: string };
    try {
      const r = await client.query<{ last: string | null; walfile: string }>(
        `SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last,
                pg_walfile_name(pg_current_wal_lsn()) AS walfile`,
      );
      row = r.rows[0]!;
    } finally {
      await client.end().catch(() => {});
    }
    const log = parseRecoveryLog(server.log());
    if (options.targetTime && !log.stoppedAt) {
      throw new DrydockError(
        'VALIDATION_FAILED',
        `recovery ended without reaching the target ${options.targetTime}${row.last ? `: the last transaction replayed committed at ${row.last}` : ''}`,
        { details: { log: server.log().slice(-4000) } },
      );
    }
    const xid = row.last ? (options.commits?.find((c) => c.at === row.last)?.xid ?? null) : null;
    return {
      recoveryMs,
      recoveredTo: options.targetTime ?? row.last,
      lastTransaction: row.last ? { at: row.last, xid } : null,
      stoppedAt: log.stoppedAt,
      timeline: parseInt(row.walfile.slice(0, 8), 16),
      redoDoneAt: log.redoDoneAt,
    };
  } finally {
    await server?.stop();
    rmSync(socketDir, { recursive: true, force: true });
  }
}
