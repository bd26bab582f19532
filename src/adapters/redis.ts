// A thin Redis connection for tasks and collectors: node-redis core with no reconnect loop (a task
// or one collection round connects, works, closes), a timeout on every command (a paused server
// must not hang a run), and errors that name the target as host:port.
import { Socket } from 'node:net';
import { RedisClient } from '@redis/client';
import { DrydockError } from '../errors.js';
import type { Duration } from '../policy/values.js';
import { resolveSecret } from '../policy/secrets.js';
import type { SecretRef } from '../policy/schema.js';

// node-redis builds a client class per options object and caches only the last one, compared as
// JSON with the port included, so alternating between servers rebuilt it on every connect (20-50 ms
// of CPU each). Building it once from an empty config and passing the options per client avoids that.
const newClient = RedisClient.factory({});

export interface RedisTargetConfig {
  host: string;
  port: number;
  username?: string | undefined;
  password?: SecretRef | undefined;
  /** The policy's connect_timeout; also the per-command timeout unless commandTimeoutMs is given. */
  connect_timeout?: Duration | undefined;
}

/** For servers that are not policy targets (throwaway servers Drydock starts itself). */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** The connect timeout for a target, in ms (at least 100). */
export function redisConnectTimeoutMs(target: Pick<RedisTargetConfig, 'connect_timeout'>): number {
  return Math.max(target.connect_timeout?.ms ?? DEFAULT_CONNECT_TIMEOUT_MS, 100);
}

export interface RedisConnectOptions {
  /** Overrides target.connect_timeout (a collection round's own budget). */
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export type RedisReply = string | number | null | RedisReply[] | Buffer;

export interface RedisConnection {
  /** "host:port", as used in every message. */
  readonly target: string;
  command(args: string[]): Promise<RedisReply>;
  /** INFO [section] parsed into key → value. */
  info(section?: string): Promise<Record<string, string>>;
  /** Round-trip time of one PING in milliseconds. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export function redisTargetName(target: { host: string; port: number }): string {
  return `${target.host}:${target.port}`;
}

/** INFO text → flat map. Section headers and blank lines are skipped. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** "ip=127.0.0.1,port=6380,state=online,offset=42,lag=0" → {ip, port, state, offset, lag}. */
export function parseInfoFields(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at)] = part.slice(at + 1);
  }
  return out;
}

function classify(error: unknown, target: string): DrydockError {
  if (error instanceof DrydockError) return error;
  const err = error as NodeJS.ErrnoException & { message?: string };
  const message = String(err?.message ?? error);
  if (/WRONGPASS|NOAUTH|NOPERM|invalid username-password/i.test(message)) {
    return new DrydockError('TARGET_AUTH_FAILED', `Redis at ${target} refused the credentials: ${message}`, {
      hint: 'check targets.redis.username and the password secret',
      cause: error,
    });
  }
  const code = err?.code ?? (/timeout/i.test(message) ? 'ETIMEDOUT' : undefined);
  return new DrydockError('TARGET_UNREACHABLE', `Redis at ${target} is unreachable: ${code ?? message}`, {
    retryable: true,
    hint: `check that redis-server is running and listening on ${target}`,
    cause: error,
    details: { target },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, target: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DrydockError('TARGET_UNREACHABLE', `Redis at ${target} did not answer ${what} within ${ms} ms`, {
            retryable: true,
            details: { target },
          }),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function connectRedis(
  target: RedisTargetConfig,
  options: RedisConnectOptions = {},
): Promise<RedisConnection> {
  const name = redisTargetName(target);
  const connectTimeout =
    options.connectTimeoutMs === undefined ? redisConnectTimeoutMs(target) : Math.max(options.connectTimeoutMs, 100);
  const commandTimeout = options.commandTimeoutMs ?? connectTimeout;
  const password = resolveSecret(target.password, 'targets.redis.password', options.env);
  const client = newClient({
    socket: { host: target.host, port: target.port, connectTimeout, reconnectStrategy: false },
    ...(target.username ? { username: target.username } : {}),
    ...(password ? { password } : {}),
  });
  let lastError: unknown;
  // Without a listener an 'error' event would crash the process; keep it for the next message.
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await withTimeout(client.connect(), connectTimeout + 500, name, 'the connection');
  } catch (error) {
    client.destroy();
    throw classify(lastError ?? error, name);
  }
  let closed = false;
  const run = async (args: string[]): Promise<RedisReply> => {
    if (closed || !client.isOpen) throw classify(lastError ?? new Error('connection closed'), name);
    try {
      return await withTimeout(client.sendCommand<RedisReply>(args), commandTimeout, name, args[0] ?? 'command');
    } catch (error) {
      // A timed-out command leaves the connection in an unknown state: drop it.
      if (error instanceof DrydockError && error.code === 'TARGET_UNREACHABLE') {
        closed = true;
        client.destroy();
      }
      if (error instanceof Error && /^(ERR|WRONGTYPE|NOSCRIPT|BUSY|READONLY|OOM|LOADING)/.test(error.message))
        throw error;
      throw classify(error, name);
    }
  };
  return {
    target: name,
    command: run,
    async info(section) {
      const reply = await run(section ? ['INFO', section] : ['INFO']);
      return parseInfo(String(reply));
    },
    async ping() {
      const start = process.hrtime.bigint();
      await run(['PING']);
      return Number(process.hrtime.bigint() - start) / 1e6;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (client.isOpen) await withTimeout(client.close(), 1000, name, 'QUIT');
      } catch {
        client.destroy();
      }
    },
  };
}

/** Total keys over every database, from INFO keyspace ("db0:keys=12,expires=0,..."). */
export function keyspaceKeys(info: Record<string, string>): number {
  let total = 0;
  for (const [name, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(name)) continue;
    const match = /keys=(\d+)/.exec(value);
    if (match) total += Number(match[1]);
  }
  return total;
}

/** What Redis memory use is measured against: maxmemory, or the host's memory when there is no limit. */
export function memoryLimit(state: {
  /** 0 means "no limit": then memory is measured against the host's memory. */
  maxmemory: number;
  systemMemory: number;
}): {
  limitBytes: number;
  measuredAgainst: 'maxmemory' | 'host memory';
} {
  return state.maxmemory > 0
    ? { limitBytes: state.maxmemory, measuredAgainst: 'maxmemory' }
    : { limitBytes: state.systemMemory, measuredAgainst: 'host memory' };
}

/**
 * A raw TCP connection to Redis, for the one protocol node-redis does not speak: reading a snapshot
 * as a replica would (PSYNC, backup/redis/psync.ts). A connect timeout, the abort signal, errors
 * naming host:port, and an 'error' listener that stays, so a connection dropped later never
 * crashes the process (the reader sees the failure on its own listener or stream).
 */
export async function connectRedisSocket(
  target: { host: string; port: number; connectTimeoutMs?: number | undefined },
  signal?: AbortSignal,
): Promise<Socket> {
  const name = redisTargetName(target);
  const unreachable = (what: string, cause?: unknown) =>
    new DrydockError('TARGET_UNREACHABLE', `Redis at ${name} ${what}`, {
      retryable: true,
      hint: `check that redis-server is running and listening on ${name}`,
      cause,
      details: { target: name },
    });
  const socket = new Socket();
  const timeoutMs = target.connectTimeoutMs ?? 5000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(`did not accept a connection within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new DrydockError('ABORTED', `Redis connection to ${name} aborted`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(unreachable(`is unreachable: ${error.code ?? error.message}`, error));
    });
    socket.connect(target.port, target.host, () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve();
    });
  });
  socket.setNoDelay(true);
  return socket;
}
