// One certificate from an ACME CA with acme-client (the maintained Node ACME v2 client): the
// account key (created 0600 on first use), a fresh private key and CSR for every order, and the
// policy's challenge: HTTP-01 answered by Drydock on an address or written under a webroot, or
// DNS-01 through the policy's set/unset commands. The CA does the real validation; the local
// pre-check acme-client can do is off, because it resolves names from this host, which is not
// what the CA sees (split-horizon DNS, a load balancer in front).
import { X509Certificate } from 'node:crypto';
import { constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { createServer, get as httpGet, type Server } from 'node:http';
import https from 'node:https';
import { dirname, join } from 'node:path';
import acme from 'acme-client';
import { exec } from '../../adapters/exec.js';
import { DrydockError, describeError } from '../../errors.js';
import { redactor } from '../../policy/redact.js';
import type { TlsCertificatePolicy } from '../../policy/network-tls.js';
import type { Pair } from './files.js';

export interface AcmeSettings {
  directory: string;
  accountKeyFile: string;
  email?: string;
  caFile?: string;
  timeoutMs: number;
  requestRetries: number;
}

export interface IssueOptions {
  acme: AcmeSettings;
  certificate: TlsCertificatePolicy;
  signal: AbortSignal;
  /** Progress lines for the step's output (never secrets). */
  say: (line: string) => void;
}

export interface Issued extends Pair {
  leaf: X509Certificate;
}

/** The account key, created with mode 0600 when its file does not exist yet. Registered for redaction. */
export async function accountKey(file: string): Promise<Buffer> {
  let key: Buffer;
  if (existsSync(file)) {
    key = readFileSync(file);
  } else {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  redactor.register(key.toString('utf8').trim());
  return key;
}

async function privateKey(type: TlsCertificatePolicy['key_type']): Promise<Buffer> {
  switch (type) {
    case 'ec-p256':
      return acme.crypto.createPrivateEcdsaKey('P-256');
    case 'ec-p384':
      return acme.crypto.createPrivateEcdsaKey('P-384');
    case 'rsa-2048':
      return acme.crypto.createPrivateRsaKey(2048);
    case 'rsa-3072':
      return acme.crypto.createPrivateRsaKey(3072);
    case 'rsa-4096':
      return acme.crypto.createPrivateRsaKey(4096);
  }
}

interface ChallengeHandler {
  create(domain: string, token: string, keyAuthorization: string): Promise<void>;
  remove(domain: string, token: string): Promise<void>;
  close(): Promise<void>;
}

async function httpListener(listen: string, say: (line: string) => void): Promise<ChallengeHandler> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(listen.slice(colon + 1));
  const answers = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const match = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    const answer = match ? answers.get(match[1]!) : undefined;
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    say(`http-01: answered ${req.url ?? ''} for ${req.socket.remoteAddress ?? '?'}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new DrydockError(
          'EXEC_FAILED',
          `cannot listen on ${listen} for the http-01 challenge: ${error.code ?? error.message}`,
          {
            retryable: error.code === 'EADDRINUSE',
            hint: 'the port is taken (a web server on it?): use http.webroot instead, or another address',
          },
        ),
      ),
    );
    server.listen(port, host, resolve);
  });
  say(`http-01: listening on ${listen}`);
  return {
    create: async (_domain, token, keyAuthorization) => void answers.set(token, keyAuthorization),
    remove: async (_domain, token) => void answers.delete(token),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function webroot(root: string, say: (line: string) => void): ChallengeHandler {
  const dir = join(root, '.well-known', 'acme-challenge');
  return {
    async create(_domain, token, keyAuthorization) {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(join(dir, token), keyAuthorization, { mode: 0o644 });
      say(`http-01: wrote ${join(dir, token)}`);
    },
    async remove(_domain, token) {
      await rm(join(dir, token), { force: true });
    },
    close: async () => undefined,
  };
}

function dnsCommands(
  dns: NonNullable<TlsCertificatePolicy['dns']>,
  signal: AbortSignal,
  say: (line: string) => void,
): ChallengeHandler {
  const run = async (command: readonly string[], domain: string, value: string, what: string) => {
    const record = `_acme-challenge.${domain.replace(/^\*\./, '')}`;
    const result = await exec(command[0]!, command.slice(1), {
      env: { DRYDOCK_ACME_DOMAIN: domain, DRYDOCK_ACME_RECORD: record, DRYDOCK_ACME_VALUE: value },
      timeoutMs: 120_000,
      signal,
      what: `dns-01 ${what} command`,
    });
    say(`dns-01: ${what} ${record} TXT: ${command.join(' ')} (exit ${result.code})`);
  };
  const values = new Map<string, string>();
  return {
    async create(domain, _token, keyAuthorization) {
      // acme-client hands dns-01 the TXT value itself: the digest of the key authorization (RFC 8555 8.4).
      const value = keyAuthorization;
      values.set(domain, value);
      await run(dns.set, domain, value, 'set');
      if (dns.wait.ms > 0) {
        say(`dns-01: waiting ${dns.wait.text} for the record to reach the authoritative servers`);
        await new Promise((r) => setTimeout(r, dns.wait.ms));
      }
    },
    async remove(domain) {
      if (dns.unset) await run(dns.unset, domain, values.get(domain) ?? '', 'unset');
    },
    close: async () => undefined,
  };
}

/** Orders, validates and downloads one certificate. Throws a DrydockError naming the CA and the step. */
export async function issueCertificate(options: IssueOptions): Promise<Issued> {
  const { certificate: c, say } = options;
  const settings = options.acme;
  const key = await accountKey(settings.accountKeyFile);
  // acme-client talks through its own axios instance: trust and timeout are set on it for this order.
  acme.axios.defaults.httpsAgent = settings.caFile ? new https.Agent({ ca: readFileSync(settings.caFile) }) : undefined;
  acme.axios.defaults.timeout = settings.timeoutMs;
  (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number } }).acmeSettings!.retryMaxAttempts =
    settings.requestRetries;
  await reachDirectory(settings);
  const client = new acme.Client({ directoryUrl: settings.directory, accountKey: key });
  const certKey = await privateKey(c.key_type);
  const keyPem = certKey.toString('utf8');
  redactor.register(keyPem.trim());
  const [, csr] = await acme.crypto.createCsr({ commonName: c.domains[0]!, altNames: [...c.domains] }, certKey);

  let handler: ChallengeHandler;
  if (c.challenge === 'dns-01') handler = dnsCommands(c.dns!, options.signal, say);
  else if (c.http?.listen) handler = await httpListener(c.http.listen, say);
  else handler = webroot(c.http!.webroot!, say);

  say(`ordering ${c.domains.join(', ')} from ${settings.directory} (${c.challenge}, ${c.key_type} key)`);
  try {
    const order = client.auto({
      csr,
      ...(settings.email ? { email: settings.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: [c.challenge],
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) =>
        handler.create(authz.identifier.value, 'token' in challenge ? challenge.token : '', keyAuthorization),
      challengeRemoveFn: async (authz, challenge) =>
        handler.remove(authz.identifier.value, 'token' in challenge ? challenge.token : ''),
    });
    const certPem = await abortable(order, options.signal);
    const leaf = new X509Certificate(certPem);
    say(
      `issued: ${leaf.subject.replace(/\n/g, ', ')} by ${leaf.issuer.replace(/\n/g, ', ')}, valid until ${new Date(leaf.validTo).toISOString()}, sha256 ${leaf.fingerprint256}`,
    );
    return { keyPem, certPem, leaf };
  } catch (error) {
    if (error instanceof DrydockError) throw error;
    throw acmeError(settings.directory, error);
  } finally {
    await handler.close();
  }
}

/**
 * One GET of the directory before anything else, with node:https: a CA that is down is named with
 * the reason (connection refused, timeout, an untrusted certificate). acme-client 5.4 turns a
 * request that never got an answer into "Cannot read properties of undefined (reading 'config')"
 * once its retries are spent, which says nothing.
 */
function reachDirectory(settings: AcmeSettings): Promise<void> {
  const url = new URL(settings.directory);
  const get = url.protocol === 'http:' ? httpGet : https.get;
  return new Promise((resolve, reject) => {
    const req = get(
      url,
      { timeout: settings.timeoutMs, ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}) },
      (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else
          reject(
            new DrydockError(
              'TARGET_UNREACHABLE',
              `ACME server ${settings.directory} answered HTTP ${res.statusCode ?? '?'}`,
              {
                retryable: true,
              },
            ),
          );
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${settings.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new DrydockError(
          'TARGET_UNREACHABLE',
          `ACME server ${settings.directory} unreachable: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`,
          { retryable: true, cause: error },
        ),
      ),
    );
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted)
    return Promise.reject(new DrydockError('ABORTED', 'the renewal was cancelled', { retryable: true }));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DrydockError('ABORTED', 'the renewal was cancelled', { retryable: true }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function acmeError(directory: string, error: unknown): DrydockError {
  if (error instanceof TypeError && /reading 'config'/.test(error.message))
    return new DrydockError('TARGET_UNREACHABLE', `ACME server ${directory} stopped answering during the order`, {
      retryable: true,
      cause: error,
    });
  const code = (error as NodeJS.ErrnoException).code;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNABORTED'
  )
    return new DrydockError('TARGET_UNREACHABLE', `ACME server ${directory} unreachable: ${describeError(error)}`, {
      retryable: true,
      cause: error,
    });
  return new DrydockError('EXEC_FAILED', `ACME order at ${directory} failed: ${describeError(error)}`, {
    retryable: true,
    cause: error,
  });
}
