// The one way Drydock runs a child process (Renovate's `exec()` idea): always async, always with a
// timeout, an abort signal, an environment allow-list, an output cap, output passed through the
// redactor, and a failure turned into a DrydockError with a code and a hint. Never a shell: the
// program and its arguments go to the kernel as a list, so no value is ever interpolated into a
// command line.
//
// Written here rather than taken from execa or nano-spawn: execa 10 needs Node 22, and neither
// redacts secrets from captured output or maps failures onto DrydockError; the wrapper is a thin
// layer over node:child_process either way.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { DrydockError } from '../errors.js';
import { redactor } from '../policy/redact.js';

/** Variables a child inherits unless the caller adds more; the rest of Drydock's environment stays out. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'USER', 'LOGNAME', 'SHELL'];
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;
/** After SIGTERM on timeout or abort, how long a child gets before SIGKILL. */
const KILL_GRACE_MS = 5_000;

export interface ExecOptions {
  /** Working directory. */
  cwd?: string;
  /** Variables added to (or overriding) the allow-listed part of process.env. */
  env?: Record<string, string | undefined>;
  /** Extra names of process.env variables the child may see (e.g. PGPASSWORD). */
  inheritEnv?: string[];
  /** Kills the child (SIGTERM, then SIGKILL) after this long; default 10 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Bytes kept of each of stdout and stderr (the rest is counted, not kept); default 4 MiB. */
  maxOutput?: number;
  /** Exit codes that count as success; default [0]. */
  okCodes?: number[];
  /** Runs the program as this user through runuser (Drydock as root, PostgreSQL tools as postgres). */
  runAs?: string;
  /** How the failure reads, e.g. "pg_verifybackup"; default the program's base name. */
  what?: string;
  /** Added to the error when the program fails, e.g. what to check or install. */
  hint?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was longer than maxOutput and was cut. */
  truncated: boolean;
  durationMs: number;
}

/** The environment a child sees: the allow-list, plus what the caller names. */
function childEnv(options: Pick<ExecOptions, 'env' | 'inheritEnv'> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...INHERITED_ENV, ...(options.inheritEnv ?? [])]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function commandLine(program: string, args: string[], runAs?: string): [string, string[]] {
  return runAs ? ['runuser', ['-u', runAs, '--', program, ...args]] : [program, args];
}

function baseName(program: string): string {
  return program.split('/').pop() ?? program;
}

/** The last lines of a program's output, redacted, for an error message. */
export function tail(text: string, lines = 20): string {
  const all = redactor.text(text).trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * Runs a program to completion and returns its output. Rejects with a DrydockError:
 * EXEC_FAILED for a missing program, a non-accepted exit code or a signal; EXEC_TIMEOUT on timeout;
 * ABORTED when the signal fired.
 */
export function exec(program: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const what = options.what ?? baseName(program);
  const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const started = Date.now();
  return new Promise<ExecResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new DrydockError('ABORTED', `${what} was not started: the run was cancelled`));
      return;
    }
    const [file, argv] = commandLine(program, args, options.runAs);
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: childEnv(options),
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so a timeout or abort stops what the program started too.
      detached: true,
      shell: false,
    });
    const out = capture(maxOutput);
    const err = capture(maxOutput);
    child.stdout.on('data', out.push);
    child.stderr.on('data', err.push);
    const stop = watchdog(child, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.signal);
    child.on('error', (error: NodeJS.ErrnoException) => {
      stop.clear();
      reject(
        new DrydockError(
          'EXEC_FAILED',
          error.code === 'ENOENT' ? `${what}: program ${file} not found` : `${what} could not start: ${error.message}`,
          {
            hint: options.hint ?? (error.code === 'ENOENT' ? `install ${baseName(file)} or fix its path` : undefined),
            cause: error,
          },
        ),
      );
    });
    child.on('close', (code, signal) => {
      stop.clear();
      const result: ExecResult = {
        code: code ?? -1,
        stdout: redactor.text(out.text()),
        stderr: redactor.text(err.text()),
        truncated: out.truncated() || err.truncated(),
        durationMs: Date.now() - started,
      };
      const failure = stop.reason() ?? exitFailure(what, code, signal, options.okCodes ?? [0], result, options.hint);
      if (failure) reject(failure);
      else resolve(result);
    });
    child.stdin.on('error', () => undefined); // a program that exits before reading its input
    child.stdin.end(options.input ?? '');
  });
}

