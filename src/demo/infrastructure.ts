// The demo's own infrastructure, so `drydock start --demo` shows every procedure succeeding without
// touching anything it did not create: a throwaway PostgreSQL cluster (initdb in the demo folder, a
// free port, WAL archiving wired to Drydock's own `wal push`), a redis-server on a free port, an
// uploads folder with files, a configuration file, a small tree for clean-up (logs, temp files,
// releases) and a backup repository, all under one folder (`.drydock/demo` by default), with the
// policy that points Drydock at them written beside them.
//
// PostgreSQL refuses to run as root, so when Drydock runs as root the cluster, and the archive and
// restore commands PostgreSQL starts, run as the `postgres` account: that account must be able to
// read Drydock's own files and write the demo folder. Both are checked first, naming what is wrong.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { exec } from '../adapters/exec.js';
import { freePort } from '../adapters/free-port.js';
import { processAlive } from '../adapters/process.js';
import { DrydockError } from '../errors.js';
import type { PostgresTarget } from '../adapters/postgres.js';
import { policySchema } from '../policy/schema.js';

/** The demo's database: its own name, never Dokkerr's production `dokkerr`. */
export const DEMO_DATABASE = 'drydock_demo';
const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';

export interface DemoPaths {
  root: string;
  policy: string;
  pgDir: string;
  dataDir: string;
  repository: string;
  uploads: string;
  config: string;
  srv: string;
  redisDir: string;
  /** Dokkerr's web app as the vulnerability scan sees it: its package-lock.json and an offline OSV file. */
  app: string;
}

function demoPaths(root: string): DemoPaths {
  const dir = resolve(root);
  return {
    root: dir,
    policy: join(dir, 'drydock.yaml'),
    pgDir: join(dir, 'postgres'),
    dataDir: join(dir, 'postgres', 'data'),
    repository: join(dir, 'repository'),
    uploads: join(dir, 'uploads'),
    config: join(dir, 'config', 'dokkerr.yml'),
    srv: join(dir, 'srv'),
    redisDir: join(dir, 'redis'),
    app: join(dir, 'app'),
  };
}

export interface DemoInfrastructure {
  paths: DemoPaths;
  postgres: PostgresTarget;
  redisPort: number;
  /** The PostgreSQL account the cluster runs as (null: the current user). */
  runAs: string | null;
  /** Stops the cluster and redis-server; the data stays for the next demo. */
  stop(): Promise<void>;
}

export interface DemoOptions {
  root: string;
  pgBin?: string;
  redisServer?: string;
  log?: (line: string) => void;
}

/** The `drydock` entry point PostgreSQL's archive_command and restore_command run. */
function drydockEntry(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/drydock.js');
}

function walCommand(verb: 'push' | 'get', policy: string): string {
  const cli = `${process.execPath} ${drydockEntry()} --policy ${policy} wal`;
  return verb === 'push' ? `${cli} push "%p" %f` : `${cli} get %f "%p"`;
}

/** A path in a command line PostgreSQL runs through its shell: refused when it would need quoting. */
function assertPlainPath(path: string, what: string): void {
  if (!/^[\w./+@:-]+$/.test(path))
    throw new DrydockError('CONFIG_INVALID', `the demo cannot use ${what} ${path}: it has spaces or shell characters`, {
      hint: 'run the demo from a folder whose path has only letters, digits and . _ - /',
    });
}

