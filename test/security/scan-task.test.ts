// security.scans.vulnerability through the engine, on a real App (SQLite state, channel registry,
// patch service): findings de-duplicated across scanners and days, SLA clocks from first seen,
// patches fed into security.patches, closing by the run that no longer sees them, and every
// scanner fault a failed run that names the scanner and closes nothing.
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CTO_TOKEN, securityBed, type SecurityBed } from './helpers.js';
import { startNessusReplay } from './nessus-replay.js';
import type { App } from '../../src/app.js';
import type { Principal } from '../../src/access/levels.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = new Date('2026-11-02T05:00:00Z');

let bed: SecurityBed;
beforeAll(async () => {
  bed = await securityBed();
});
afterAll(async () => bed?.close());

const scanners = () => ({
  npm: { lockfile: join(bed.dir, 'package-lock.json'), advisories: join(bed.dir, 'osv-npm.json') },
  debian: {
    status_file: join(bed.dir, 'dpkg-status'),
    tracker: join(bed.dir, 'debian-tracker.json'),
    release: 'bookworm',
  },
});

function freshAdvisories(at: Date) {
  for (const f of ['osv-npm.json', 'debian-tracker.json']) utimesSync(join(bed.dir, f), at, at);
}

describe('a daily scan from finding to closed patch', () => {
  it('records findings once across scanners and days, feeds patches and closes what a patch fixed', async () => {
    const grype = bed.program(
      'grype-ok',
      `process.stdout.write(require('fs').readFileSync(${JSON.stringify(join(bed.dir, 'grype-dir-app.json'))}, 'utf8'));`,
    );
    const app = await bed.app(
      {
        security: {
          scans: {
            vulnerability: {
              host: 'web-1',
              scanners: { ...scanners(), grype: { program: grype, targets: [{ fs: bed.dir }] } },
            },
          },
        },
      },
      START,
    );
    freshAdvisories(START);
    const first = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    expect(first.error).toBeNull();
    expect(first.status).toBe('succeeded');
    const findings = app.security.findings.store.list();
    const byPkg = (p: string) => findings.filter((f) => f.package === p);

    // lodash is reported by the npm scanner (GHSA id + CVE alias) and by Grype: one finding.
    expect(byPkg('lodash')).toHaveLength(1);
    expect(byPkg('lodash')[0]).toMatchObject({
      vulnId: 'CVE-2021-23337',
      scanners: ['npm', 'grype'],
      severity: 'high',
      firstSeen: START,
      dueAt: new Date(START.getTime() + 72 * HOUR),
      firstRunId: first.id,
    });
    expect(byPkg('lodash')[0]!.locations).toHaveLength(2);
    expect(byPkg('request')).toHaveLength(1);

    // SLA clocks: critical 24 h, medium 1 week, low none.
    expect(byPkg('minimist')[0]!.dueAt).toEqual(new Date(START.getTime() + DAY));
    expect(byPkg('semver')[0]!.dueAt).toEqual(new Date(START.getTime() + 7 * DAY));
    expect(byPkg('cookie')[0]!.dueAt).toBeNull();
    expect(byPkg('openssl')[0]).toMatchObject({ host: 'web-1', severity: 'high', fixedVersion: '3.0.20-1~deb12u1' });

    // Patches: critical approved automatically, high and medium wait for approval, none for low or without a fix.
    const patch = (pkg: string) => {
      const id = byPkg(pkg)[0]!.patchId;
      return id === null ? null : app.windows.patches.store.patch(id);
    };
    expect(patch('minimist')).toMatchObject({
      status: 'approved',
      severity: 'critical',
      dueAt: new Date(START.getTime() + DAY),
    });
    expect(patch('lodash')).toMatchObject({ status: 'pending_approval', severity: 'high' });
    expect(patch('lodash')!.title).toMatch(/^upgrade lodash 4\.17\.20 → 4\.17\.21 on web-1/);
    expect(patch('semver')).toMatchObject({ status: 'pending_approval', severity: 'medium' });
    expect(patch('cookie')).toBeNull();
    expect(patch('request')).toBeNull();
    expect(first.summary.join('\n')).toMatch(/new medium CVE-2023-28155 in request 2\.88\.2 on web-1 \(no fix yet\)/);
    expect(first.summary.join('\n')).toMatch(
      /open findings: 1 critical, \d+ high, \d+ medium, \d+ low; \d+ without a fix/,
    );
    // The critical patch's notice is immediate and names it.
    expect(bed.received().some((m) => m.kind === 'patch_notice' && m.subject.includes('minimist'))).toBe(true);

    // The next day: the same findings, nothing new, the clocks unchanged.
    app.clock.advance(DAY);
    freshAdvisories(app.clock.now());
    const second = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    expect(second.status).toBe('succeeded');
    expect(second.figures['findings.new']).toEqual({ value: 0 });
    expect(app.security.findings.store.list()).toHaveLength(findings.length);
    expect(app.security.findings.store.get(byPkg('lodash')[0]!.id)).toMatchObject({
      firstSeen: START,
      lastRunId: second.id,
    });

    // The CTO approves the lodash patch, it is applied (lockfile and Grype's view upgraded), the next scan closes it.
    const lodashPatch = patch('lodash')!;
    const carol = await principalOf(app, CTO_TOKEN);
    await app.windows.patches.decidePatch(lodashPatch.id, carol, {
      decision: 'approved',
      planHash: lodashPatch.planHash,
    });
    await app.windows.patches.markApplied(lodashPatch.id, 'Carol');
    const lock = readFileSync(join(bed.dir, 'package-lock.json'), 'utf8').replace(
      /"version": "4\.17\.20"/,
      '"version": "4.17.21"',
    );
    writeFileSync(join(bed.dir, 'package-lock.json'), lock);
    const report = JSON.parse(readFileSync(join(bed.dir, 'grype-dir-app.json'), 'utf8')) as { matches: unknown[] };
    report.matches = report.matches.slice(1);
    writeFileSync(join(bed.dir, 'grype-dir-app.json'), JSON.stringify(report));
    app.clock.advance(HOUR);
    const third = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    expect(third.status).toBe('succeeded');
    const lodash = app.security.findings.store.get(byPkg('lodash')[0]!.id)!;
    expect(lodash).toMatchObject({ status: 'closed', closedByRun: third.id });
    expect(lodash.closeReason).toMatch(new RegExp(`no longer seen after patch #${lodashPatch.id} was applied`));
    expect(third.summary.join('\n')).toMatch(/closed finding #\d+ CVE-2021-23337 in lodash/);
    const activity = await app.store.listActivity({ kind: 'finding.closed' });
    expect(activity[0]!.message).toMatch(/closed by run #\d+: .*within its SLA/);
  });
});

describe('scanner faults: a failed run naming the scanner, and nothing closed', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'crash',
      `process.stderr.write('FATAL	failed to initialize the vulnerability DB: database is locked\\n'); process.exit(2);`,
      /trivy scanner: scanning image node:20: trivy exited with status 2:\nFATAL\tfailed to initialize the vulnerability DB/,
    ],
    [
      'timeout',
      `setTimeout(() => {}, 60_000);`,
      /trivy scanner: scanning image node:20: trivy-timeout did not finish within 1 s and was stopped/,
    ],
    [
      'invalid JSON',
      `process.stdout.write('2026-11-02T05:00:01Z INFO Need to update DB\\n{"SchemaVersion": 2, "Results": [');`,
      /trivy scanner: scanning image node:20: trivy printed invalid JSON; it printed:\n2026-11-02T05:00:01Z INFO Need to update DB/,
    ],
    [
      'unknown format',
      `process.stdout.write(JSON.stringify({ SchemaVersion: 3, Results: [] }));`,
      /trivy scanner: scanning image node:20: trivy report SchemaVersion 3 is not 2; it printed:\n\{"SchemaVersion":3/,
    ],
    ['not installed', '', /trivy scanner not installed: \/nonexistent\/trivy was not found/],
  ];

  it.each(cases)(
    '%s',
    async (name, body, message) => {
      const program =
        name === 'not installed' ? '/nonexistent/trivy' : bed.program(`trivy-${name.replace(' ', '-')}`, body);
      const npmOnly = { npm: scanners().npm };
      const app = await bed.app(
        { security: { scans: { vulnerability: { host: 'web-2', scanners: npmOnly } } } },
        START,
      );
      freshAdvisories(START);
      const ok = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
      expect(ok.status).toBe('succeeded');
      const open = app.security.findings.store.list({ status: 'open' }).length;
      expect(open).toBeGreaterThan(3);

      // Same state, a policy that adds the failing Trivy; the lockfile no longer has the vulnerable packages.
      const failing = await bed.app(
        {
          security: {
            scans: {
              vulnerability: {
                host: 'web-2',
                scanners: {
                  npm: { ...npmOnly.npm, lockfile: join(bed.dir, 'empty-lock.json') },
                  trivy: { program, targets: [{ image: 'node:20' }], timeout: '1 second' },
                },
              },
            },
          },
        },
        START,
        app.dir,
      );
      writeFileSync(
        join(bed.dir, 'empty-lock.json'),
        JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'x' } } }),
      );
      const run = await failing.engine.run('security.scans.vulnerability', { trigger: 'manual' });
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(message);
      expect(run.error).toMatch(/^scan: trivy: /);
      // The npm scanner ran and saw nothing, but a failed scan closes nothing.
      expect(failing.security.findings.store.list({ status: 'open' })).toHaveLength(open);
      expect(run.summary.join('\n')).toMatch(/open findings:/);
    },
    60_000,
  );
});

