// Reads one RDB snapshot from a Redis server over its own replication protocol, as a replica
// would: AUTH, REPLCONF capa eof/psync2, PSYNC ? -1 (SYNC on servers without PSYNC), then the
// `+FULLRESYNC <replid> <offset>` line and the payload, in either form:
//   $<len>\r\n<len bytes>                 disk-based sync
//   $EOF:<40-byte mark>\r\n<bytes><mark>   diskless sync (the server keeps nothing on disk)
// The payload is handed to `onData` piece by piece as it arrives (backpressure: the socket is not
// read while onData's promise is pending), then the socket is closed: we never become a replica.
import type { Socket } from 'node:net';
import { connectRedisSocket } from '../../adapters/redis.js';
import { DrydockError } from '../../errors.js';

export interface PsyncTarget {
  host: string;
  port: number;
  username?: string | undefined;
  /** The resolved password; never logged. */
  password?: string | undefined;
  connectTimeoutMs?: number;
  /** Longest silence from the server (it sends "\n" keep-alives while it prepares the snapshot). */
  idleTimeoutMs?: number;
}

export interface SnapshotHeader {
  replid: string;
  offset: number;
  /** disk: the server wrote an RDB file and sent its length; diskless: streamed with an EOF mark. */
  transfer: 'disk' | 'diskless';
  /** Payload length, known up front only for disk-based transfers. */
  length: number | null;
}

export interface SnapshotResult extends SnapshotHeader {
  bytes: number;
}

export interface ReadSnapshotOptions {
  onHeader?: (header: SnapshotHeader) => void;
  onData: (chunk: Buffer) => void | Promise<void>;
  signal?: AbortSignal | undefined;
  /** Progress lines (never the password). */
  log?: (line: string) => void;
}

