// The light entry point PostgreSQL runs once per WAL file: `drydock wal push|get ... --repo DIR`.
// bin/drydock.js sends these command lines here before the full CLI loads, so a push or get loads
// only this file, the repository reader and zstd (no policy schema, no commander, no HTTP server).
// The arguments are parsed by hand: five flags do not justify loading a parser on a path that runs
// hundreds of times a minute on a busy primary.
//
//   drydock wal push <path> <name> --repo DIR [--key-env NAME | --key-file PATH] [--level N]
//                                   [--async [--spool DIR] [--processes N]]
//   drydock wal get  <name> <dest> --repo DIR [--key-env NAME | --key-file PATH]
//                                   [--prefetch N [--spool DIR] [--processes N]]
//
// --async and --prefetch use a spool folder (spool.ts), by default under pg_wal (relative paths are
// relative to the data directory, where PostgreSQL runs these commands):
// pg_wal/drydock-archive-<repository hash> for push, pg_wal/drydock-prefetch-<repository hash> for
// get, so acknowledgements made for one repository never count for another after archive_command
// changes. Backups and pg_basebackup leave pg_wal's content out, and PostgreSQL ignores folders there.
//
// Exit codes follow what PostgreSQL does with them:
// - push: 0 only once the file is durable in the repository; 1 otherwise (PostgreSQL keeps the
//   file and retries).
// - get: 0 when the file was written to <dest>; 1 when the repository does not have it (the
//   normal end of the archive); 200 for anything else: a damaged archived file, an unreadable
//   repository, a wrong key, a bad command line. PostgreSQL 15 aborts recovery when the restore
//   command exits above 125 (shell_restore: wait_result_is_any_signal(rc, true) is FATAL), where
//   exit 1 would mean "end of archive" and the server would promote without the rest of the WAL.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DrydockError, describeError } from '../../errors.js';
import type { Repository } from '../repository.js';

export const EXIT_OK = 0;
/** push: failed, PostgreSQL retries. get: not in the archive. */
export const EXIT_FAILED = 1;
/** get: recovery must stop (PostgreSQL aborts recovery above 125). */
export const EXIT_STOP_RECOVERY = 200;

/** The default spool folder, relative to the data directory, for one repository. */
export function spoolFolder(kind: 'archive' | 'prefetch', repository: string): string {
  return `pg_wal/drydock-${kind}-${createHash('sha256').update(resolve(repository)).digest('hex').slice(0, 8)}`;
}

export interface WalArgs {
  verb: 'push' | 'get';
  /** push: the path (%p); get: the name (%f). */
  first: string;
  /** push: the name (%f); get: the destination (%p). */
  second: string;
  repo: string;
  keyEnv?: string;
  keyFile?: string;
  level: number;
  async: boolean;
  spool?: string;
  processes: number;
  prefetch: number;
}

const VALUE_FLAGS = new Set(['--repo', '--key-env', '--key-file', '--level', '--spool', '--processes', '--prefetch']);
const BOOLEAN_FLAGS = new Set(['--async']);

