// One DNS question to one server, over our own sockets: UDP first, TCP when the answer comes back
// truncated (TC), with the answer code, the flags, the records and the time it took. dns-packet
// encodes and decodes; the transport is written here because node:dns's Resolver hides what a
// health check needs (which server answered, how fast, the AA/TC flags, RRSIG records, SOA serials
// of one given server) and always tries every server it knows.
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP, Socket } from 'node:net';
import * as packet from 'dns-packet';
import { DrydockError } from '../../errors.js';

export interface DnsServer {
  /** How the server is named in records and messages (host:port unless the policy names it). */
  name: string;
  host: string;
  port: number;
}

export type RecordType = packet.RecordType;

export interface QueryOptions {
  /** Per transport attempt. */
  timeoutMs: number;
  /** UDP attempts before the server counts as not answering (a lost datagram is retried). */
  attempts?: number;
  /** Ask the server to recurse (resolvers); authoritative servers are asked without it. */
  recursion?: boolean;
  /** Set the DO bit so a signed zone returns its RRSIG records. */
  dnssec?: boolean;
  /** EDNS UDP payload size; 0 sends no EDNS (classic 512-byte limit). */
  udpSize?: number;
  signal?: AbortSignal;
}

export interface DnsReply {
  server: DnsServer;
  transport: 'udp' | 'tcp';
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... */
  rcode: string;
  authoritative: boolean;
  /** True when the UDP answer was truncated and the question was asked again over TCP. */
  retriedOverTcp: boolean;
  answers: packet.Answer[];
  authorities: packet.Answer[];
  /** Wall time from the first datagram sent to the answer decoded (TCP retry included). */
  ms: number;
}

export function describeServer(server: DnsServer): string {
  const address = isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
  return server.name === address ? address : `${server.name} (${address})`;
}

/** "127.0.0.1", "127.0.0.1:5353", "[::1]:53", "ns1.example.org:53" → a server (port 53 by default). */
export function parseServer(text: string, defaultPort = 53): DnsServer | null {
  const trimmed = text.trim();
  let host: string;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (isIP(trimmed) === 6) {
    host = trimmed;
  } else {
    const m = /^([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(trimmed);
    if (!m) return null;
    host = m[1]!;
    if (m[2]) port = Number(m[2]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  const name = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { name, host, port };
}

function encodeQuery(id: number, name: string, type: RecordType, options: QueryOptions): Buffer {
  const udpSize = options.udpSize ?? 1232;
  const additionals: packet.Answer[] =
    udpSize > 0 || options.dnssec
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: Math.max(udpSize, 512),
            flags: options.dnssec ? packet.DNSSEC_OK : 0,
          } as packet.Answer,
        ]
      : [];
  return packet.encode({
    type: 'query',
    id,
    flags: options.recursion ? packet.RECURSION_DESIRED : 0,
    questions: [{ type, name, class: 'IN' }],
    additionals,
  });
}

function decodeReply(
  server: DnsServer,
  bytes: Buffer,
  id: number,
  name: string,
  type: RecordType,
  transport: 'udp' | 'tcp',
): packet.DecodedPacket & { rcode: string } {
  let decoded: packet.DecodedPacket & { rcode?: string };
  try {
    decoded = packet.decode(bytes);
  } catch (error) {
    throw new DrydockError(
      'DNS_MALFORMED',
      `${describeServer(server)} sent a malformed DNS answer over ${transport} to ${name} ${type} (${bytes.length} bytes that do not decode: ${(error as Error).message})`,
      { retryable: true, cause: error },
    );
  }
  const question = decoded.questions?.[0];
  const problem =
    decoded.type !== 'response'
      ? 'it is not a response'
      : decoded.id !== id
        ? `its id ${decoded.id} is not the query's ${id}`
        : question && (question.name.toLowerCase() !== name.toLowerCase() || question.type !== type)
          ? `it answers ${question.name} ${question.type}`
          : null;
  if (problem)
    throw new DrydockError(
      'DNS_MALFORMED',
      `${describeServer(server)} sent a malformed DNS answer over ${transport} to ${name} ${type}: ${problem}`,
      { retryable: true },
    );
  return { ...decoded, rcode: decoded.rcode ?? 'NOERROR' };
}

function timeoutError(server: DnsServer, name: string, type: RecordType, transport: string, ms: number): DrydockError {
  return new DrydockError(
    'DNS_TIMEOUT',
    `${describeServer(server)} did not answer ${name} ${type} over ${transport} within ${ms} ms`,
    { retryable: true, hint: 'check that the server is up and that nothing drops DNS traffic to it' },
  );
}

function unreachable(server: DnsServer, transport: string, error: NodeJS.ErrnoException): DrydockError {
  return new DrydockError(
    'TARGET_UNREACHABLE',
    `DNS server ${describeServer(server)} is unreachable over ${transport}: ${error.code ?? error.message}`,
    { retryable: true, cause: error },
  );
}

function udpOnce(server: DnsServer, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      fn();
    };
    const onAbort = () => finish(() => reject(new DrydockError('ABORTED', 'the DNS query was cancelled')));
    const timer = setTimeout(() => finish(() => resolve(null)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(() => reject(unreachable(server, 'udp', error))));
    socket.on('message', (message) => finish(() => resolve(message)));
    // A connected socket: an ICMP port-unreachable comes back as ECONNREFUSED instead of a silent timeout.
    socket.connect(server.port, server.host, () => {
      socket.send(query, (error) => {
        if (error) finish(() => reject(unreachable(server, 'udp', error)));
      });
    });
  });
}