/** A command as a RESP array, so any byte in an argument (a password) is sent verbatim. */
export function encodeCommand(args: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const b = Buffer.from(arg, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export type PayloadHeader = { transfer: 'disk'; length: number } | { transfer: 'diskless'; mark: Buffer };

/** "$123" → disk of 123 bytes; "$EOF:<40 bytes>" → diskless with that mark. */
export function parsePayloadHeader(line: string): PayloadHeader {
  if (line.startsWith('$EOF:')) {
    const mark = line.slice(5);
    if (mark.length !== 40)
      throw new DrydockError('DATA_DAMAGED', `bad diskless EOF mark of ${mark.length} bytes (expected 40)`, {
        retryable: true, // a garbled transfer; the next one may be whole
      });
    return { transfer: 'diskless', mark: Buffer.from(mark, 'latin1') };
  }
  const m = /^\$(\d+)$/.exec(line);
  if (!m)
    throw new DrydockError(
      'DATA_DAMAGED',
      `expected the RDB payload header ($<length> or $EOF:<mark>), got ${JSON.stringify(line.slice(0, 80))}`,
      { retryable: true },
    );
  return { transfer: 'disk', length: Number(m[1]) };
}

/** "+FULLRESYNC <replid> <offset>" → its fields, or null for anything else. */
export function parseFullResync(line: string): { replid: string; offset: number } | null {
  const m = /^\+FULLRESYNC ([0-9a-zA-Z]+) (-?\d+)$/.exec(line);
  return m ? { replid: m[1]!, offset: Number(m[2]) } : null;
}

/**
 * The diskless payload ends with the 40-byte mark. Holds back the last 40 bytes seen so that the
 * mark is never passed on as data, whichever way the stream is cut into pieces.
 */
export class EofMarkScanner {
  private tail = Buffer.alloc(0);
  done = false;
  constructor(private readonly mark: Buffer) {}

  /** Returns the payload bytes that are certainly data; sets `done` when the mark was found. */
  push(chunk: Buffer): Buffer {
    const all = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const at = all.indexOf(this.mark);
    if (at >= 0) {
      this.done = true;
      this.tail = Buffer.alloc(0);
      return all.subarray(0, at);
    }
    const keep = Math.min(all.length, this.mark.length - 1);
    this.tail = Buffer.from(all.subarray(all.length - keep));
    return all.subarray(0, all.length - keep);
  }
}

function unreachable(target: string, what: string, cause?: unknown): DrydockError {
  return new DrydockError('TARGET_UNREACHABLE', `Redis at ${target} ${what}`, {
    retryable: true,
    hint: `check that redis-server is running and listening on ${target}`,
    cause,
    details: { target },
  });
}

/** Buffered reads from a socket through its async iterator (which applies backpressure). */
class Reader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  constructor(
    socket: Socket,
    private readonly target: string,
  ) {
    this.it = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<void> {
    const r = await this.it.next();
    if (r.done) throw unreachable(this.target, 'closed the connection during the snapshot transfer');
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
  }

  /** One reply line without CRLF; the bare "\n" keep-alives a server sends while it prepares are skipped. */
  async line(): Promise<string> {
    for (;;) {
      let start = 0;
      while (start < this.buf.length && this.buf[start] === 0x0a) start++;
      if (start) this.buf = this.buf.subarray(start);
      const at = this.buf.indexOf('\r\n');
      if (at >= 0) {
        const text = this.buf.subarray(0, at).toString('latin1');
        this.buf = this.buf.subarray(at + 2);
        return text;
      }
      if (this.buf.length > 64 * 1024)
        throw new DrydockError('DATA_DAMAGED', 'reply line longer than 64 KiB', { retryable: true });
      await this.fill();
    }
  }

  /** Whatever is buffered, or the next piece from the socket. */
  async chunk(): Promise<Buffer> {
    if (!this.buf.length) await this.fill();
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Puts bytes back (the part of a piece past the end of the payload). */
  unshift(bytes: Buffer): void {
    this.buf = bytes.length ? Buffer.concat([bytes, this.buf]) : this.buf;
  }
}

function replyError(name: string, command: string, reply: string): DrydockError {
  if (/^-(WRONGPASS|NOAUTH|NOPERM|ERR invalid password|ERR invalid username)/i.test(reply)) {
    return new DrydockError('TARGET_AUTH_FAILED', `Redis at ${name} refused ${command}: ${reply.slice(1)}`, {
      hint:
        command === 'AUTH'
          ? 'check targets.redis.username and the password secret'
          : 'the Redis user needs the replication commands: ACL SETUSER <user> +psync +replconf +sync',
    });
  }
  return new DrydockError('EXEC_FAILED', `Redis at ${name} answered ${command} with ${reply.slice(0, 200)}`, {
    details: { target: name },
  });
}

/** Streams one full RDB snapshot of the server to `onData`; resolves once the whole payload was handed over. */
export async function readRdbSnapshot(target: PsyncTarget, options: ReadSnapshotOptions): Promise<SnapshotResult> {
  const name = `${target.host}:${target.port}`;
  const log = options.log ?? (() => {});
  const socket = await connectRedisSocket(target, options.signal);
  const idleMs = target.idleTimeoutMs ?? 60_000;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    socket.destroy(error);
  };
  socket.setTimeout(idleMs, () =>
    fail(unreachable(name, `sent nothing for ${idleMs} ms during the snapshot transfer`)),
  );
  const onAbort = () => fail(new DrydockError('ABORTED', `Redis snapshot from ${name} aborted`));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  socket.on('error', (error) => {
    failure ??= error;
  });
  const reader = new Reader(socket, name);
  const ask = async (args: string[]): Promise<string> => {
    socket.write(encodeCommand(args));
    return reader.line();
  };
  try {
    if (target.password) {
      const reply = await ask(target.username ? ['AUTH', target.username, target.password] : ['AUTH', target.password]);
      if (!reply.startsWith('+')) throw replyError(name, 'AUTH', reply);
    }
    // capa eof: we accept a diskless transfer, so a server without persistence never writes to disk for us.
    const capa = await ask(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    if (capa.startsWith('-') && !/unknown command/i.test(capa)) throw replyError(name, 'REPLCONF', capa);

    let sync = await ask(['PSYNC', '?', '-1']);
    let resync = parseFullResync(sync);
    let firstPayloadLine: string | undefined;
    if (!resync) {
      if (/^-ERR unknown command/i.test(sync)) {
        // Servers before 2.8 only know SYNC, which answers with the payload directly.
        socket.write(encodeCommand(['SYNC']));
        firstPayloadLine = await reader.line();
        resync = { replid: '?', offset: -1 };
      } else {
        throw replyError(name, 'PSYNC', sync);
      }
    }
    sync = firstPayloadLine ?? (await reader.line());
    if (sync.startsWith('-')) throw replyError(name, 'PSYNC', sync);
    const payload = parsePayloadHeader(sync);
    const header: SnapshotHeader = {
      replid: resync.replid,
      offset: resync.offset,
      transfer: payload.transfer,
      length: payload.transfer === 'disk' ? payload.length : null,
    };
    options.onHeader?.(header);
    log(
      `full resync ${header.replid} at offset ${header.offset}, ${header.transfer} transfer${header.length === null ? '' : ` of ${header.length} bytes`}`,
    );

    let bytes = 0;
    if (payload.transfer === 'disk') {
      let left = payload.length;
      while (left > 0) {
        const piece = await reader.chunk();
        const take = piece.length > left ? piece.subarray(0, left) : piece;
        if (piece.length > left) reader.unshift(piece.subarray(left));
        left -= take.length;
        bytes += take.length;
        await options.onData(take);
      }
    } else {
      const scanner = new EofMarkScanner(payload.mark);
      while (!scanner.done) {
        const data = scanner.push(await reader.chunk());
        bytes += data.length;
        if (data.length) await options.onData(data);
      }
    }
    if (failure) throw failure;
    return { ...header, bytes };
  } catch (error) {
    throw failure ?? error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}
