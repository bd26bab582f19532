// `drydock firewall ...` as people run it, against nftables in a namespace this test creates: an
// emergency change requested, approved by the two emergency roles, applied, and approved as the baseline.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, type TestNamespace } from './netns.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const TOKENS = {
  dev: 'dana-Vq8Lr2Xw7Kp4Zn9Tc3Hm6Bj1Gs5Fd0Ya',
  ops: 'olga-Ht5Qz1Nc8Rw3Lp6Xk9Vb2Jm7Fs4Gd0Ue',
  cto: 'carl-Pz4Wn7Kq2Xc9Lr5Tb8Hv1Mj6Gs3Fd0Yo',
};
let dir: string;
let ns: TestNamespace;

const ruleset = (extra = '') => `flush ruleset
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    tcp dport 8080 accept
${extra}  }
}
`;

function drydock(args: string[], as?: keyof typeof TOKENS) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), ...args],
      {
        cwd: dir,
        env: {
          ...process.env,
          DRYDOCK_POLICY: join(dir, 'drydock.yaml'),
          DEV_TOKEN: TOKENS.dev,
          OPS_TOKEN: TOKENS.ops,
          CTO_TOKEN: TOKENS.cto,
          DRYDOCK_TOKEN: as ? TOKENS[as] : '',
        },
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
  dir = mkdtempSync(join(tmpdir(), 'drydock-fw-cli-'));
  ns = await createNamespace();
  ns.run('nft', ['-f', '-'], ruleset());
  await ns.serve(8080);
  writeFileSync(join(dir, 'open-443.nft'), ruleset('    tcp dport 443 accept\n'));
  writeFileSync(
    join(dir, 'drydock.yaml'),
    stringify({
      state: { path: 'state.sqlite' },
      stakeholders: [
        { name: 'Dana Dev', roles: ['Engineer'], token: { env: 'DEV_TOKEN' }, access: 'operator' },
        { name: 'Olga Ops', roles: ['Head of Operations'], token: { env: 'OPS_TOKEN' }, access: 'operator' },
        { name: 'Carl CTO', roles: ['CTO'], token: { env: 'CTO_TOKEN' } },
      ],
      network: {
        firewall: {
          netns: ns.name,
          public_ports: [8080, 443],
          connect_timeout: '1 second',
          services: [{ name: 'web', host: '127.0.0.1', port: 8080 }],
        },
      },
    }),
  );
}, 60_000);

afterAll(async () => {
  await ns?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('drydock firewall', () => {
  it('baseline, emergency change, two approvals, apply, diff, new baseline', async () => {
    const none = await drydock(['firewall', 'diff']);
    expect(none.stdout).toContain('no approved baseline; the ruleset has 3 rules');
    expect((await drydock(['firewall', 'baseline'])).stderr).toContain(
      'approving a firewall baseline needs your API token',
    );
    expect((await drydock(['firewall', 'baseline'], 'ops')).stdout).toContain(
      'baseline #1 approved by Olga Ops: 3 rules',
    );

    const requested = await drydock(
      ['firewall', 'change', '--emergency', '--file', 'open-443.nft', '--title', 'open 443'],
      'dev',
    );
    expect(requested.stdout).toMatch(
      /^#1 \[pending approval\] emergency "open 443" requested by Dana Dev .*; needs CTO and Head of Operations/,
    );
    expect((await drydock(['firewall', 'apply', '1'], 'ops')).stderr).toContain(
      'firewall change #1 is pending approval, not approved',
    );
    expect((await drydock(['firewall', 'approve', '1'], 'ops')).stdout).toContain('still needs CTO');
    expect((await drydock(['firewall', 'approve', '1'], 'cto')).stdout).toContain('#1 [approved]');

    const applied = await drydock(['firewall', 'apply', '1'], 'ops');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('web (127.0.0.1:8080): reachable');
    expect(applied.stdout).toContain('#1 [applied]');

    const drift = await drydock(['firewall', 'diff']);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('+ inet filter input: tcp dport 443 accept');
    expect(drift.stdout).toContain('expected world open: inet filter input: "tcp dport 443 accept" opens port 443');
    expect((await drydock(['firewall', 'baseline', '--change', '1'], 'ops')).stdout).toContain(
      'baseline #2 approved by Olga Ops: 4 rules (firewall change #1 "open 443")',
    );
    const clean = await drydock(['firewall', 'diff']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('unchanged since baseline #2 (4 rules)');
  }, 300_000);
});