async function checkPrerequisites(options: DemoOptions, paths: DemoPaths, runAs: string | null): Promise<void> {
  const pgBin = options.pgBin ?? DEFAULT_PG_BIN;
  const missing: string[] = [];
  if (!existsSync(join(pgBin, 'initdb'))) missing.push(`${join(pgBin, 'initdb')} (Debian: postgresql-15)`);
  if (!existsSync(options.redisServer ?? '/usr/bin/redis-server'))
    missing.push(`${options.redisServer ?? '/usr/bin/redis-server'} (Debian: redis-server)`);
  if (runAs && !existsSync('/usr/sbin/runuser') && !existsSync('/usr/bin/runuser'))
    missing.push('runuser (Debian: util-linux)');
  if (missing.length > 0)
    throw new DrydockError('CONFIG_INVALID', `the demo needs programs that are not installed: ${missing.join(', ')}`, {
      hint: 'apt-get install postgresql-15 redis-server',
    });
  for (const [path, what] of [
    [paths.root, 'the demo folder'],
    [drydockEntry(), "Drydock's own files"],
    [process.execPath, 'node'],
  ] as const)
    assertPlainPath(path, what);
  if (!runAs) return;
  try {
    await exec('id', ['-u', runAs], { timeoutMs: 10_000 });
  } catch (error) {
    throw new DrydockError('CONFIG_INVALID', `the demo runs PostgreSQL as "${runAs}", and there is no such account`, {
      hint: 'PostgreSQL refuses to run as root; install postgresql-15 (it creates the postgres account) or run the demo as a non-root user',
      cause: error,
    });
  }
  // PostgreSQL runs Drydock's `wal push` as that account: it must be able to read Drydock and node.
  for (const path of [drydockEntry(), resolve(dirname(drydockEntry()), '../dist/cli/main.js'), process.execPath]) {
    try {
      await exec('test', ['-r', path], { runAs, timeoutMs: 10_000 });
    } catch {
      throw new DrydockError(
        'CONFIG_INVALID',
        `the demo's PostgreSQL runs as "${runAs}" (PostgreSQL refuses root) and archives WAL by running Drydock, but "${runAs}" cannot read ${path}`,
        {
          hint: `put Drydock in a folder ${runAs} can read (e.g. /opt/drydock or /tmp, not /root), or run the demo as a non-root user`,
        },
      );
    }
  }
}

async function chown(path: string, runAs: string | null): Promise<void> {
  if (runAs) await exec('chown', ['-R', `${runAs}:`, path], { timeoutMs: 60_000 });
}

async function pgCtl(pgBin: string, args: string[], runAs: string | null, timeoutMs = 90_000) {
  return exec(join(pgBin, 'pg_ctl'), args, { ...(runAs ? { runAs } : {}), timeoutMs, what: 'pg_ctl' });
}

async function startPostgres(
  options: DemoOptions,
  paths: DemoPaths,
  runAs: string | null,
  port: number,
): Promise<void> {
  const pgBin = options.pgBin ?? DEFAULT_PG_BIN;
  const log = options.log ?? (() => undefined);
  if (existsSync(join(paths.dataDir, 'postmaster.pid'))) {
    // A demo that was killed left its server running: stop it, then start it on a fresh port.
    await pgCtl(pgBin, ['-D', paths.dataDir, '-m', 'fast', '-w', 'stop'], runAs).catch(() => undefined);
  }
  if (!existsSync(join(paths.dataDir, 'PG_VERSION'))) {
    mkdirSync(paths.pgDir, { recursive: true });
    await chown(paths.pgDir, runAs);
    log(`initdb ${paths.dataDir} (data checksums on)`);
    await exec(
      join(pgBin, 'initdb'),
      ['-k', '-D', paths.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { ...(runAs ? { runAs } : {}), timeoutMs: 180_000, what: 'initdb' },
    );
    const settings = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${paths.pgDir}'`,
      wal_level: 'replica',
      archive_mode: 'on',
      // Drydock's own `wal push`, with absolute paths: PostgreSQL runs it without Drydock's PATH.
      archive_command: `'${walCommand('push', paths.policy).replace(/'/g, "''")}'`,
      archive_timeout: '60',
      shared_buffers: "'64MB'",
      max_wal_size: "'256MB'",
      autovacuum: 'on',
    };
    writeFileSync(
      join(paths.dataDir, 'postgresql.conf'),
      `${readFileSync(join(paths.dataDir, 'postgresql.conf'), 'utf8')}\n# written by drydock start --demo\n${Object.entries(
        settings,
      )
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n')}\n`,
    );
  }
  log(`starting PostgreSQL on 127.0.0.1:${port}${runAs ? ` as ${runAs}` : ''}`);
  await pgCtl(
    pgBin,
    ['-D', paths.dataDir, '-l', join(paths.pgDir, 'server.log'), '-o', `-p ${port}`, '-w', '-t', '60', 'start'],
    runAs,
  );
}

async function startRedis(options: DemoOptions, paths: DemoPaths): Promise<number> {
  const pidFile = join(paths.redisDir, 'redis.pid');
  mkdirSync(paths.redisDir, { recursive: true });
  await stopRedis(pidFile);
  const port = await freePort();
  (options.log ?? (() => undefined))(`starting redis-server on 127.0.0.1:${port}`);
  await exec(
    options.redisServer ?? '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      paths.redisDir,
      '--daemonize',
      'yes',
      '--pidfile',
      pidFile,
      '--logfile',
      join(paths.redisDir, 'redis.log'),
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory',
      '256mb',
      '--maxmemory-policy',
      'allkeys-lru',
    ],
    { timeoutMs: 30_000, what: 'redis-server' },
  );
  return port;
}

