// `drydock dns change|list` as a person runs them: a real process, a policy file, a token, knotd and
// two unbound resolvers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { query } from '../../../src/network/dns/client.js';
import { startKnot, startUnbound, zoneFile, type RunningServer } from './servers.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const ZONE = 'cli.test';
const TOKEN = 'ddk_test_token_for_ops_person_0001';
let dir: string;
let knot: RunningServer;
let resolvers: Array<Awaited<ReturnType<typeof startUnbound>>> = [];
const addr = (s: { host: string; port: number }) => `${s.host}:${s.port}`;

function drydock(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), ...args],
      {
        cwd: dir,
        env: { ...process.env, DRYDOCK_POLICY: join(dir, 'drydock.yaml'), OPS_TOKEN: TOKEN, DRYDOCK_TOKEN: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-dns-cli-'));
  knot = await startKnot(ZONE, zoneFile(ZONE, 1, [{ name: 'www', ttl: 300, type: 'A', value: '192.0.2.10' }]));
  resolvers = await Promise.all([startUnbound(ZONE, knot), startUnbound(ZONE, knot)]);
  writeFileSync(
    join(dir, 'drydock.yaml'),
    stringify({
      state: { path: 'state.sqlite' },
      stakeholders: [
        { name: 'Ops Person', roles: ['Head of Operations'], token: { env: 'OPS_TOKEN' }, access: 'operator' },
      ],
      network: {
        dns: {
          timeout: '1 second',
          resolvers: resolvers.map(addr),
          zones: [{ zone: ZONE, authoritative: [addr(knot)], records: [{ name: 'www', type: 'A' }] }],
        },
      },
    }),
  );
}, 90_000);

afterAll(async () => {
  await Promise.all([knot?.stop(), ...resolvers.map((r) => r.stop())]);
  rmSync(dir, { recursive: true, force: true });
});

describe('drydock dns', () => {
  it('declares a change as the person whose token is given, looks once, and lists it', async () => {
    // Resolver 1 caches the old address for 300 s; resolver 2 will ask the reloaded server.
    await query(resolvers[0]!, `www.${ZONE}`, 'A', { timeoutMs: 2000, recursion: true });
    await knot.reload(zoneFile(ZONE, 2, [{ name: 'www', ttl: 300, type: 'A', value: '192.0.2.20' }]));
    const declared = await drydock(['dns', 'change', `www.${ZONE}`, 'A', '192.0.2.20'], { DRYDOCK_TOKEN: TOKEN });
    expect(declared.stderr).toBe('');
    expect(declared.code).toBe(0);
    expect(declared.stdout).toContain('DNS change #1 declared by Ops Person; tracked every 15 minutes');
    expect(declared.stdout).toMatch(
      /#1 \[tracking\] www\.cli\.test A → 192\.0\.2\.20: 50% \(1\/2 resolvers\), expected everywhere by/,
    );
    expect(declared.stdout).toMatch(
      new RegExp(`lagging: ${addr(resolvers[0]!).replace(/\./g, '\\.')} serves 192\\.0\\.2\\.10 for \\d+ s more`),
    );
    const listed = await drydock(['dns', 'list', '--json']);
    expect(listed.code).toBe(0);
    const changes = JSON.parse(listed.stdout) as Array<{
      id: number;
      declaredBy: string;
      percent: number;
      status: string;
    }>;
    expect(changes).toEqual([
      expect.objectContaining({ id: 1, declaredBy: 'Ops Person', percent: 50, status: 'tracking' }),
    ]);
  });

  it('refuses a write without a valid token, a name outside the watched zones and an unknown type, with exit 2', async () => {
    const anonymous = await drydock(['dns', 'change', `www.${ZONE}`, 'A', '192.0.2.30']);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toContain('declaring a DNS change needs your API token in DRYDOCK_TOKEN');
    const outside = await drydock(['dns', 'change', 'www.elsewhere.org', 'A', '192.0.2.30'], { DRYDOCK_TOKEN: TOKEN });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('www.elsewhere.org is in none of the zones of network.dns.zones');
    const badType = await drydock(['dns', 'change', `www.${ZONE}`, 'HINFO', 'x'], { DRYDOCK_TOKEN: TOKEN });
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('unknown record type HINFO');
    const listed = await drydock(['dns', 'list', '--json']);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(1);
  });
});
