// `drydock tls check | list` as a person runs them: a real process and a real policy file.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { issue, testPki } from './certs.js';
import { startTlsServers, type RunningServers } from './tls-server.js';

const ROOT = resolve(import.meta.dirname, '../../..');
let dir: string;
let servers: RunningServers;

function drydock(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      join(ROOT, 'src/cli/main.ts'),
      '--policy',
      join(dir, 'drydock.yaml'),
      ...args,
    ],
    {
      cwd: dir,
      env: { ...process.env, DRYDOCK_POLICY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-tlscli-'));
  const pki = await testPki();
  const good = await issue(pki.intermediate, { cn: 'app.test' });
  const legacy = await issue(pki.intermediate, { cn: 'old.test' });
  servers = await startTlsServers([
    { chain: [good, pki.intermediate] },
    { chain: [legacy, pki.intermediate], minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' },
  ]);
  writeFileSync(join(dir, 'root.pem'), pki.root.certPem);
  const short = await issue(pki.intermediate, { cn: 'api.app.test', lifetime: { fromDays: -3, toDays: 3 } });
  writeFileSync(join(dir, 'api.crt'), short.certPem);
  writeFileSync(
    join(dir, 'drydock.yaml'),
    stringify({
      state: { path: join(dir, 'state.sqlite') },
      network: {
        ssl: {
          validation: {
            endpoints: [
              {
                name: 'www',
                host: '127.0.0.1',
                port: servers.ports[0],
                servername: 'app.test',
                ca_file: join(dir, 'root.pem'),
              },
              {
                name: 'legacy',
                host: '127.0.0.1',
                port: servers.ports[1],
                servername: 'old.test',
                ca_file: join(dir, 'root.pem'),
              },
            ],
          },
          renewal: {
            certificates: [
              {
                name: 'api',
                domains: ['api.app.test'],
                http: { webroot: join(dir, 'www') },
                key_file: join(dir, 'api.key'),
                cert_file: join(dir, 'api.crt'),
              },
              {
                name: 'new',
                domains: ['new.app.test'],
                http: { webroot: join(dir, 'www') },
                key_file: join(dir, 'new.key'),
                cert_file: join(dir, 'new.crt'),
              },
            ],
          },
        },
      },
    }),
  );
}, 60_000);

afterAll(async () => {
  await servers?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('drydock tls', () => {
  it('check prints what each endpoint serves and exits 1 when one has a problem', async () => {
    const result = await drydock(['tls', 'check']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^www:\n {2}127\.0\.0\.1:\d+ \(SNI app\.test\): TLSv1\.3/m);
    expect(result.stdout).toMatch(/leaf: CN=app\.test \(issuer CN=Drydock Test Intermediate\)/);
    expect(result.stdout).toMatch(/^legacy:\n(.*\n)*? {4}PROBLEM \(configuration\): accepts TLSv1 /m);
  }, 60_000);

  it('list says which certificate is due and why', async () => {
    const result = await drydock(['tls', 'list', '--json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Array<{
      name: string;
      due: boolean;
      reason: string;
      daysLeft: number | null;
    }>;
    expect(rows.map((r) => [r.name, r.due])).toEqual([
      ['api', false],
      ['new', true],
    ]);
    expect(rows[0]!.reason).toMatch(/^3 day\(s\) left, due at .* \(a third of its lifetime before expiry\)$/);
    expect(rows[1]!.reason).toBe('no certificate yet');
  }, 60_000);
});