/** The person a token proves (issue 9's access model), or the test fails naming why. */
async function principalOf(app: Pick<App, 'access'>, token: string): Promise<Principal> {
  const result = await app.access.authenticate(token);
  if (!result.ok) throw new Error(`token refused: ${result.reason}`);
  return result.principal;
}
describe('Nessus through the scan task', () => {
  it('records the hosts Nessus scanned, with API keys from secrets that never reach the run record', async () => {
    const keys = { access: 'acc'.repeat(20), secret: 'sec'.repeat(20) };
    const nessus = await startNessusReplay(keys);
    process.env.NESSUS_TEST_ACCESS = keys.access;
    process.env.NESSUS_TEST_SECRET = keys.secret;
    try {
      const app = await bed.app(
        {
          security: {
            scans: {
              vulnerability: {
                scanners: {
                  nessus: {
                    url: nessus.url,
                    access_key: { env: 'NESSUS_TEST_ACCESS' },
                    secret_key: { env: 'NESSUS_TEST_SECRET' },
                    scan_id: 42,
                    poll: '1 second',
                  },
                },
              },
            },
          },
        },
        START,
      );
      const run = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
      expect(run.error).toBeNull();
      const found = app.security.findings.store.list().map((f) => `${f.host} ${f.package} ${f.vulnId}`);
      expect(found).toEqual([
        '10.0.4.11 libssl3 CVE-2025-9230',
        '10.0.4.12 SSH Terrapin Prefix Truncation Weakness (CVE-2023-48795) CVE-2023-48795',
        '10.0.4.12 SSL Self-Signed Certificate nessus:57582',
      ]);
      const libssl = app.security.findings.store.list()[0]!;
      expect(app.windows.patches.store.patch(libssl.patchId!)).toMatchObject({
        severity: 'high',
        status: 'pending_approval',
      });
      const recorded = JSON.stringify([
        run,
        await app.store.listSteps(run.id),
        await app.store.listActivity({ limit: 1000 }),
      ]);
      expect(recorded).toMatch(/Nessus scan 42 \(b2d5e4a8-3f9c-4c1e-9d70-7e2c1a5f6b30\)/);
      expect(recorded).not.toContain(keys.access);
      expect(recorded).not.toContain(keys.secret);
    } finally {
      delete process.env.NESSUS_TEST_ACCESS;
      delete process.env.NESSUS_TEST_SECRET;
      await nessus.close();
    }
  }, 60_000);
});
