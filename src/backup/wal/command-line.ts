// The archive_command and restore_command Drydock prints and writes. They are self-sufficient:
// the absolute path of node and of Drydock's entry point, and the repository (with how to find its
// key) on the command line, so PostgreSQL, which runs them through /bin/sh with its own PATH and
// working directory, never falls back to a default policy or repository.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Policy } from '../../policy/schema.js';
import { spoolFolder } from './cli.js';

/** Drydock's executable entry point (bin/drydock.js), from this file's place in src/ or dist/. */
export function drydockEntry(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/drydock.js');
}

/** Quotes a word for /bin/sh when it holds anything beyond a plain path. */
export function shellWord(word: string): string {
  return /^[\w./+@:%,=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface WalCommandOptions {
  /** The repository folder (made absolute against the working directory). */
  repository: string;
  keyEnv?: string | undefined;
  keyFile?: string | undefined;
  level?: number;
  /** push: asynchronous archiving (spool under pg_wal, background pusher). */
  async?: boolean;
  /** get: segments to prefetch ahead of recovery (0: none). */
  prefetch?: number;
  /** Worker threads of the background pusher / prefetcher. */
  processes?: number;
  /** node and bin/drydock.js; default: the running node and this installation. */
  node?: string;
  entry?: string;
}

/** The command line for one verb, with PostgreSQL's %p and %f placeholders. */
export function walCommand(verb: 'push' | 'get', options: WalCommandOptions): string {
  const words = [options.node ?? process.execPath, options.entry ?? drydockEntry(), 'wal', verb];
  const placeholders = verb === 'push' ? ['"%p"', '%f'] : ['%f', '"%p"'];
  const flags = ['--repo', resolve(options.repository)];
  if (options.keyEnv) flags.push('--key-env', options.keyEnv);
  if (options.keyFile) flags.push('--key-file', resolve(options.keyFile));
  if (verb === 'push' && options.level !== undefined && options.level !== 1)
    flags.push('--level', String(options.level));
  const background = (verb === 'push' && options.async) || (verb === 'get' && (options.prefetch ?? 0) > 0);
  if (verb === 'push' && options.async) flags.push('--async');
  if (verb === 'get' && options.prefetch) flags.push('--prefetch', String(options.prefetch));
  if (background && options.processes !== undefined) flags.push('--processes', String(options.processes));
  const line = [...words.map(shellWord), ...placeholders, ...flags.map(shellWord)].join(' ');
  // The common case in the shell, without starting node: the segment is already acknowledged (its
  // .ok exists only once it is fsynced in the repository) or the running pusher acknowledges it
  // (bin/drydock-wal-ack waits for the .ok), or it is already prefetched and verified.
  // The spool folders are the cli's defaults, relative to the data directory PostgreSQL runs in.
  const ack = shellWord(join(dirname(options.entry ?? drydockEntry()), 'drydock-wal-ack'));
  if (verb === 'push' && options.async) {
    const spool = spoolFolder('archive', options.repository);
    return `test -f ${spool}/%f.ok || ${ack} push ${spool} %f || ${line}`;
  }
  if (verb === 'get' && background) {
    const spool = spoolFolder('prefetch', options.repository);
    return `mv -f ${spool}/%f "%p" 2>/dev/null || ${ack} get ${spool} %f "%p" || ${line}`;
  }
  return line;
}

/** Segments `wal get` keeps ready ahead of recovery in the restore_command Drydock writes (pgBackRest: 128 MiB). */
export const DEFAULT_PREFETCH = 8;

export function walCommandOptions(policy: Policy): WalCommandOptions {
  const r = policy.backup.repository;
  return {
    repository: r.path,
    keyEnv: r.encryption_key?.env,
    keyFile: r.encryption_key?.file,
    level: r.level,
    processes: r.processes,
  };
}

/** archive_command for this policy's repository (asynchronous with `async`). */
export function archiveCommand(policy: Policy, options: { async?: boolean } = {}): string {
  return walCommand('push', { ...walCommandOptions(policy), async: options.async ?? false });
}

/** restore_command: the policy's own when it sets one, else Drydock's `wal get` with prefetch and absolute paths. */
export function restoreCommand(policy: Policy): string {
  return (
    policy.backup.postgres.restore_command ??
    walCommand('get', { ...walCommandOptions(policy), prefetch: DEFAULT_PREFETCH })
  );
}

/** A value for postgresql.conf: single-quoted, with quotes doubled. */
export function confValue(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
