// Throwaway PostgreSQL clusters for tests: initdb -k (data checksums) in a temp dir, a free port,
// WAL archiving on, started as the `postgres` user because PostgreSQL refuses to run as root and
// CI runs as root. Nothing is mocked: the tests back up, kill and restore real servers.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/adapters/free-port.js';
import { walCommand } from '../../src/backup/wal/command-line.js';

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const PROJECT = resolve(import.meta.dirname, '../..');

export interface PgUser {
  uid: number;
  gid: number;
}

/** uid/gid of the `postgres` account, or of the current user when not root (a developer laptop). */
export function postgresUser(): PgUser {
  if (process.getuid?.() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** Runs a PostgreSQL binary as the postgres user (runuser when we are root). */
export function runAsPostgres(
  bin: string,
  args: string[],
  options: { allowFail?: boolean; timeoutMs?: number } = {},
): { status: number; stdout: string; stderr: string } {
  const root = process.getuid?.() === 0;
  const file = root ? 'runuser' : bin;
  const argv = root ? ['-u', 'postgres', '--', bin, ...args] : args;
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
  const status = result.status ?? -1;
  if (status !== 0 && !options.allowFail) {
    throw new Error(`${bin} ${args.join(' ')} failed (${status}): ${result.stderr}${result.stdout}`);
  }
  return { status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export function chownTree(path: string, user: PgUser = postgresUser()): void {
  if (process.getuid?.() !== 0) return;
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, path]);
}

export { freePort };

/** A temp dir the postgres user may write into (for the cluster, the archive, the repository). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chownTree(dir);
  return dir;
}

/**
 * The archive_command / restore_command Drydock prints (`drydock wal settings`): node and
 * bin/drydock.js by absolute path, `wal push|get`, and the repository. It runs the compiled light
 * entry point (dist/backup/wal/cli.js), exactly what PostgreSQL runs in production; the build is
 * refreshed first when the WAL sources are newer than it.
 */
export function drydockWalCommand(repository: string, verb: 'push' | 'get', extra = ''): string {
  ensureWalBuild();
  return `${walCommand(verb, { repository })}${extra ? ` ${extra}` : ''}`;
}

// The sources dist/ is built from (the WAL entry point and `wal settings` go through bin/drydock.js).
const WAL_SOURCES = ['src'];

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

let walBuildChecked = false;

/** Rebuilds dist/ (once, under a lock shared by parallel test files) when a source is newer than it. */
export function ensureWalBuild(): void {
  if (walBuildChecked) return;
  const built = join(PROJECT, 'dist/backup/wal/cli.js');
  const stale = () =>
    !existsSync(built) || statSync(built).mtimeMs < Math.max(...WAL_SOURCES.map((p) => newestMtime(join(PROJECT, p))));
  if (stale()) {
    const lock = join(PROJECT, 'dist.build-lock');
    mkdirSync(join(PROJECT, 'dist'), { recursive: true });
    let owner = false;
    const deadline = Date.now() + 300_000;
    while (!owner && stale()) {
      try {
        mkdirSync(lock);
        owner = true;
      } catch {
        if (Date.now() > deadline) throw new Error(`${lock} held for 5 minutes; remove it if no build is running`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      }
    }
    if (owner) {
      try {
        if (stale()) {
          const r = spawnSync(
            process.execPath,
            [join(PROJECT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
            {
              cwd: PROJECT,
              encoding: 'utf8',
            },
          );
          if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
  }
  walBuildChecked = true;
}

export interface ClusterOptions {
  /** archive_command; default copies into `<dir>/archive` with cp. */
  archiveCommand?: string;
  archiveMode?: 'on' | 'off';
  /** Extra postgresql.conf lines. */
  settings?: Record<string, string | number>;
}

function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (after the parenthesised command name) is the parent pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export class PgCluster {
  readonly dir: string;
  readonly dataDir: string;
  readonly archiveDir: string;
  readonly logFile: string;
  port = 0;
  private running = false;

  private constructor(dir: string) {
    this.dir = dir;
    this.dataDir = join(dir, 'data');
    this.archiveDir = join(dir, 'archive');
    this.logFile = join(dir, 'server.log');
  }

  /** initdb + configure + start. */
  static async create(options: ClusterOptions = {}): Promise<PgCluster> {
    const cluster = new PgCluster(makeTempDir('drydock-pg-'));
    mkdirSync(cluster.archiveDir);
    chownTree(cluster.archiveDir);
    runAsPostgres(join(PG_BIN, 'initdb'), [
      '-k',
      '-D',
      cluster.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C',
    ]);
    cluster.port = await freePort();
    const archiveCommand =
      options.archiveCommand ?? `test ! -f ${cluster.archiveDir}/%f && cp %p ${cluster.archiveDir}/%f`;
    const settings: Record<string, string | number> = {
      port: cluster.port,
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${cluster.dir}'`,
      wal_level: 'replica',
      archive_mode: options.archiveMode ?? 'on',
      archive_command: `'${archiveCommand.replace(/'/g, "''")}'`,
      // Small and quick: tests are about correctness, not throughput.
      shared_buffers: "'32MB'",
      max_wal_senders: 4,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'on',
      ...options.settings,
    };
    appendFileSync(
      join(cluster.dataDir, 'postgresql.conf'),
      '\n# drydock test cluster\n' +
        Object.entries(settings)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n') +
        '\n',
    );
    cluster.start();
    return cluster;
  }

  /** Wraps an existing data directory (e.g. a restored one) on a new free port. */
  static async adopt(dataDir: string, dir: string): Promise<PgCluster> {
    const cluster = Object.create(PgCluster.prototype) as PgCluster;
    Object.assign(cluster, {
      dir,
      dataDir,
      archiveDir: join(dir, 'archive'),
      logFile: join(dir, `server-${Date.now()}.log`),
      running: false,
    });
    cluster.port = await freePort();
    return cluster;
  }

  start(extraOptions = ''): void {
    const opts = `-p ${this.port} -k ${this.dir} ${extraOptions}`.trim();
    try {
      runAsPostgres(join(PG_BIN, 'pg_ctl'), [
        '-D',
        this.dataDir,
        '-l',
        this.logFile,
        '-o',
        opts,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- server log ---\n${this.log().slice(-3000)}`, { cause: error });
    }
    this.running = true;
  }

  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    if (!this.running && !existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    runAsPostgres(join(PG_BIN, 'pg_ctl'), ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], {
      allowFail: true,
    });
    this.running = false;
  }

  /**
   * kill -9 the postmaster and its children: a crash, not a shutdown. The children are killed too
   * and waited for, because a restart refuses to start while they still hold the shared memory.
   */
  async kill(): Promise<void> {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      const children = childPids(pid);
      for (const p of [pid, ...children]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      const deadline = Date.now() + 10_000;
      while ([pid, ...children].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // The dead postmaster may linger as a zombie if nothing reaps it here; PostgreSQL would then
      // take its pid for a live server. Every process is dead, so the lock file is stale.
      rmSync(pidFile, { force: true });
      rmSync(join(this.dir, `.s.PGSQL.${this.port}.lock`), { force: true });
    }
    this.running = false;
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  connection(database = 'postgres'): pg.ClientConfig {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', database };
  }

  async client(database = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client(this.connection(database));
    await client.connect();
    return client;
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const client = await this.client(database);
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Waits until recovery has ended and the server accepts writes (after a restore with promote). */
  async waitForPromotion(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await this.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      if (row && !row.r) return;
      if (Date.now() > deadline) throw new Error(`still in recovery after ${timeoutMs} ms\n${this.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Forces a WAL switch and waits until the archiver reports that segment done. */
  async switchWalAndWait(timeoutMs = 30_000): Promise<string> {
    const [row] = await this.query<{ name: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS name');
    const name = row!.name;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [s] = await this.query<{ last: string | null; failed: string | null }>(
        'SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_stat_archiver',
      );
      if (s?.last && s.last >= name) return name;
      if (Date.now() > deadline)
        throw new Error(
          `WAL ${name} not archived after ${timeoutMs} ms (last ${s?.last}, failed ${s?.failed})\n${this.log().slice(-3000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the server and deletes everything. */
  destroy(): void {
    this.stop('immediate');
    if (this.dir.includes('drydock-')) rmSync(this.dir, { recursive: true, force: true });
  }
}
