// Opens a TLS session to an endpoint the way its clients do: straight TLS (HTTPS, SMTPS, ...),
// SMTP's STARTTLS, or PostgreSQL's SSLRequest, then the handshake, all under one deadline that names
// the endpoint and the stage it hung in. Written on node:net/node:tls because no library does the
// three preambles with a handshake the caller fully controls (versions, cipher lists, SNI, CA);
// nodemailer and pg each hide their socket and verify on their own terms.
import net from 'node:net';
import tls from 'node:tls';
import { DrydockError } from '../../errors.js';

export type TlsProtocol = 'tls' | 'smtp' | 'postgres';

export interface TlsEndpoint {
  host: string;
  port: number;
  /** The name sent as SNI and checked against the certificate; the host when absent. */
  servername?: string;
  protocol: TlsProtocol;
}

export interface TlsConnectOptions {
  timeoutMs: number;
  /** Trusted roots; Node's store (Mozilla's list plus NODE_EXTRA_CA_CERTS) when absent. */
  ca?: string | Buffer | Array<string | Buffer>;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  signal?: AbortSignal;
}

export function describeEndpoint(endpoint: TlsEndpoint): string {
  const name = endpoint.servername && endpoint.servername !== endpoint.host ? ` (SNI ${endpoint.servername})` : '';
  const via =
    endpoint.protocol === 'tls'
      ? ''
      : ` via ${endpoint.protocol === 'smtp' ? 'SMTP STARTTLS' : 'PostgreSQL SSLRequest'}`;
  return `${endpoint.host}:${endpoint.port}${name}${via}`;
}

/**
 * A TLS socket after a completed handshake, never verified on the way in (rejectUnauthorized
 * false): the caller reads `authorized`/`authorizationError` and the chain, so an expired or
 * mismatched certificate is a finding, not a connection error. The caller destroys the socket.
 */
export async function openTls(endpoint: TlsEndpoint, options: TlsConnectOptions): Promise<tls.TLSSocket> {
  const where = describeEndpoint(endpoint);
  let stage = 'connecting';
  let raw: net.Socket | undefined;
  let secure: tls.TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new DrydockError(
          'TARGET_UNREACHABLE',
          `TLS endpoint ${where}: no answer within ${options.timeoutMs} ms while ${stage}`,
          {
            retryable: true,
            hint: 'the port accepts connections but the handshake hangs (a proxy or a server not speaking TLS there?)',
          },
        ),
      );
    }, options.timeoutMs);
  });
  const onAbort = () => {
    raw?.destroy();
    secure?.destroy();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([
      deadline,
      (async () => {
        if (endpoint.protocol !== 'tls') {
          raw = await connectTcp(endpoint, where);
          stage = endpoint.protocol === 'smtp' ? 'negotiating SMTP STARTTLS' : 'sending the PostgreSQL SSLRequest';
          if (endpoint.protocol === 'smtp') await smtpStartTls(raw, where);
          else await postgresSslRequest(raw, where);
        }
        stage = 'in the TLS handshake';
        secure = await handshake(endpoint, options, raw, where);
        return secure;
      })(),
    ]);
  } catch (error) {
    raw?.destroy();
    secure?.destroy();
    if (options.signal?.aborted)
      throw new DrydockError('ABORTED', `TLS check of ${where} was cancelled`, { retryable: true });
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function connectTcp(endpoint: TlsEndpoint, where: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (error) => reject(unreachable(where, error)));
  });
}

function handshake(
  endpoint: TlsEndpoint,
  options: TlsConnectOptions,
  socket: net.Socket | undefined,
  where: string,
): Promise<tls.TLSSocket> {
  const servername = endpoint.servername ?? endpoint.host;
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      ...(socket ? { socket } : { host: endpoint.host, port: endpoint.port }),
      // SNI is for names only; an IP address is never sent as SNI (RFC 6066).
      ...(net.isIP(servername) ? {} : { servername }),
      rejectUnauthorized: false,
      // The hostname is checked by the caller, apart from the chain (check.ts), so that
      // authorizationError speaks of the chain alone.
      checkServerIdentity: () => undefined,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.minVersion ? { minVersion: options.minVersion } : {}),
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    });
    secure.once('secureConnect', () => {
      secure.off('error', onError);
      // Errors after the handshake (the server hanging up) must not crash the process.
      secure.on('error', () => undefined);
      resolve(secure);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      secure.destroy();
      if (!socket && (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH'))
        reject(unreachable(where, error));
      else reject(new HandshakeError(where, error));
    };
    secure.once('error', onError);
  });
}

