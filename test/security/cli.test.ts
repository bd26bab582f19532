// `drydock findings ...` and `drydock compliance ...` as a person runs them: real processes on a
// policy file, the state file they share, and the approver's token in DRYDOCK_TOKEN.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FIXTURES } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const TOKEN = 'hank-W7cN2xP9qLm4Rt8Vz3Kb6Yd1Hs5Jf0Ga';

let dir: string;
let policy: string;

function drydock(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, '--policy', policy, ...args], {
    cwd: dir,
    env: { ...process.env, DRYDOCK_POLICY: '', DRYDOCK_TOKEN: '', HANK_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-security-cli-'));
  for (const f of ['package-lock.json', 'osv-npm.json']) copyFileSync(join(FIXTURES, f), join(dir, f));
  policy = join(dir, 'drydock.yaml');
  writeFileSync(
    policy,
    stringify({
      state: { path: join(dir, 'state.sqlite') },
      security: {
        scans: {
          vulnerability: {
            host: 'web-1',
            scanners: { npm: { lockfile: 'package-lock.json', advisories: 'osv-npm.json' } },
          },
        },
      },
      stakeholders: [{ name: 'Hank', roles: ['Head of Operations'], token: { env: 'HANK_TOKEN' }, access: 'operator' }],
      maintenance_windows: { blackout: { periods: [] } },
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drydock findings and drydock compliance', () => {
  it('scans, lists and shows findings, records an exception with a token, and stores a report', async () => {
    const scan = await drydock(['run', 'security.scans.vulnerability']);
    expect(scan.stderr).toBe('');
    expect(scan.code).toBe(0);

    const list = await drydock(['findings', 'list', '--severity', 'high']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /^#\d+ high +open +CVE-2021-23337 lodash 4\.17\.20 → 4\.17\.21 on web-1; due \S+ \(\d+ h left\)$/m,
    );
    const id = /^#(\d+) .*lodash/m.exec(list.stdout)![1]!;
    const show = await drydock(['findings', 'show', id]);
    expect(show.stdout).toMatch(/ids: GHSA-35jh-r3h4-6jhm, CVE-2021-23337/);
    expect(show.stdout).toMatch(/patch #\d+: pending approval; plan [0-9a-f]{12}/);

    const args = [
      'findings',
      'except',
      'CVE-2023-28155',
      '--owner',
      'Hank',
      '--reason',
      'no user-supplied URL reaches request',
      '--expires',
      '2030-01-31',
    ];
    const refused = await drydock(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/recording an exception needs your API token in DRYDOCK_TOKEN/);
    const recorded = await drydock(args, { DRYDOCK_TOKEN: TOKEN });
    expect(recorded.stdout).toMatch(
      /^exception #1 for CVE-2023-28155 until 2030-02-01T00:00Z \(owner Hank\), recorded by Hank$/m,
    );
    const excepted = await drydock(['findings', 'list', '--status', 'excepted', '--json']);
    expect((JSON.parse(excepted.stdout) as Array<{ package: string }>).map((f) => f.package)).toEqual(['request']);

    const report = await drydock(['compliance', 'report', '--month', '2026-11', '--format', 'json']);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(
      /compliance-reports\/compliance-2026-11-.*\.json\nsha256 [0-9a-f]{64}, \d+ bytes, report #1/,
    );
    const listed = await drydock(['compliance', 'list']);
    expect(listed.stdout).toMatch(
      /^#1 2026-11 json .* by cli: \d+ met, \d+ not met, \d+ no evidence; sha256 [0-9a-f]{16}… file ok /m,
    );

    const bad = await drydock(['compliance', 'report', '--month', '2026-13']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected a month like 2026-11/);
  }, 180_000);
});
