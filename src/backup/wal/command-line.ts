// The archive_command and restore_command Drydock prints and writes. They are self-sufficient:
// the absolute path of node and of Drydock's entry point, and the repository (with how to find its
// key) on the command line, so PostgreSQL, which runs them through /bin/sh with its own PATH and
// working directory, never falls back to a default policy or repository.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Policy } from '../../policy/schema.js';

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
  return [...words.map(shellWord), ...placeholders, ...flags.map(shellWord)].join(' ');
}

export function walCommandOptions(policy: Policy): WalCommandOptions {
  const r = policy.backup.repository;
  return {
    repository: r.path,
    keyEnv: r.encryption_key?.env,
    keyFile: r.encryption_key?.file,
    level: r.level,
  };
}

/** archive_command for this policy's repository. */
export function archiveCommand(policy: Policy): string {
  return walCommand('push', walCommandOptions(policy));
}

/** restore_command: the policy's own when it sets one, else Drydock's `wal get` with absolute paths. */
export function restoreCommand(policy: Policy): string {
  return policy.backup.postgres.restore_command ?? walCommand('get', walCommandOptions(policy));
}

/** A value for postgresql.conf: single-quoted, with quotes doubled. */
export function confValue(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