/** The server refused or broke the handshake (no shared protocol or cipher, a reset). */
export class HandshakeError extends DrydockError {
  readonly opensslCode: string | undefined;
  constructor(where: string, cause: NodeJS.ErrnoException) {
    super('TARGET_UNREACHABLE', `TLS handshake with ${where} failed: ${shortTlsMessage(cause)}`, {
      retryable: true,
      cause,
    });
    this.opensslCode = cause.code;
  }
}

function shortTlsMessage(error: NodeJS.ErrnoException): string {
  // OpenSSL messages carry source paths; keep the reason.
  const match = /:([a-z0-9 _-]+):[^:]*\.c:\d+/i.exec(error.message);
  return match?.[1] ?? error.code ?? error.message;
}

function unreachable(where: string, error: NodeJS.ErrnoException): DrydockError {
  const why =
    error.code === 'ECONNREFUSED'
      ? 'connection refused'
      : error.code === 'ENOTFOUND'
        ? 'host not found'
        : error.message;
  return new DrydockError('TARGET_UNREACHABLE', `cannot reach TLS endpoint ${where}: ${why}`, {
    retryable: true,
    cause: error,
  });
}

/** Reads from the socket until `done(buffer)` says the reply is complete. */
function readUntil(socket: net.Socket, done: (text: Buffer) => boolean, where: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (done(buffer)) {
        cleanup();
        resolve(buffer);
      }
    };
    const onEnd = () => {
      cleanup();
      reject(
        new DrydockError('TARGET_UNREACHABLE', `${where} closed the connection before TLS started`, {
          retryable: true,
        }),
      );
    };
    const onError = (error: Error) => {
      cleanup();
      reject(unreachable(where, error));
    };
    function cleanup() {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
  });
}

/** A complete SMTP reply: its last line is "NNN text" (a space after the code, RFC 5321 4.2). */
function smtpReplyDone(buffer: Buffer): boolean {
  const text = buffer.toString('latin1');
  if (!text.endsWith('\n')) return false;
  const lines = text.trimEnd().split(/\r?\n/);
  return /^\d{3}( |$)/.test(lines[lines.length - 1] ?? '');
}

async function smtpStartTls(socket: net.Socket, where: string): Promise<void> {
  const greeting = (await readUntil(socket, smtpReplyDone, where)).toString('latin1');
  if (!greeting.startsWith('220'))
    throw new DrydockError('TARGET_UNREACHABLE', `${where}: SMTP greeting was "${greeting.trim()}", not 220`);
  socket.write('EHLO drydock.invalid\r\n');
  const ehlo = (await readUntil(socket, smtpReplyDone, where)).toString('latin1');
  if (!ehlo.startsWith('250')) throw new DrydockError('TARGET_UNREACHABLE', `${where}: EHLO answered "${ehlo.trim()}"`);
  if (!/^250[- ]STARTTLS\b/im.test(ehlo))
    throw new DrydockError('VALIDATION_FAILED', `${where}: the SMTP server does not offer STARTTLS`, {
      hint: 'mail to it would travel in clear text',
    });
  socket.write('STARTTLS\r\n');
  const ready = (await readUntil(socket, smtpReplyDone, where)).toString('latin1');
  if (!ready.startsWith('220'))
    throw new DrydockError('TARGET_UNREACHABLE', `${where}: STARTTLS answered "${ready.trim()}"`);
}

/** PostgreSQL's SSLRequest: length 8, code 80877103; the server answers one byte, S or N. */
async function postgresSslRequest(socket: net.Socket, where: string): Promise<void> {
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  socket.write(request);
  const answer = await readUntil(socket, (b) => b.length >= 1, where);
  if (answer[0] === 0x4e)
    throw new DrydockError('VALIDATION_FAILED', `${where}: PostgreSQL answered N to SSLRequest (ssl = off)`, {
      hint: 'set ssl = on with ssl_cert_file and ssl_key_file in postgresql.conf',
    });
  if (answer[0] !== 0x53 || answer.length !== 1)
    throw new DrydockError('TARGET_UNREACHABLE', `${where}: not a PostgreSQL server (unexpected answer to SSLRequest)`);
}
