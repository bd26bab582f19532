// Real peers for the channel tests: an SMTP server (smtp-server) with a self-signed certificate
// made by openssl for this test run, and plain node:http servers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface TestCert {
  dir: string;
  certFile: string;
  key: string;
  cert: string;
  cleanup(): void;
}

export function makeCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return {
    dir,
    certFile,
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  secure: boolean;
  user: string | undefined;
  /** Unfolded Subject header. */
  subject: string;
  /** The body with quoted-printable decoded. */
  text: string;
}

function decodeMail(raw: string): { subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]/g, ' ');
  const body = raw.slice(split + 4);
  const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
  const qp = /^Content-Transfer-Encoding: quoted-printable/im.test(head);
  const text = qp
    ? Buffer.from(
        body
          .replace(/=\r\n/g, '')
          .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      ).toString('utf8')
    : body;
  return { subject, text: text.replace(/\r\n/g, '\n') };
}

export interface SmtpPeer {
  port: number;
  received: ReceivedMail[];
  /** Replies to the next DATA with this error (e.g. 451 temporary). */
  failNext: Array<{ code: number; message: string }>;
  close(): Promise<void>;
}

export async function startSmtp(options: {
  cert: TestCert;
  secure: boolean;
  user: string;
  pass: string;
}): Promise<SmtpPeer> {
  const received: ReceivedMail[] = [];
  const failNext: Array<{ code: number; message: string }> = [];
  const config: SMTPServerOptions = {
    secure: options.secure,
    key: options.cert.key,
    cert: options.cert.cert,
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.pass) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const failure = failNext.shift();
        if (failure) {
          callback(Object.assign(new Error(failure.message), { responseCode: failure.code }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          ...decodeMail(raw),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          secure: session.secure,
          user: session.user as string | undefined,
        });
        callback();
      });
    },
  };
  const server = new SMTPServer(config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return { port, received, failNext, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface HttpRequestSeen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface HttpPeer {
  url: string;
  port: number;
  requests: HttpRequestSeen[];
  close(): Promise<void>;
}

export async function startHttp(handler: (req: HttpRequestSeen, res: ServerResponse) => void): Promise<HttpPeer> {
  const requests: HttpRequestSeen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      handler(seen, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound by the OS, then released). */
export { freePort as closedPort } from '../../src/adapters/free-port.js';
