// TLS validation against real TLS servers (node:tls in a child process, smtp-server, a throwaway
// PostgreSQL with ssl = on) serving certificates made by the tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/adapters/free-port.js';
import { checkEndpoint, type EndpointPolicy } from '../../../src/network/tls/check.js';
import { chownTree, makeTempDir, PgCluster } from '../../helpers/pg-cluster.js';
import { testApp } from '../../helpers/app.js';
import { issue, testPki, type Issued } from './certs.js';
import { startTlsServers, type RunningServers } from './tls-server.js';

let pki: { root: Issued; intermediate: Issued };
let servers: RunningServers;
let dir: string;
const ports: Record<string, number> = {};

const policy = (): EndpointPolicy => ({
  expiryAlertMs: 14 * 86_400_000,
  expiryAlertShare: 1 / 6,
  minRsaBits: 2048,
  minEcBits: 256,
  timeoutMs: 10_000,
  ca: pki.root.certPem,
});

const at = (port: number, servername = 'app.test') => ({
  host: '127.0.0.1',
  port,
  servername,
  protocol: 'tls' as const,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-tlsv-'));
  pki = await testPki();
  const leaf = (options: Partial<Parameters<typeof issue>[1]> = {}) =>
    issue(pki.intermediate, { cn: 'app.test', names: ['app.test', 'www.app.test'], ...options });
  const good = await leaf({ lifetime: { fromDays: -30, toDays: 60 } });
  const entries = {
    good: { chain: [good, pki.intermediate] },
    expired: { chain: [await leaf({ lifetime: { fromDays: -90, toDays: -2 } }), pki.intermediate] },
    // Six-day certificates: 0.5 day left is under a sixth of the lifetime (1 day); 3 days left is not.
    shortDue: { chain: [await leaf({ lifetime: { fromDays: -5.5, toDays: 0.5 } }), pki.intermediate] },
    shortFine: { chain: [await leaf({ lifetime: { fromDays: -3, toDays: 3 } }), pki.intermediate] },
    wrongName: { chain: [await leaf({ cn: 'other.test', names: ['other.test'] }), pki.intermediate] },
    incomplete: { chain: [good] },
    tls10: { chain: [good, pki.intermediate], minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' },
    weakCipher: {
      chain: [good, pki.intermediate],
      maxVersion: 'TLSv1.2',
      ciphers: 'AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256',
    },
    smallKey: { chain: [await leaf({ kind: 'rsa1024' }), pki.intermediate], ciphers: 'DEFAULT@SECLEVEL=0' },
    hang: { chain: [good], mode: 'hang' as const },
  };
  servers = await startTlsServers(Object.values(entries));
  Object.keys(entries).forEach((name, i) => (ports[name] = servers.ports[i]!));
  writeFileSync(join(dir, 'root.pem'), pki.root.certPem);
}, 60_000);

afterAll(async () => {
  await servers?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('checkEndpoint', () => {
  it('a good endpoint: chain to the configured CA, days left on every certificate, no problem', async () => {
    const r = await checkEndpoint('good', at(ports.good!), policy());
    expect(r.reachable).toBe(true);
    expect(r.trusted).toBe(true);
    expect(r.hostnameOk).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.chain.map((c) => c.subject)).toEqual([
      'CN=app.test',
      'CN=Drydock Test Intermediate',
      'CN=Drydock Test Root',
    ]);
    expect(r.chain[0]!.daysLeft).toBeGreaterThan(59);
    expect(r.chain[0]!.daysLeft).toBeLessThanOrEqual(60);
    expect(r.chain[0]!.keyType).toBe('ec');
    expect(r.chain[0]!.keyBits).toBe(256);
    expect(r.protocol).toBe('TLSv1.3');
    expect(r.legacyProtocols).toEqual([]);
    expect(r.weakCiphers).toEqual([]);
  });

  it('without the configured CA the system store does not trust a private root', async () => {
    const { ca: _ca, ...systemStore } = policy();
    const r = await checkEndpoint('good', at(ports.good!), systemStore);
    expect(r.trusted).toBe(false);
    expect(r.problems.map((p) => p.message).join('\n')).toMatch(/chain not trusted/);
  });

  it('an expired leaf is an expiration problem naming the certificate and the date', async () => {
    const r = await checkEndpoint('expired', at(ports.expired!), policy());
    expect(r.chain[0]!.daysLeft).toBeLessThan(0);
    const expiry = r.problems.filter((p) => p.kind === 'expiration');
    expect(expiry).toHaveLength(1);
    expect(expiry[0]!.message).toMatch(/^leaf CN=app\.test expired 2 day\(s\) ago/);
    // The failed verification is the same fact: not reported twice.
    expect(r.problems.filter((p) => p.kind === 'configuration')).toEqual([]);
  });

  it('short-lived certificates alert on a sixth of their lifetime, not on a fixed 14 days', async () => {
    const due = await checkEndpoint('short', at(ports.shortDue!), policy());
    expect(due.problems.map((p) => p.kind)).toEqual(['expiration']);
    expect(due.problems[0]!.message).toMatch(/expires in 0\.5 day\(s\).*alert threshold of 1 day/);
    const fine = await checkEndpoint('short', at(ports.shortFine!), policy());
    expect(fine.problems).toEqual([]);
  });

  it('a certificate for another name is a hostname mismatch', async () => {
    const r = await checkEndpoint('wrong', at(ports.wrongName!), policy());
    expect(r.hostnameOk).toBe(false);
    expect(r.problems).toEqual([
      { kind: 'configuration', message: expect.stringMatching(/hostname mismatch: .*app\.test.*other\.test/) },
    ]);
  });

  it('a server that does not send its intermediate has an incomplete chain', async () => {
    const r = await checkEndpoint('incomplete', at(ports.incomplete!), policy());
    expect(r.trusted).toBe(false);
    expect(r.trustError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/incomplete chain/)]);
  });

  it('a server that only speaks TLS 1.0 is checked over TLS 1.0 and fails', async () => {
    const r = await checkEndpoint('tls10', at(ports.tls10!), policy());
    expect(r.reachable).toBe(true);
    expect(r.protocol).toBe('TLSv1');
    expect(r.legacyProtocols).toEqual(['TLSv1']);
    const messages = r.problems.map((p) => p.message);
    expect(messages).toContain('accepts TLSv1 (TLS 1.0 and 1.1 are deprecated, RFC 8996)');
    expect(messages.join('\n')).toMatch(/no TLS 1\.2 or 1\.3/);
  });

  it('a server that accepts a static-RSA suite is flagged for a weak cipher', async () => {
    // RSA leaf: AES128-SHA needs an RSA certificate.
    const rsa = await issue(pki.intermediate, { cn: 'app.test', kind: 'rsa2048' });
    const s = await startTlsServers([
      { chain: [rsa, pki.intermediate], maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256' },
    ]);
    try {
      const r = await checkEndpoint('weak', at(s.ports[0]!), policy());
      expect(r.protocol).toBe('TLSv1.2');
      expect(r.weakCiphers).toEqual(['AES128-SHA']);
      expect(r.problems.map((p) => p.message)).toEqual(['accepts weak cipher suite(s): AES128-SHA']);
    } finally {
      await s.stop();
    }
  });

  it('a 1024-bit RSA key is too small', async () => {
    const r = await checkEndpoint('small', at(ports.smallKey!), policy());
    expect(r.chain[0]!.keyBits).toBe(1024);
    expect(r.problems.map((p) => p.message)).toContain('leaf CN=app.test has a 1024-bit RSA key (minimum 2048)');
  });

  it('a hanging handshake times out and names the endpoint and the stage', async () => {
    const started = Date.now();
    const r = await checkEndpoint('hang', at(ports.hang!), { ...policy(), timeoutMs: 1_000 });
    expect(r.reachable).toBe(false);
    expect(r.error).toMatch(
      new RegExp(
        `TLS endpoint 127\\.0\\.0\\.1:${ports.hang} \\(SNI app\\.test\\): no answer within 1000 ms while in the TLS handshake`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('a closed port is unreachable, named, not a crash', async () => {
    const port = await freePort();
    const r = await checkEndpoint('closed', at(port), policy());
    expect(r.reachable).toBe(false);
    expect(r.error).toBe(`cannot reach TLS endpoint 127.0.0.1:${port} (SNI app.test): connection refused`);
  });
});

describe('STARTTLS and PostgreSQL', () => {
  it('SMTP STARTTLS (smtp-server): the certificate behind STARTTLS is checked', async () => {
    const leaf = await issue(pki.intermediate, { cn: 'mail.app.test' });
    const smtp = new SMTPServer({
      key: leaf.keyPem,
      cert: leaf.certPem + pki.intermediate.certPem,
      authOptional: true,
      logger: false,
    });
    // The refusal probes (TLS 1.0, weak suites) fail their handshakes on purpose; smtp-server reports each one.
    smtp.on('error', () => undefined);
    const port = await freePort();
    await new Promise<void>((r) => smtp.listen(port, '127.0.0.1', r));
    try {
      const r = await checkEndpoint(
        'mail',
        { host: '127.0.0.1', port, servername: 'mail.app.test', protocol: 'smtp' },
        policy(),
      );
      expect(r.error).toBeUndefined();
      expect(r.chain[0]!.fingerprint256).toBe(
        new (await import('node:crypto')).X509Certificate(leaf.certPem).fingerprint256,
      );
      expect(r.trusted).toBe(true);
      expect(r.problems).toEqual([]);
    } finally {
      await new Promise<void>((r) => smtp.close(r));
    }
  });

  it('an SMTP server without STARTTLS is named', async () => {
    const smtp = new SMTPServer({ disabledCommands: ['STARTTLS'], authOptional: true, logger: false });
    smtp.on('error', () => undefined);
    const port = await freePort();
    await new Promise<void>((r) => smtp.listen(port, '127.0.0.1', r));
    try {
      const r = await checkEndpoint('mail', { host: '127.0.0.1', port, protocol: 'smtp' }, policy());
      expect(r.reachable).toBe(false);
      expect(r.error).toMatch(/does not offer STARTTLS/);
    } finally {
      await new Promise<void>((r) => smtp.close(r));
    }
  });

  it('PostgreSQL with ssl = on: the certificate behind SSLRequest is checked', async () => {
    const leaf = await issue(pki.intermediate, { cn: 'db.app.test', kind: 'rsa2048' });
    const certDir = makeTempDir('drydock-pgtls-');
    writeFileSync(join(certDir, 'server.crt'), leaf.certPem + pki.intermediate.certPem);
    writeFileSync(join(certDir, 'server.key'), leaf.keyPem, { mode: 0o600 });
    chownTree(certDir);
    const cluster = await PgCluster.create({
      archiveMode: 'off',
      settings: {
        ssl: 'on',
        ssl_cert_file: `'${join(certDir, 'server.crt')}'`,
        ssl_key_file: `'${join(certDir, 'server.key')}'`,
        // PostgreSQL's default (HIGH:MEDIUM:+3DES:!aNULL) accepts static-RSA suites, which the check flags.
        ssl_ciphers: "'ECDHE+AESGCM:ECDHE+CHACHA20'",
      },
    });
    try {
      const r = await checkEndpoint(
        'db',
        { host: '127.0.0.1', port: cluster.port, servername: 'db.app.test', protocol: 'postgres' },
        policy(),
      );
      expect(r.error).toBeUndefined();
      expect(r.chain[0]!.subject).toBe('CN=db.app.test');
      expect(r.chain[0]!.keyBits).toBe(2048);
      expect(r.trusted).toBe(true);
      expect(r.problems).toEqual([]);
    } finally {
      cluster.destroy();
      rmSync(certDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a server that is not PostgreSQL answering SSLRequest is named', async () => {
    const server = net.createServer((s) => s.end('garbage'));
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const r = await checkEndpoint('db', { host: '127.0.0.1', port, protocol: 'postgres' }, policy());
      expect(r.error).toMatch(/not a PostgreSQL server/);
    } finally {
      server.close();
    }
  });
});

describe('network.ssl.validation task', () => {
  it('records figures per endpoint and fails validation naming each endpoint and problem', async () => {
    const app = await testApp({
      notify: { failure: ['log'] },
      network: {
        ssl: {
          validation: {
            timeout: '5 seconds',
            endpoints: [
              {
                name: 'www',
                host: '127.0.0.1',
                port: ports.good,
                servername: 'app.test',
                ca_file: join(dir, 'root.pem'),
              },
              {
                name: 'legacy',
                host: '127.0.0.1',
                port: ports.tls10,
                servername: 'app.test',
                ca_file: join(dir, 'root.pem'),
              },
              {
                name: 'old',
                host: '127.0.0.1',
                port: ports.expired,
                servername: 'app.test',
                ca_file: join(dir, 'root.pem'),
              },
              { name: 'down', host: '127.0.0.1', port: await freePort() },
            ],
          },
        },
      },
    });
    try {
      const run = await app.engine.run('network.ssl.validation', { trigger: 'manual' });
      expect(run.status).toBe('validation_failed');
      expect(run.figures['www.leaf_days_left']!.value).toBeGreaterThan(59);
      expect(run.figures['www.problems']!.value).toBe(0);
      expect(run.figures['legacy.problems']!.value).toBeGreaterThan(0);
      expect(run.figures['old.leaf_days_left']!.value).toBeLessThan(0);
      const failed = run.validation!.checks.filter((c) => !c.ok).map((c) => c.name);
      expect(failed.sort()).toEqual(['down.reachable', 'legacy.configuration', 'old.expiration']);
      expect(run.error).toMatch(/legacy\.configuration: 127\.0\.0\.1:\d+ \(SNI app\.test\): accepts TLSv1/);
      expect(run.error).toMatch(/down\.reachable: cannot reach TLS endpoint 127\.0\.0\.1:\d+: connection refused/);
      const steps = (await app.store.listSteps(run.id)).map((s) => s.name);
      expect(steps).toEqual(expect.arrayContaining(['check www', 'check legacy', 'check old', 'check down']));
    } finally {
      await app.dispose();
    }
  }, 60_000);

  it('with alerts: [expiration], configuration problems are recorded but do not fail the run', async () => {
    const app = await testApp({
      network: {
        ssl: {
          validation: {
            alerts: ['expiration'],
            endpoints: [
              {
                name: 'legacy',
                host: '127.0.0.1',
                port: ports.tls10,
                servername: 'app.test',
                ca_file: join(dir, 'root.pem'),
              },
            ],
          },
        },
      },
    });
    try {
      const run = await app.engine.run('network.ssl.validation', { trigger: 'manual' });
      expect(run.status).toBe('succeeded');
      const check = run.validation!.checks.find((c) => c.name === 'legacy.configuration')!;
      expect(check.detail).toMatch(/accepts TLSv1.*not alerted/);
    } finally {
      await app.dispose();
    }
  }, 60_000);
});
