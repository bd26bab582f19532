// Debian's pebble (a real ACME server) with pebble-challtestsrv as its DNS server, on free loopback
// ports, configured in a temp dir. challtestsrv answers every A query with 127.0.0.1, so pebble's
// HTTP-01 validation comes back to `httpPort` on this host, and its TXT records (set through its
// management API) serve DNS-01.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/adapters/free-port.js';
import { waitFor } from '../../helpers/wait.js';
import { issue, rootCa } from './certs.js';

export interface Pebble {
  dir: string;
  directory: string;
  /** PEM of the CA that signed pebble's own HTTPS certificate (network.ssl.renewal.acme.ca_file). */
  caFile: string;
  /** Where pebble connects for HTTP-01 (Drydock's http.listen in the tests). */
  httpPort: number;
  /** pebble-challtestsrv's management API (set-txt, clear-txt). */
  challtestUrl: string;
  stop(): Promise<void>;
}

function start(program: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  child.stderr.resume();
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function startPebble(): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-pebble-'));
  const ca = await rootCa('Pebble HTTPS Test Root');
  const leaf = await issue(ca, { cn: 'localhost', names: ['localhost', '127.0.0.1'] });
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'cert.pem'), leaf.certPem);
  writeFileSync(join(dir, 'key.pem'), leaf.keyPem, { mode: 0o600 });
  const [listen, management, httpPort, tlsPort, dnsPort, challtestPort] = (await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  )) as [number, number, number, number, number, number];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const challtest = start('pebble-challtestsrv', [
    '-dns01',
    `127.0.0.1:${dnsPort}`,
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-management',
    `127.0.0.1:${challtestPort}`,
    '-defaultIPv6',
    '',
  ]);
  const pebble = start('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    // No random sleeps before validation, no rejected nonces, and a fresh authorization per order.
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  const directory = `https://127.0.0.1:${listen}/dir`;
  const stop = async () => {
    await Promise.all([stopChild(pebble), stopChild(challtest)]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`pebble at ${directory}`, async () => (await httpsOk(directory, ca.certPem)) || undefined, 30_000);
    await waitFor(
      'pebble-challtestsrv',
      async () => (await fetch(`http://127.0.0.1:${challtestPort}/`).catch(() => null)) ?? undefined,
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dir,
    directory,
    caFile: join(dir, 'ca.pem'),
    httpPort,
    challtestUrl: `http://127.0.0.1:${challtestPort}`,
    stop,
  };
}

function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}