function tcpOnce(
  server: DnsServer,
  query: Buffer,
  timeoutMs: number,
  what: { name: string; type: RecordType },
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      fn();
    };
    const onAbort = () => finish(() => reject(new DrydockError('ABORTED', 'the DNS query was cancelled')));
    const timer = setTimeout(
      () => finish(() => reject(timeoutError(server, what.name, what.type, 'tcp', timeoutMs))),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(() => reject(unreachable(server, 'tcp', error))));
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      length += data.length;
      const all = Buffer.concat(chunks, length);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0))
        finish(() => resolve(all.subarray(2, 2 + all.readUInt16BE(0))));
    });
    socket.on('end', () =>
      finish(() =>
        reject(
          new DrydockError(
            'DNS_MALFORMED',
            `${describeServer(server)} closed the TCP connection before a whole answer to ${what.name} ${what.type} (${length} bytes)`,
            { retryable: true },
          ),
        ),
      ),
    );
    socket.connect(server.port, server.host, () => {
      const framed = Buffer.alloc(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      socket.write(framed);
    });
  });
}

/**
 * Asks one server one question. Rejects with a DrydockError naming the server: DNS_TIMEOUT (no
 * answer after every attempt), TARGET_UNREACHABLE (refused or no route), DNS_MALFORMED (bytes
 * that are not an answer to this question). An answer with an error code (NXDOMAIN, SERVFAIL,
 * REFUSED) is a reply, not an exception: the caller judges it.
 */
export async function query(
  server: DnsServer,
  name: string,
  type: RecordType,
  options: QueryOptions,
): Promise<DnsReply> {
  const started = performance.now();
  const attempts = Math.max(1, options.attempts ?? 2);
  let reply: (packet.DecodedPacket & { rcode: string }) | null = null;
  for (let attempt = 1; attempt <= attempts && !reply; attempt++) {
    const id = randomInt(0, 65536);
    const bytes = await udpOnce(server, encodeQuery(id, name, type, options), options.timeoutMs, options.signal);
    if (bytes) reply = decodeReply(server, bytes, id, name, type, 'udp');
  }
  if (!reply) throw timeoutError(server, name, type, `udp (${attempts} attempts)`, options.timeoutMs);
  let transport: 'udp' | 'tcp' = 'udp';
  if (reply.flag_tc) {
    const id = randomInt(0, 65536);
    const bytes = await tcpOnce(
      server,
      encodeQuery(id, name, type, options),
      options.timeoutMs,
      { name, type },
      options.signal,
    );
    reply = decodeReply(server, bytes, id, name, type, 'tcp');
    transport = 'tcp';
  }
  return {
    server,
    transport,
    rcode: reply.rcode,
    authoritative: reply.flag_aa,
    retriedOverTcp: transport === 'tcp',
    answers: reply.answers ?? [],
    authorities: reply.authorities ?? [],
    ms: performance.now() - started,
  };
}

/** A record's data as comparable text: "192.0.2.1", "10 mail.example.org", "v=spf1 -all". */
export function recordText(answer: packet.Answer): string {
  const lower = (s: string) => s.replace(/\.$/, '').toLowerCase();
  switch (answer.type) {
    case 'A':
    case 'AAAA':
      return answer.data.toLowerCase();
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return lower(answer.data);
    case 'MX':
      return `${answer.data.preference ?? 0} ${lower(answer.data.exchange)}`;
    case 'TXT': {
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : p)).join('');
    }
    case 'SRV':
      return `${answer.data.priority ?? 0} ${answer.data.weight ?? 0} ${answer.data.port} ${lower(answer.data.target)}`;
    case 'CAA':
      return `${answer.data.flags ?? 0} ${answer.data.tag} ${answer.data.value}`;
    case 'SOA':
      return `${lower(answer.data.mname)} ${lower(answer.data.rname)} ${answer.data.serial ?? 0}`;
    default:
      return JSON.stringify((answer as { data?: unknown }).data ?? null);
  }
}

/** The record set of one type in an answer (sorted, so two servers' sets compare as text). */
export function recordSet(reply: DnsReply, type: RecordType): string[] {
  return reply.answers
    .filter((a) => a.type === type)
    .map(recordText)
    .sort();
}

export function soaSerial(reply: DnsReply): number | null {
  const soa = [...reply.answers, ...reply.authorities].find((a) => a.type === 'SOA');
  return soa && soa.type === 'SOA' ? (soa.data.serial ?? null) : null;
}

/** The RRSIG records over `type` in an answer, with their expiry as a date. */
export function signatures(
  reply: DnsReply,
  type: RecordType,
): Array<{ keyTag: number; expires: Date; signer: string }> {
  return reply.answers.flatMap((a) =>
    a.type === 'RRSIG' && a.data.typeCovered === type
      ? [{ keyTag: a.data.keyTag, expires: new Date(a.data.expiration * 1000), signer: a.data.signersName }]
      : [],
  );
}

/** The smallest TTL of the records of `type` in an answer (what a cache will keep them for). */
export function minTtl(reply: DnsReply, type: RecordType): number | null {
  const ttls = reply.answers.filter((a) => a.type === type).map((a) => ('ttl' in a ? (a.ttl ?? 0) : 0));
  return ttls.length ? Math.min(...ttls) : null;
}
