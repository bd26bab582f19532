// A throwaway PostgreSQL server on a restored data directory, for the restore test: free port,
// loopback only, socket in the scratch folder, started as the data directory's owner (PostgreSQL
// refuses to run as root, so root runs it through runuser as that account).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { DrydockError } from '../errors.js';
import { exec } from '../adapters/exec.js';
import { freePort } from '../adapters/free-port.js';
import { closeQuietly, openPostgres, type PostgresConnection } from '../adapters/postgres.js';

export { freePort };

async function ownerName(dataDir: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = statSync(dataDir).uid;
  if (uid === 0) return undefined;
  return (await exec('id', ['-nu', String(uid)], { timeoutMs: 10_000 })).stdout.trim();
}

/** pg_ctl through the exec wrapper (never blocking the event loop); a failure is returned, not thrown. */
async function run(
  binDir: string,
  dataDir: string,
  args: string[],
  timeoutMs: number,
): Promise<{ status: number; output: string }> {
  const user = await ownerName(dataDir);
  try {
    const r = await exec(join(binDir, 'pg_ctl'), args, { timeoutMs, ...(user ? { runAs: user } : {}) });
    return { status: 0, output: `${r.stdout}${r.stderr}` };
  } catch (error) {
    if (!(error instanceof DrydockError)) throw error;
    const code = error.details.code;
    return { status: typeof code === 'number' ? code : -1, output: error.message };
  }
}

export interface ScratchServer {
  port: number;
  socketDir: string;
  logFile: string;
  connection(database: string): PostgresConnection;
  stop(): Promise<void>;
  log(): string;
}

export async function startScratchServer(
  binDir: string,
  dataDir: string,
  socketDir: string,
  timeoutMs = 300_000,
): Promise<ScratchServer> {
  if (process.getuid?.() === 0 && statSync(dataDir).uid === 0) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `restored data directory ${dataDir} is owned by root; PostgreSQL will not run as root`,
      { hint: `run Drydock as the postgres user, or restore with an owner (${userInfo().username})` },
    );
  }
  const port = await freePort();
  const logFile = join(socketDir, 'restore-test.log');
  const opts = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1`;
  const r = await run(
    binDir,
    dataDir,
    ['-D', dataDir, '-l', logFile, '-o', opts, '-w', '-t', String(Math.ceil(timeoutMs / 1000)), 'start'],
    timeoutMs + 5000,
  );
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const server: ScratchServer = {
    port,
    socketDir,
    logFile,
    connection: (database) => ({ host: '127.0.0.1', port, user: 'postgres', database }),
    stop: async () => {
      await run(binDir, dataDir, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], 70_000);
    },
    log,
  };
  if (r.status !== 0) {
    await server.stop();
    const tail = log().trim().split('\n').slice(-6).join('\n');
    throw new DrydockError('VALIDATION_FAILED', `the restored server did not start: ${r.output.trim()}\n${tail}`, {
      details: { log: log().slice(-4000) },
    });
  }
  return server;
}

/** Waits until recovery has ended (recovery_target_action = promote), i.e. the copy is consistent and open. */
export async function waitUntilConsistent(config: PostgresConnection, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    let client: pg.Client | undefined;
    try {
      client = await openPostgres(config, { applicationName: 'drydock restore test', connectTimeoutMs: 5_000 });
      const r = await client.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
      if (!r.rows[0]!.rec) return Date.now() - t0;
    } catch {
      /* still starting */
    } finally {
      await closeQuietly(client);
    }
    if (Date.now() - t0 > timeoutMs)
      throw new DrydockError(
        'VALIDATION_FAILED',
        `the restored server did not finish recovery within ${Math.round(timeoutMs / 1000)} s`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Immediate stop of a server on `dataDir` (used to clean up after an interrupted restore test). */
export async function stopServer(binDir: string, dataDir: string): Promise<void> {
  await run(binDir, dataDir, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop'], 70_000);
}