function exitFailure(
  what: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  okCodes: number[],
  result: ExecResult,
  hint: string | undefined,
): DrydockError | null {
  if (code !== null && okCodes.includes(code)) return null;
  const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
  const output = tail(result.stderr || result.stdout, 12);
  return new DrydockError('EXEC_FAILED', `${what} ${how}${output ? `:\n${output}` : ''}`, {
    ...(hint ? { hint } : {}),
    details: { code, signal, stderr: tail(result.stderr, 40) },
  });
}

function capture(max: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let cut = false;
  return {
    push: (chunk: Buffer) => {
      if (kept >= max) {
        cut = true;
        return;
      }
      const part = kept + chunk.length > max ? chunk.subarray(0, max - kept) : chunk;
      if (part.length < chunk.length) cut = true;
      chunks.push(part);
      kept += part.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    truncated: () => cut,
  };
}

/** Signals the child's process group when it leads one (detached), else the child alone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Kills the child on timeout or abort (SIGTERM, then SIGKILL after a grace) and remembers why. */
function watchdog(child: ChildProcess, timeoutMs: number, signal: AbortSignal | undefined) {
  let reason: DrydockError | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (why: DrydockError) => {
    if (reason) return;
    reason = why;
    signalGroup(child, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  const what = baseName(String(child.spawnfile));
  const timer = setTimeout(
    () =>
      kill(
        new DrydockError(
          'EXEC_TIMEOUT',
          `${what} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`,
          {
            retryable: true,
          },
        ),
      ),
    timeoutMs,
  );
  timer.unref();
  const onAbort = () => kill(new DrydockError('ABORTED', `${what} was stopped: the run was cancelled`));
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    clear() {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
    },
    reason: () => reason,
  };
}

export interface SpawnOptions extends Omit<ExecOptions, 'input' | 'maxOutput' | 'okCodes'> {
  stdio?: StdioOptions;
  /** Start the child in its own process group (default), so a timeout or abort stops everything it started. */
  detached?: boolean;
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves when the child exits with an accepted code; rejects like `exec`. */
  done: Promise<{ code: number; durationMs: number }>;
}

/**
 * Starts a program whose streams the caller plumbs itself (pg_dump → zstd, a server that keeps
 * running). The same timeout, abort and error rules as `exec`; stderr is kept (last 64 KiB) for the
 * error message unless the caller takes it over through `stdio`.
 */
export function spawnProcess(program: string, args: string[], options: SpawnOptions = {}): Spawned {
  const what = options.what ?? baseName(program);
  const [file, argv] = commandLine(program, args, options.runAs);
  const started = Date.now();
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: childEnv(options),
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? true,
    shell: false,
  });
  const err = capture(64 * 1024);
  child.stderr?.on('data', err.push);
  const stop = watchdog(child, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.signal);
  const done = new Promise<{ code: number; durationMs: number }>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      stop.clear();
      reject(
        new DrydockError(
          'EXEC_FAILED',
          error.code === 'ENOENT' ? `${what}: program ${file} not found` : `${what} could not start: ${error.message}`,
          { cause: error, ...(options.hint ? { hint: options.hint } : {}) },
        ),
      );
    });
    child.on('close', (code, signal) => {
      stop.clear();
      const stderr = redactor.text(err.text());
      const failure =
        stop.reason() ??
        exitFailure(
          what,
          code,
          signal,
          [0],
          { code: code ?? -1, stdout: '', stderr, truncated: false, durationMs: 0 },
          options.hint,
        );
      if (failure) reject(failure);
      else resolve({ code: code ?? 0, durationMs: Date.now() - started });
    });
  });
  done.catch(() => undefined); // the caller may only look at `child`; never an unhandled rejection
  return { child, done };
}