async function stopRedis(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(pidFile, { force: true });
}

/** Upload-like files (a few MB), written once. */
function writeUploads(dir: string): void {
  if (existsSync(dir)) return;
  for (let listing = 1; listing <= 12; listing++) {
    const folder = join(dir, 'listings', String(listing));
    mkdirSync(folder, { recursive: true });
    for (let photo = 1; photo <= 4; photo++)
      writeFileSync(join(folder, `photo-${photo}.jpg`), randomBytes(20_000 + ((listing * photo * 7919) % 60_000)));
  }
  mkdirSync(join(dir, 'avatars'), { recursive: true });
  for (let user = 1; user <= 20; user++) writeFileSync(join(dir, 'avatars', `user-${user}.png`), randomBytes(8_000));
}

/** A log past its size limit, temp files past their age and more releases than are kept: work for server.cleanup. */
function writeCleanupTree(srv: string): void {
  const log = join(srv, 'log');
  const tmp = join(srv, 'tmp');
  const releases = join(srv, 'releases');
  for (const dir of [log, tmp, releases]) mkdirSync(dir, { recursive: true });
  const line = `${new Date().toISOString()} GET /listings/42 200 12ms\n`;
  writeFileSync(join(log, 'app.log'), line.repeat(Math.ceil(3_000_000 / line.length)));
  const old = new Date(Date.now() - 10 * 86_400_000);
  for (let i = 1; i <= 5; i++) {
    const file = join(tmp, `upload-${i}.part`);
    writeFileSync(file, randomBytes(4096));
    utimesSync(file, old, old);
  }
  for (let i = 1; i <= 8; i++) {
    const release = join(releases, `2026112${i}-1200`);
    if (existsSync(release)) continue;
    mkdirSync(release, { recursive: true });
    writeFileSync(join(release, 'app.js'), `// release ${i}\n`);
    writeFileSync(join(release, '.deployed'), '');
    const at = new Date(Date.now() - (9 - i) * 86_400_000);
    utimesSync(release, at, at);
  }
  const current = join(releases, 'current');
  if (!existsSync(current) && !isLink(current)) symlinkSync('20261128-1200', current);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The stakeholder the demo's admin token belongs to. */
export const DEMO_ADMIN = 'Demo admin';

/** The policy of the demo: the spec's defaults, pointed at the demo's own servers and folders. */
function demoPolicy(paths: DemoPaths, pgPort: number, redisPort: number, pgBin: string): Record<string, unknown> {
  const policy = {
    state: { path: 'state.sqlite' },
    // The demo's one person: `start --demo` creates their admin token once (README "Security model").
    stakeholders: [{ name: DEMO_ADMIN, roles: ['Platform lead'], access: 'admin' }],
    targets: {
      postgres: { host: '127.0.0.1', port: pgPort, user: 'postgres', database: DEMO_DATABASE },
      redis: { host: '127.0.0.1', port: redisPort },
    },
    // 3,000 cache keys and 300 session keys are seeded: the key threshold makes eviction remove the
    // 300 stalest cache keys and never a session.
    cache: { eviction: { evictable_namespaces: ['cache:'], threshold: { keys: 3000 } } },
    server: {
      health_check: {
        services: [
          { name: 'demo-postgres', tcp: `127.0.0.1:${pgPort}` },
          { name: 'demo-redis', tcp: `127.0.0.1:${redisPort}` },
        ],
      },
      cleanup: {
        roots: [paths.srv],
        allowed_prefixes: [paths.root],
        logs: [{ path: join(paths.srv, 'log', '*.log'), max_size: '1MB' }],
        temp: [{ dir: join(paths.srv, 'tmp'), older_than: '7 days' }],
        deployments: { root: join(paths.srv, 'releases') },
      },
    },
    backup: {
      repository: { path: paths.repository },
      postgres: {
        data_directory: paths.dataDir,
        bin_directory: pgBin,
        archive_timeout: '2 minutes',
        restore_command: walCommand('get', paths.policy),
      },
      files: {
        user_uploads: { path: paths.uploads },
        configuration: { paths: [paths.config] },
      },
    },
    // The daily scan reads the demo app's lockfile against an offline OSV file written beside it (two
    // real advisories: lodash 4.17.20 and minimist 1.2.5 are affected, express 4.21.2 is not).
    security: {
      scans: {
        vulnerability: {
          host: 'demo',
          scanners: {
            npm: { lockfile: join(paths.app, 'package-lock.json'), advisories: join(paths.app, 'osv-npm.json') },
          },
        },
      },
    },
  };
  // Written by Drydock itself, so it must be valid: parse it before anyone relies on it.
  policySchema.parse(policy);
  return policy;
}

/**
 * Creates (first time) or restarts (later) the demo's infrastructure under `root` and writes its
 * policy. Returns what the tour and the daemon need, and how to stop the servers again.
 */
export async function startDemoInfrastructure(options: DemoOptions): Promise<DemoInfrastructure> {
  const paths = demoPaths(options.root);
  const runAs = process.getuid?.() === 0 ? 'postgres' : null;
  const pgBin = options.pgBin ?? DEFAULT_PG_BIN;
  await checkPrerequisites(options, paths, runAs);
  mkdirSync(paths.root, { recursive: true, mode: 0o755 });
  if (runAs && (statSync(paths.root).mode & 0o005) !== 0o005) {
    throw new DrydockError('CONFIG_INVALID', `the demo folder ${paths.root} is not readable by ${runAs}`, {
      hint: 'chmod 755 it, or run the demo from another folder',
    });
  }
  mkdirSync(paths.repository, { recursive: true });
  await chown(paths.repository, runAs);
  writeUploads(paths.uploads);
  mkdirSync(dirname(paths.config), { recursive: true });
  if (!existsSync(paths.config)) writeFileSync(paths.config, 'listings:\n  page_size: 20\n  cache_ttl: 300\n');
  writeCleanupTree(paths.srv);
  writeDemoApp(paths.app);

  const redisPort = await startRedis(options, paths);
  const pgPort = await freePort();
  try {
    // archive_command reads this policy (for the repository): it is written before PostgreSQL starts.
    writeFileSync(paths.policy, policyText(paths.policy, demoPolicy(paths, pgPort, redisPort, pgBin)));
    await startPostgres(options, paths, runAs, pgPort);
  } catch (error) {
    await stopRedis(join(paths.redisDir, 'redis.pid'));
    throw error;
  }
  return {
    paths,
    postgres: policySchema.parse(demoPolicy(paths, pgPort, redisPort, pgBin)).targets.postgres,
    redisPort,
    runAs,
    async stop() {
      await pgCtl(pgBin, ['-D', paths.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], runAs).catch(() => undefined);
      await stopRedis(join(paths.redisDir, 'redis.pid'));
    },
  };
}

function policyText(file: string, policy: Record<string, unknown>): string {
  return `# Written by \`drydock start --demo\` for its own PostgreSQL cluster, redis-server and folders.
# Explore what the tour did: drydock --policy ${file} history (or show RUN, activity, backup list)
${stringify(policy)}`;
}

/** Dokkerr's web app as a lockfile, and the OSV advisories of two of its packages (the scan's offline database). */
function writeDemoApp(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const pkg = (name: string, version: string) => ({
    version,
    resolved: `https://registry.example/${name}/-/${name}-${version}.tgz`,
    license: 'MIT',
  });
  const lock = {
    name: 'dokkerr-web',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': {
        name: 'dokkerr-web',
        version: '1.0.0',
        dependencies: { express: '^4.21.2', lodash: '^4.17.20', minimist: '^1.2.5' },
      },
      'node_modules/express': pkg('express', '4.21.2'),
      'node_modules/lodash': pkg('lodash', '4.17.20'),
      'node_modules/minimist': pkg('minimist', '1.2.5'),
    },
  };
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  const advisory = (id: string, cve: string, name: string, fixed: string, severity: string, summary: string) => ({
    schema_version: '1.6.0',
    id,
    modified: '2024-11-20T09:12:00Z',
    published: '2021-02-15T11:00:00Z',
    aliases: [cve],
    summary,
    affected: [
      {
        package: { ecosystem: 'npm', name, purl: `pkg:npm/${name}` },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }],
      },
    ],
    database_specific: { severity },
  });
  const osv = [
    advisory('GHSA-35jh-r3h4-6jhm', 'CVE-2021-23337', 'lodash', '4.17.21', 'HIGH', 'Command Injection in lodash'),
    advisory(
      'GHSA-xvch-5gv4-984h',
      'CVE-2021-44906',
      'minimist',
      '1.2.6',
      'CRITICAL',
      'Prototype Pollution in minimist',
    ),
  ];
  writeFileSync(join(dir, 'osv-npm.json'), `${JSON.stringify(osv, null, 2)}\n`);
}