/** Parses `push|get a b --flags`; throws a USAGE DrydockError naming every problem. */
export function parseWalArgs(argv: readonly string[]): WalArgs {
  const positional: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_FLAGS.has(flag)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') problems.push(`${flag} needs a value`);
      else values.set(flag, value);
    } else if (BOOLEAN_FLAGS.has(arg)) flags.add(arg);
    else if (arg.startsWith('--')) problems.push(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [verb, first, second, ...extra] = positional;
  if (verb !== 'push' && verb !== 'get') problems.push(`expected push or get, got ${JSON.stringify(verb ?? '')}`);
  if (!first || !second)
    problems.push(verb === 'get' ? 'get needs the file name (%f) and the destination (%p)' : 'push needs %p and %f');
  if (extra.length > 0) problems.push(`unexpected arguments: ${extra.join(' ')}`);
  const repo = values.get('--repo');
  if (!repo) problems.push('--repo DIR is required (the repository, an absolute path)');
  else if (!isAbsolute(repo)) problems.push(`--repo must be an absolute path, got ${repo}`);
  if (values.has('--key-env') && values.has('--key-file')) problems.push('give --key-env or --key-file, not both');
  const number = (flag: string, fallback: number, min: number, max: number): number => {
    const text = values.get(flag);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${flag} must be a whole number from ${min} to ${max}, got ${text}`);
      return fallback;
    }
    return n;
  };
  const level = number('--level', 1, 1, 19);
  const processes = number('--processes', 2, 1, 32);
  const prefetch = number('--prefetch', 0, 0, 256);
  if (flags.has('--async') && verb !== 'push') problems.push('--async applies to push only');
  if (prefetch > 0 && verb !== 'get') problems.push('--prefetch applies to get only');
  const spool =
    values.get('--spool') ??
    (repo && flags.has('--async')
      ? spoolFolder('archive', repo)
      : repo && prefetch > 0
        ? spoolFolder('prefetch', repo)
        : undefined);
  if (problems.length > 0)
    throw new DrydockError('USAGE', `drydock wal: ${problems.join('; ')}`, {
      hint: 'drydock wal push "%p" %f --repo DIR | drydock wal get %f "%p" --repo DIR',
    });
  const args: WalArgs = {
    verb: verb as 'push' | 'get',
    first: first!,
    second: second!,
    repo: repo!,
    level,
    async: flags.has('--async'),
    processes,
    prefetch,
  };
  const keyEnv = values.get('--key-env');
  const keyFile = values.get('--key-file');
  if (keyEnv) args.keyEnv = keyEnv;
  if (keyFile) args.keyFile = keyFile;
  if (spool) args.spool = spool;
  return args;
}

/** The encryption key the flags name (same rules as the policy's encryption_key: env or file). */
export function walKey(
  args: Pick<WalArgs, 'keyEnv' | 'keyFile'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (args.keyEnv) {
    const value = env[args.keyEnv];
    if (!value)
      throw new DrydockError('SECRET_MISSING', `environment variable ${args.keyEnv} (the repository key) is not set`, {
        hint: "PostgreSQL runs this command: the variable must be in the PostgreSQL server's environment",
      });
    return value;
  }
  if (args.keyFile) {
    try {
      return readFileSync(args.keyFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new DrydockError(
        'SECRET_MISSING',
        `cannot read the repository key file ${args.keyFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        { hint: 'the account PostgreSQL runs as must be able to read it' },
      );
    }
  }
  return undefined;
}

/** The repository the flags name (loads the repository code and zstd on first use). */
export async function openWalRepository(args: WalArgs, create: boolean): Promise<Repository> {
  const { openRepository } = await import('../repository.js');
  return openRepository(
    { path: args.repo, compression: 'zstd', level: args.level, processes: 1, encryptionKey: walKey(args) },
    { create },
  );
}

/** Runs one command line; returns the exit code. Messages go to stderr (PostgreSQL's log). */
export async function runWalCommand(argv: readonly string[], stderr = process.stderr): Promise<number> {
  const getVerb = argv.includes('get') && !argv.includes('push');
  let args: WalArgs;
  try {
    args = parseWalArgs(argv);
  } catch (error) {
    stderr.write(`${describeError(error)}\n`);
    return getVerb ? EXIT_STOP_RECOVERY : EXIT_FAILED;
  }
  if (args.verb === 'push') {
    try {
      if (args.async) {
        // Only the spool code: the acknowledgement path loads neither zstd nor the repository.
        const { pushAsync } = await import('./spool.js');
        return await pushAsync(args, stderr);
      }
      const { pushWal } = await import('../wal-archive.js');
      pushWal(await openWalRepository(args, true), args.first, args.second);
      return EXIT_OK;
    } catch (error) {
      stderr.write(`drydock wal push ${args.second}: ${describeError(error)}\n`);
      return EXIT_FAILED;
    }
  }
  const name = args.first;
  const dest = resolve(args.second);
  try {
    if (args.prefetch > 0) {
      const { getWithPrefetch } = await import('./spool.js');
      return (await getWithPrefetch(args, name, dest)) ? EXIT_OK : EXIT_FAILED;
    }
    const { getWal } = await import('../wal-archive.js');
    return getWal(await openWalRepository(args, false), name, dest) ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    stderr.write(
      `drydock wal get ${name}: ${describeError(error)}; stopping recovery (exit ${EXIT_STOP_RECOVERY}) rather than ending it early without this file\n`,
    );
    return EXIT_STOP_RECOVERY;
  }
}
