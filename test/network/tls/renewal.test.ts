// ACME renewal against Debian's pebble (HTTP-01 answered by Drydock, DNS-01 through a hook that sets
// the TXT record on pebble-challtestsrv), with a real TLS server (node:tls in a child process) that
// reloads its files on SIGHUP; faults: the CA down, a reload command that fails, a server that does
// not pick up the new certificate, the CA rate limit. Certificates before renewal are made by the tests.
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/adapters/free-port.js';
import { renewalDue } from '../../../src/network/tls/due.js';
import { redactor } from '../../../src/policy/redact.js';
import { sslRenewalTask } from '../../../src/tasks/network/ssl-renewal.js';
import { testApp, type TestApp } from '../../helpers/app.js';
import { testContext } from '../../helpers/context.js';
import { waitFor } from '../../helpers/wait.js';
import { issue, testPki, type Issued } from './certs.js';
import { startPebble, type Pebble } from './pebble.js';
import { startTlsServers } from './tls-server.js';

const DAY = 86_400_000;
let pebble: Pebble;
let pki: { root: Issued; intermediate: Issued };
let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-renew-'));
  pki = await testPki();
  pebble = await startPebble();
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await pebble?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A certificate made by the test, installed where the policy says, as if issued long ago. */
async function installOld(name: string, lifetime: { fromDays: number; toDays: number }, domains = ['app.test']) {
  const old = await issue(pki.intermediate, { cn: domains[0]!, names: domains, lifetime });
  const paths = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.crt`) };
  writeFileSync(paths.key, old.keyPem, { mode: 0o600 });
  writeFileSync(paths.cert, old.certPem + pki.intermediate.certPem);
  return { old, paths };
}

/** A webhook receiver: every notice Drydock sends. */
async function receiver(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

async function app(certificates: unknown[], extra: Record<string, unknown> = {}, hook?: string): Promise<TestApp> {
  const a = await testApp({
    ...(hook
      ? {
          channels: { ops: { type: 'webhook', url: hook } },
          notify: { failure: ['ops'], success: ['ops'], start: ['ops'] },
        }
      : {}),
    tasks: { 'network.ssl.renewal': { retry: { attempts: 3, backoff: '15 minutes' } } },
    network: {
      ssl: {
        renewal: {
          acme: {
            directory: pebble.directory,
            ca_file: pebble.caFile,
            account_key_file: join(dir, 'account.key'),
            email: 'ops@app.test',
          },
          certificates,
          ...extra,
        },
      },
    },
  });
  cleanups.push(() => a.dispose());
  return a;
}

describe('when a certificate is due', () => {
  const now = new Date('2026-11-29T00:00:00Z');
  const cert = async (lifetimeDays: number, leftDays: number) =>
    new X509Certificate(
      (
        await issue(pki.intermediate, {
          cn: 'app.test',
          lifetime: {
            fromDays: (now.getTime() - Date.now()) / DAY + leftDays - lifetimeDays,
            toDays: (now.getTime() - Date.now()) / DAY + leftDays,
          },
        })
      ).certPem,
    );
  const due = async (lifetime: number, left: number) =>
    renewalDue(await cert(lifetime, left), ['app.test'], 30 * DAY, now).due;

  it('renews at 30 days left, or at a third of the lifetime for certificates shorter than 90 days', async () => {
    expect(await due(90, 31)).toBe(false);
    expect(await due(90, 29)).toBe(true);
    expect(await due(365, 31)).toBe(false);
    expect(await due(365, 29)).toBe(true);
    // Short-lived: a fixed 30 days would renew these at every run.
    expect(await due(45, 16)).toBe(false);
    expect(await due(45, 14)).toBe(true);
    expect(await due(6, 2.5)).toBe(false);
    expect(await due(6, 1.5)).toBe(true);
  });

  it('renews at once when there is no certificate or it does not cover every domain', async () => {
    expect(renewalDue(null, ['app.test'], 30 * DAY, now)).toMatchObject({ due: true, reason: 'no certificate yet' });
    const decision = renewalDue(await cert(90, 80), ['app.test', 'www.app.test'], 30 * DAY, now);
    expect(decision).toMatchObject({ due: true, reason: 'the certificate does not cover www.app.test' });
  });
});

describe('network.ssl.renewal with pebble', () => {
  it('HTTP-01: renews a due 6-day certificate, keeps the previous pair, reloads the server and proves it serves the new one', async () => {
    const { old, paths } = await installOld('web', { fromDays: -5, toDays: 1 }, ['app.test', 'www.app.test']);
    const server = await startTlsServers([{ chain: [], files: paths }]);
    cleanups.push(() => server.stop());
    const hook = await receiver();
    const a = await app(
      [
        {
          name: 'web',
          domains: ['app.test', 'www.app.test'],
          challenge: 'http-01',
          http: { listen: `127.0.0.1:${pebble.httpPort}` },
          key_file: paths.key,
          cert_file: paths.cert,
          reload: ['kill', '-HUP', String(server.pid)],
          endpoint: { host: '127.0.0.1', port: server.ports[0] },
        },
      ],
      {},
      hook.url,
    );
    const run = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');

    expect(run.figures['web.days_left']!.before).toBeCloseTo(1, 0);
    expect(run.figures['web.days_left']!.after).toBeGreaterThan(1000);
    const now = new X509Certificate(readFileSync(paths.cert));
    expect(now.issuer).toMatch(/Pebble Intermediate CA/);
    expect(now.subjectAltName).toBe('DNS:app.test, DNS:www.app.test');
    expect(now.fingerprint256).not.toBe(new X509Certificate(old.certPem).fingerprint256);
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
    expect(now.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(paths.key)))).toBe(true);
    // The previous pair, byte for byte, for a rollback.
    expect(readFileSync(`${paths.key}.previous`, 'utf8')).toBe(old.keyPem);
    expect(readFileSync(`${paths.cert}.previous`, 'utf8')).toBe(old.certPem + pki.intermediate.certPem);
    expect(statSync(`${paths.key}.previous`).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'account.key')).mode & 0o777).toBe(0o600);
    // The server really reloaded, and the check saw the new certificate.
    expect(server.events.map((e) => e.event)).toContain('reloaded');
    const checks = Object.fromEntries(run.validation!.checks.map((c) => [c.name, c]));
    expect(checks['web.served']).toMatchObject({ ok: true, detail: 'the endpoint serves the new certificate' });
    expect(checks['web.not_due']!.ok).toBe(true);
    const steps = await a.store.listSteps(run.id);
    const step = steps.find((s) => s.name === 'renew web')!;
    expect(step.output).toMatch(/1 day\(s\) left, due since .*a third of its lifetime/);
    expect(step.output).toMatch(/http-01: answered \/\.well-known\/acme-challenge\//);
    expect(step.output).toMatch(/serves the new certificate/);
    const activity = await a.store.listActivity({ kind: 'tls.renewed' });
    expect(activity.map((e) => e.message)).toEqual([
      expect.stringMatching(/^certificate web renewed: app\.test, www\.app\.test valid until/),
    ]);

    // The next run finds it not due and asks the CA nothing.
    const again = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(again.status).toBe('succeeded');
    expect(again.summary.join('\n')).toMatch(/web: not due/);
    expect(new X509Certificate(readFileSync(paths.cert)).fingerprint256).toBe(now.fingerprint256);

    // Secrets: neither the new key, the previous key nor the account key reaches a record or a notice.
    const keys = [readFileSync(paths.key, 'utf8'), old.keyPem, readFileSync(join(dir, 'account.key'), 'utf8')];
    const bodies = keys.map((k) => k.split('\n').slice(1, -2).join(''));
    const recorded = JSON.stringify([
      await a.store.listRuns(),
      ...(await Promise.all([run.id, again.id].map((id) => a.store.listSteps(id)))),
      await a.store.listActivity(),
      hook.bodies,
    ]);
    expect(hook.bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      expect(body.length).toBeGreaterThan(40);
      expect(recorded).not.toContain(body.slice(0, 40));
    }
    expect(recorded).not.toContain('PRIVATE KEY');
    for (const [i, k] of keys.entries()) {
      const masked = redactor.text(`oops ${k} pasted`);
      expect(masked).toMatch(/^oops \[redacted\]\s+pasted$/);
      expect(masked).not.toContain(bodies[i]!.slice(0, 40));
    }
  }, 120_000);

  it('DNS-01: first issuance through the set/unset hooks, no endpoint to prove', async () => {
    const hookScript = join(import.meta.dirname, 'dns-hook.js');
    const paths = { key: join(dir, 'dns', 'api.key'), cert: join(dir, 'dns', 'api.crt') };
    const a = await app([
      {
        name: 'api',
        domains: ['api.app.test'],
        challenge: 'dns-01',
        dns: {
          set: [process.execPath, hookScript, 'set', pebble.challtestUrl],
          unset: [process.execPath, hookScript, 'unset', pebble.challtestUrl],
        },
        key_type: 'rsa-2048',
        key_file: paths.key,
        cert_file: paths.cert,
      },
    ]);
    const run = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const cert = new X509Certificate(readFileSync(paths.cert));
    expect(cert.subjectAltName).toBe('DNS:api.app.test');
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(existsSync(`${paths.cert}.previous`)).toBe(false);
    const output = (await a.store.listSteps(run.id)).find((s) => s.name === 'renew api')!.output;
    expect(output).toMatch(/dns-01: set _acme-challenge\.api\.app\.test TXT/);
    expect(output).toMatch(/dns-01: unset _acme-challenge\.api\.app\.test TXT/);
    expect(run.validation!.checks.find((c) => c.name === 'api.served')!.detail).toBe(
      'no endpoint in the policy: not checked',
    );
  }, 120_000);
});

describe('HTTP-01 through a webroot', () => {
  it('writes the challenge where the web server serves it, and removes it afterwards', async () => {
    const root = join(dir, 'webroot');
    const served: string[] = [];
    // The site's own web server: plain static files from the document root.
    const web = createServer((req, res) => {
      const file = join(root, decodeURIComponent((req.url ?? '/').split('?')[0]!));
      served.push(req.url ?? '');
      if (!file.startsWith(root) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => web.listen(pebble.httpPort, '127.0.0.1', r));
    try {
      const paths = { key: join(dir, 'webroot-site.key'), cert: join(dir, 'webroot-site.crt') };
      const a = await app([
        {
          name: 'site',
          domains: ['site.app.test'],
          http: { webroot: root },
          key_file: paths.key,
          cert_file: paths.cert,
        },
      ]);
      const run = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      expect(served.some((u) => u.startsWith('/.well-known/acme-challenge/'))).toBe(true);
      expect(new X509Certificate(readFileSync(paths.cert)).subjectAltName).toBe('DNS:site.app.test');
      const token = served
        .find((u) => u.startsWith('/.well-known/acme-challenge/'))!
        .split('/')
        .pop()!;
      expect(existsSync(join(root, '.well-known', 'acme-challenge', token))).toBe(false);
    } finally {
      // pebble's HTTP-01 port is needed by the next tests.
      web.closeAllConnections();
      await new Promise<void>((r) => web.close(() => r()));
    }
  }, 120_000);
});

describe('faults: nothing half-applied', () => {
  it('the ACME server is down: the run fails at once naming it, the files are untouched, a retry is scheduled', async () => {
    const { paths } = await installOld('down', { fromDays: -80, toDays: 10 });
    const before = readFileSync(paths.cert, 'utf8');
    const hook = await receiver();
    const deadPort = await freePort();
    const a = await testApp({
      channels: { ops: { type: 'webhook', url: hook.url } },
      notify: { failure: ['ops'] },
      network: {
        ssl: {
          renewal: {
            acme: {
              directory: `https://127.0.0.1:${deadPort}/dir`,
              account_key_file: join(dir, 'account.key'),
              request_retries: 0,
            },
            certificates: [
              {
                name: 'down',
                domains: ['app.test'],
                http: { listen: '127.0.0.1:0' },
                key_file: paths.key,
                cert_file: paths.cert,
              },
            ],
          },
        },
      },
    });
    cleanups.push(() => a.dispose());
    const run = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(run.error).toContain(
      `renew down: ACME server https://127.0.0.1:${deadPort}/dir unreachable: connection refused`,
    );
    expect(readFileSync(paths.cert, 'utf8')).toBe(before);
    expect(existsSync(`${paths.cert}.previous`)).toBe(false);
    await waitFor(
      'the failure notice',
      () => hook.bodies.find((b) => b.includes('network.ssl.renewal failed')),
      30_000,
    );
    const retries = await a.store.listActivity({ kind: 'run.retry_scheduled' });
    expect(retries.map((r) => r.message)).toEqual([
      expect.stringMatching(/^attempt 2 of \d+ for network\.ssl\.renewal/),
    ]);
    expect((await a.store.listActivity({ kind: 'tls.renewal_failed' })).map((e) => e.data?.stage)).toEqual(['order']);
  }, 60_000);

  it('stops asking the CA once the hourly failure limit is reached', async () => {
    const { paths } = await installOld('limited', { fromDays: -80, toDays: 10 });
    const a = await testApp({
      network: {
        ssl: {
          renewal: {
            failures_per_hour: 1,
            acme: {
              directory: `https://127.0.0.1:${await freePort()}/dir`,
              account_key_file: join(dir, 'account.key'),
              request_retries: 0,
            },
            certificates: [
              {
                name: 'limited',
                domains: ['app.test'],
                http: { listen: '127.0.0.1:0' },
                key_file: paths.key,
                cert_file: paths.cert,
              },
            ],
          },
        },
      },
    });
    cleanups.push(() => a.dispose());
    const first = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(first.error).toMatch(/unreachable/);
    const second = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(second.status).toBe('failed');
    expect(second.error).toMatch(
      /limited: not asking the CA again: 1 failed attempt\(s\) in the last hour \(limit network\.ssl\.renewal\.failures_per_hour: 1\)/,
    );
  }, 60_000);

  it('a reload command that fails puts the previous pair back', async () => {
    const { old, paths } = await installOld('badreload', { fromDays: -5, toDays: 1 });
    const a = await app([
      {
        name: 'badreload',
        domains: ['app.test'],
        http: { listen: `127.0.0.1:${pebble.httpPort}` },
        key_file: paths.key,
        cert_file: paths.cert,
        reload: [process.execPath, '-e', 'console.error("nginx: [emerg] bad config"); process.exit(1)'],
      },
    ]);
    const run = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/badreload: the reload command failed .*exit.*1/);
    expect(run.error).toMatch(/nginx: \[emerg\] bad config/);
    expect(run.error).toMatch(/the new certificate was not kept: put .*badreload\.crt\.previous/);
    expect(readFileSync(paths.cert, 'utf8')).toBe(old.certPem + pki.intermediate.certPem);
    expect(readFileSync(paths.key, 'utf8')).toBe(old.keyPem);
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
  }, 120_000);

  it('a server that keeps the old certificate after the reload is an alert with the rollback step', async () => {
    const { paths } = await installOld('stale', { fromDays: -5, toDays: 1 });
    const server = await startTlsServers([{ chain: [], files: paths }]);
    cleanups.push(() => server.stop());
    const a = await app([
      {
        name: 'stale',
        domains: ['app.test'],
        http: { listen: `127.0.0.1:${pebble.httpPort}` },
        key_file: paths.key,
        cert_file: paths.cert,
        // Exits 0 but reloads nothing.
        reload: ['true'],
        endpoint: { host: '127.0.0.1', port: server.ports[0] },
        prove_timeout: '2 seconds',
      },
    ]);
    const run = await a.engine.run('network.ssl.renewal', { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /stale: 127\.0\.0\.1:\d+ does not serve the new certificate .* 2 s after the reload: still serves sha256/,
    );
    expect(run.error).toContain(
      `To roll back: cp -p ${paths.key}.previous ${paths.key} && cp -p ${paths.cert}.previous ${paths.cert} && true`,
    );
    expect(new X509Certificate(readFileSync(paths.cert)).issuer).toMatch(/Pebble/);
  }, 120_000);

  it('after a crash between the two renames, recovery puts the previous matching pair back', async () => {
    const { old, paths } = await installOld('crashed', { fromDays: -80, toDays: 10 });
    writeFileSync(`${paths.key}.previous`, old.keyPem, { mode: 0o600 });
    writeFileSync(`${paths.cert}.previous`, old.certPem + pki.intermediate.certPem);
    // The new certificate landed, the process died before the key did.
    const fresh = await issue(pki.intermediate, { cn: 'app.test' });
    writeFileSync(paths.cert, fresh.certPem);
    const a = await app([
      {
        name: 'crashed',
        domains: ['app.test'],
        http: { webroot: join(dir, 'www') },
        key_file: paths.key,
        cert_file: paths.cert,
      },
    ]);
    const lines = await sslRenewalTask.recoverInterrupted!(testContext(a.loaded.policy));
    expect(lines).toEqual([
      expect.stringMatching(/^crashed: the key did not match the certificate; put .*crashed\.crt\.previous/),
    ]);
    expect(readFileSync(paths.cert, 'utf8')).toBe(old.certPem + pki.intermediate.certPem);
    expect(readFileSync(paths.key, 'utf8')).toBe(old.keyPem);
  }, 60_000);
});
