// Redis RDB backups over Redis's own replication protocol: Drydock connects like a replica
// (PSYNC ? -1), receives the full-resync RDB and hangs up. This works against a remote Redis that
// keeps nothing on disk. Not announcing "capa eof" makes the server send a length-prefixed RDB
// ($<len>\r\n<bytes>), so the end of the file is known without scanning for a marker.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DrydockError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from './fsync.js';
import { decodeObjectToBuffer, encodeObject, sha256Hex } from './object-codec.js';
import type { Repository } from './repository.js';

export interface RedisSource {
  host: string;
  port: number;
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs?: number;
}

export interface RedisBackupRecord {
  id: string;
  takenAt: string;
  source: string;
  rdbBytes: number;
  storedBytes: number;
  /** SHA-256 of the RDB itself (verified on every read) and of the stored object. */
  sha256: string;
  storedSha256: string;
  replicationId: string;
  offset: string;
  /** Keys per database at backup time (INFO keyspace), compared by the restore test. */
  keyspace: Record<string, number>;
}

function encodeCommand(args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

/** Parses "db0:keys=3,expires=0,avg_ttl=0" lines into {db0: 3}. */
export function parseKeyspace(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of info.split(/\r?\n/)) {
    const m = /^(db\d+):keys=(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Reads replies and the RDB payload from a replication connection. */
class ReplicaReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private ended: Error | undefined;
  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    socket.on('error', (e) => {
      this.ended = e;
      this.wake();
    });
    socket.on('close', () => {
      this.ended ??= new Error('connection closed by Redis');
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  private async more(): Promise<void> {
    if (this.ended) throw this.ended;
    await new Promise<void>((r) => this.waiters.push(r));
  }
  /** One line, without CRLF. Bare newlines (keep-alives while the RDB is prepared) are skipped. */
  async line(): Promise<string> {
    for (;;) {
      while (this.buf.length && this.buf[0] === 0x0a) this.buf = this.buf.subarray(1);
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString();
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      await this.more();
    }
  }
  /** Streams exactly n bytes to sink. */
  async bytes(n: number, sink: (chunk: Buffer) => void): Promise<void> {
    let left = n;
    for (;;) {
      if (this.buf.length) {
        const take = Math.min(left, this.buf.length);
        sink(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        left -= take;
      }
      if (left === 0) return;
      await this.more();
    }
  }
}

/** Fetches an RDB snapshot into `dest` over the replication protocol. */
export async function fetchRdb(source: RedisSource, dest: string): Promise<{ bytes: number; sha256: string; replicationId: string; offset: string; keyspace: Record<string, number> }> {
  const timeout = source.timeoutMs ?? 300_000;
  const socket = connect({ host: source.host, port: source.port });
  socket.setTimeout(timeout, () => socket.destroy(new Error(`no data from Redis for ${Math.round(timeout / 1000)} s`)));
  const reader = new ReplicaReader(socket);
  const where = `${source.host}:${source.port}`;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  } catch (error) {
    throw new DrydockError('TARGET_UNREACHABLE', `cannot connect to Redis at ${where}: ${(error as Error).message}`, { retryable: true });
  }
  const ask = async (args: string[]) => {
    socket.write(encodeCommand(args));
    const reply = await reader.line();
    if (reply.startsWith('-')) throw new DrydockError(/NOAUTH|WRONGPASS|invalid password/i.test(reply) ? 'TARGET_AUTH_FAILED' : 'EXEC_FAILED', `Redis at ${where} answered ${args[0]} with ${reply.slice(1)}`);
    if (reply.startsWith('$')) {
      const len = Number(reply.slice(1));
      const parts: Buffer[] = [];
      if (len >= 0) {
        await reader.bytes(len + 2, (c) => parts.push(Buffer.from(c)));
      }
      return Buffer.concat(parts).subarray(0, Math.max(0, len)).toString();
    }
    return reply;
  };
  let fd: number | undefined;
  try {
    if (source.password) await ask(source.username ? ['AUTH', source.username, source.password] : ['AUTH', source.password]);
    // The key counts are read just before the snapshot starts; a busy server may differ slightly.
    const keyspace = parseKeyspace(await ask(['INFO', 'keyspace']));
    await ask(['REPLCONF', 'listening-port', '0']);
    await ask(['REPLCONF', 'capa', 'psync2']);
    socket.write(encodeCommand(['PSYNC', '?', '-1']));
    const resync = await reader.line();
    const m = /^\+FULLRESYNC (\S+) (\d+)/.exec(resync);
    if (!m) throw new DrydockError('EXEC_FAILED', `Redis at ${where} did not start a full resync: ${resync}`, { hint: 'the Redis user needs permission for PSYNC/SYNC (ACL +psync +replconf)' });
    const header = await reader.line();
    if (!header.startsWith('$') || header.startsWith('$EOF:')) throw new DrydockError('EXEC_FAILED', `unexpected RDB header from Redis: ${header.slice(0, 60)}`);
    const length = Number(header.slice(1));
    fd = openSync(dest, 'w', 0o600);
    const hash = createHash('sha256');
    let first: Buffer | undefined;
    await reader.bytes(length, (chunk) => {
      if (!first) first = Buffer.from(chunk.subarray(0, 9));
      hash.update(chunk);
      writeSync(fd!, chunk);
    });
    fsyncSync(fd);
    if (!first || !first.toString('latin1').startsWith('REDIS')) throw new DrydockError('VALIDATION_FAILED', `the snapshot from ${where} is not an RDB file`);
    return { bytes: length, sha256: hash.digest('hex'), replicationId: m[1]!, offset: m[2]!, keyspace };
  } finally {
    if (fd !== undefined) closeSync(fd);
    socket.destroy();
  }
}

function redisDir(repo: Repository): string {
  const dir = join(repo.root, 'redis');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Takes an RDB backup into the repository: redis/<id>.rdb.zst, then redis/<id>.json written last. */
export async function backupRedis(repo: Repository, source: RedisSource, now: Date = new Date()): Promise<RedisBackupRecord> {
  const dir = redisDir(repo);
  const id = `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-')}R`;
  const tmp = join(dir, `${id}.rdb.partial`);
  try {
    const got = await fetchRdb(source, tmp);
    const stored = encodeObject(readFileSync(tmp), Math.max(1, repo.settings.level), repo.key);
    writeFileAtomic(join(dir, `${id}.rdb.zst`), stored);
    const record: RedisBackupRecord = {
      id,
      takenAt: now.toISOString(),
      source: `${source.host}:${source.port}`,
      rdbBytes: got.bytes,
      storedBytes: stored.length,
      sha256: got.sha256,
      storedSha256: sha256Hex(stored),
      replicationId: got.replicationId,
      offset: got.offset,
      keyspace: got.keyspace,
    };
    writeFileAtomic(join(dir, `${id}.json`), JSON.stringify(record, null, 2) + '\n');
    return record;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export function listRedisBackups(repo: Repository): RedisBackupRecord[] {
  const dir = join(repo.root, 'redis');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as RedisBackupRecord);
}

/** The RDB bytes of a backup, verified (stored checksum, zstd content checksum, RDB checksum). */
export function readRedisBackup(repo: Repository, record: RedisBackupRecord): Buffer {
  const path = join(repo.root, 'redis', `${record.id}.rdb.zst`);
  if (!existsSync(path)) throw new DrydockError('VALIDATION_FAILED', `Redis backup ${record.id}: ${record.id}.rdb.zst is missing`);
  const stored = readFileSync(path);
  if (sha256Hex(stored) !== record.storedSha256) throw new DrydockError('VALIDATION_FAILED', `Redis backup ${record.id}: ${record.id}.rdb.zst is damaged (checksum mismatch)`);
  const rdb = decodeObjectToBuffer(stored, repo.key);
  if (sha256Hex(rdb) !== record.sha256) throw new DrydockError('VALIDATION_FAILED', `Redis backup ${record.id}: RDB content checksum mismatch`);
  return rdb;
}

/** Deletes Redis backups older than the retention, always keeping the newest. */
export function expireRedisBackups(repo: Repository, now: Date, retentionMs: number): string[] {
  const all = listRedisBackups(repo);
  const doomed = all.slice(0, -1).filter((r) => now.getTime() - Date.parse(r.takenAt) > retentionMs);
  const dir = join(repo.root, 'redis');
  for (const r of doomed) {
    rmSync(join(dir, `${r.id}.json`), { force: true });
    rmSync(join(dir, `${r.id}.rdb.zst`), { force: true });
  }
  if (doomed.length) fsyncDir(dir);
  return doomed.map((r) => r.id);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Restore test: loads the RDB into a throwaway redis-server (which checks the RDB's CRC64 while
 * loading) and compares the key count of every database with the counts recorded at backup time.
 */
export async function restoreTestRedis(repo: Repository, record: RedisBackupRecord, redisServer = '/usr/bin/redis-server'): Promise<{ keyspace: Record<string, number>; problems: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-redis-restore-'));
  const rdb = readRedisBackup(repo, record);
  writeFileSync(join(dir, 'dump.rdb'), rdb);
  const port = await freePort();
  const child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    const deadline = Date.now() + 60_000;
    let keyspace: Record<string, number> | undefined;
    while (!keyspace) {
      if (child.exitCode !== null) throw new DrydockError('VALIDATION_FAILED', `redis-server could not load Redis backup ${record.id}: ${output.trim().split('\n').slice(-3).join(' ')}`);
      try {
        keyspace = await infoKeyspace(port);
      } catch {
        if (Date.now() > deadline) throw new DrydockError('VALIDATION_FAILED', `redis-server did not load Redis backup ${record.id} within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const problems: string[] = [];
    for (const db of new Set([...Object.keys(record.keyspace), ...Object.keys(keyspace)])) {
      const want = record.keyspace[db] ?? 0;
      const got = keyspace[db] ?? 0;
      if (want !== got) problems.push(`${db}: ${got} keys, recorded ${want}`);
    }
    return { keyspace, problems };
  } finally {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function infoKeyspace(port: number): Promise<Record<string, number>> {
  const socket = connect({ host: '127.0.0.1', port });
  const reader = new ReplicaReader(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(encodeCommand(['INFO', 'keyspace']));
    const header = await reader.line();
    if (header.startsWith('-')) throw new Error(header); // -LOADING while the RDB is read
    const len = Number(header.slice(1));
    const parts: Buffer[] = [];
    await reader.bytes(len + 2, (c) => parts.push(Buffer.from(c)));
    return parseKeyspace(Buffer.concat(parts).toString());
  } finally {
    socket.destroy();
  }
}
