// Each scanner adapter against recorded inputs: a real package-lock.json (this project's, with
// known-vulnerable packages added) and an OSV file, this machine's dpkg status and a Debian tracker
// file, Trivy and Grype JSON reports, and Nessus's REST API replayed by a local server.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../../src/security/debian-version.js';
import { parseGrype, parseTrivy } from '../../src/security/scanners/container.js';
import { matchDebian, readDpkgStatus, scanDebian } from '../../src/security/scanners/debian.js';
import { parseNessusCsv, scanNessus } from '../../src/security/scanners/nessus.js';
import { parseNpmAudit, readLockfile, scanNpm } from '../../src/security/scanners/npm.js';
import { loadOsv } from '../../src/security/scanners/osv.js';
import { eachTopLevelMember, TopLevelMembers } from '../../src/security/scanners/json-scan.js';
import { startNessusReplay, type NessusReplay } from './nessus-replay.js';

const FIX = join(import.meta.dirname, 'fixtures');
const f = (name: string) => join(FIX, name);

describe('npm: package-lock.json against an OSV file', () => {
  it('reads every installed package of a lockfile v3, nested ones included', () => {
    const packages = readLockfile(readFileSync(f('package-lock.json'), 'utf8'), 'package-lock.json');
    expect(packages.length).toBeGreaterThan(300);
    expect(packages).toContainEqual(
      expect.objectContaining({
        name: 'semver',
        version: '5.7.1',
        path: 'node_modules/jsonwebtoken/node_modules/semver',
      }),
    );
    expect(packages.find((p) => p.name === 'minimist')?.dev).toBe(true);
  });

  it('refuses a lockfile version it does not know instead of guessing', () => {
    expect(() => readLockfile('{"lockfileVersion": 4, "packages": {}}', 'x/package-lock.json')).toThrow(
      /lockfileVersion 4; Drydock reads lockfile versions 1, 2 and 3/,
    );
  });

  it('matches the vulnerable versions only, with the fixed version and the CVE as id', async () => {
    const outcome = await scanNpm({
      lockfile: f('package-lock.json'),
      advisories: f('osv-npm.json'),
      audit: false,
      timeoutMs: 10_000,
      host: 'web-1',
    });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const by = (pkg: string) => outcome.observations.filter((o) => o.package === pkg);
    expect(by('lodash')).toEqual([
      expect.objectContaining({
        vulnId: 'CVE-2021-23337',
        aliases: ['GHSA-35jh-r3h4-6jhm', 'CVE-2021-23337'],
        installedVersion: '4.17.20',
        fixedVersion: '4.17.21',
        severity: 'high',
        host: 'web-1',
      }),
    ]); // the withdrawn GHSA-jf85 and the range fixed in 4.17.19 do not match
    expect(by('minimist')[0]).toMatchObject({ severity: 'critical', fixedVersion: '1.2.6' });
    expect(by('semver')).toEqual([
      expect.objectContaining({ installedVersion: '5.7.1', fixedVersion: '5.7.2', severity: 'medium' }),
    ]);
    expect(by('request')[0]).toMatchObject({ fixedVersion: null, severity: 'medium' });
    expect(by('cookie')[0]).toMatchObject({ severity: 'low', fixedVersion: '0.7.0' });
    expect(by('qs')).toEqual([]); // 6.11.0 is the fixed version
    expect(by('zod')).toEqual([]); // zod 4 is past the fix
    expect(outcome.scanned).toMatch(/^\d+ packages in .*package-lock.json against 3011 OSV entries$/);
  });

  it('streams a large file one entry per line and parses only the entries of wanted packages', async () => {
    const index = await loadOsv(f('osv-npm.json'), 'npm', new Set(['lodash', 'minimist']), { streamAbove: 0 });
    expect(index.packages).toBe(2);
    expect(index.entries).toBe(3011);
    expect(index.match('lodash', '4.17.20').map((m) => m.vulnId)).toEqual(['CVE-2021-23337']);
    expect(index.match('minimist', '1.2.5').map((m) => m.fixed)).toEqual(['1.2.6']);
    // The same file pretty-printed (not one entry per line) is parsed whole, with the same result.
    const pretty = join(tmpdir(), `drydock-osv-pretty-${process.pid}.json`);
    writeFileSync(pretty, JSON.stringify(JSON.parse(readFileSync(f('osv-npm.json'), 'utf8')), null, 2));
    try {
      const again = await loadOsv(pretty, 'npm', new Set(['lodash', 'minimist']), { streamAbove: 0 });
      expect(again.packages).toBe(2);
      expect(again.match('lodash', '4.17.20').map((m) => m.vulnId)).toEqual(['CVE-2021-23337']);
    } finally {
      rmSync(pretty);
    }
  });

  it('reports an advisory file that is not OSV JSON with the file name', async () => {
    const outcome = await scanNpm({
      lockfile: f('package-lock.json'),
      advisories: f('dpkg-status'),
      audit: false,
      timeoutMs: 10_000,
      host: 'h',
    });
    expect(outcome).toMatchObject({ ok: false, scanner: 'npm', reason: 'invalid_output' });
    if (!outcome.ok) expect(outcome.error).toMatch(/npm scanner: advisory file .*dpkg-status.*is not OSV JSON/);
  });

  it('reads a recorded npm audit report (auditReportVersion 2) for the installed versions', () => {
    const packages = readLockfile(readFileSync(f('package-lock.json'), 'utf8'), 'package-lock.json');
    const audit = parseNpmAudit(readFileSync(f('npm-audit-v2.json'), 'utf8'), packages, 'web-1');
    expect(audit.ok).toBe(true);
    if (!audit.ok) return;
    // One observation per advisory object (an "express via body-parser" string is not an advisory).
    expect(audit.observations.map((o) => o.package).sort()).toEqual(['cross-spawn', 'lodash']);
    expect(audit.observations.find((o) => o.package === 'lodash')).toMatchObject({
      vulnId: 'GHSA-35jh-r3h4-6jhm',
      installedVersion: '4.17.20',
      severity: 'high',
    });
    expect(parseNpmAudit('{"auditReportVersion": 1}', packages, 'h')).toEqual({
      ok: false,
      error: 'npm audit report version 1 is not 2',
    });
    expect(parseNpmAudit('npm ERR! 405 Method Not Allowed', packages, 'h')).toMatchObject({ ok: false });
  });

  it('says so when npm audit does not answer and uses the offline file', async () => {
    const outcome = await scanNpm({
      lockfile: f('package-lock.json'),
      advisories: f('osv-npm.json'),
      audit: true,
      timeoutMs: 60_000,
      host: 'web-1',
    });
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(outcome.notes.join('\n')).toMatch(/npm audit (did not answer|answered)/);
      expect(outcome.observations.some((o) => o.package === 'lodash')).toBe(true);
    }
  }, 120_000);
});

describe('Debian: dpkg status against the security tracker', () => {
  it('compares versions exactly as dpkg --compare-versions does', () => {
    const pairs = [
      ['3.0.19-1~deb12u2', '3.0.20-1~deb12u1'],
      ['1:1.2.13.dfsg-1', '1.2.14'],
      ['2.9.14+dfsg-1.3~deb12u5', '2.9.14+dfsg-1.3~deb12u6'],
      ['1.0~rc1', '1.0'],
      ['1.0', '1.0-0'],
      ['7.88.1-10+deb12u14', '7.88.1-10+deb12u5'],
      ['5.36.0-7+deb12u4', '5.36.0-7+deb12u1'],
      ['1.2a', '1.2+'],
      ['0.9.8', '0.9.10'],
      ['2.36-9+deb12u14', '2.36-9+deb12u14'],
    ];
    for (const [a, b] of pairs) {
      const ours = Math.sign(compareDebianVersions(a!, b!));
      const dpkg = ['lt', 'eq', 'gt'].find((op) => {
        try {
          execFileSync('dpkg', ['--compare-versions', a!, op, b!]);
          return true;
        } catch {
          return false;
        }
      });
      expect({ a, b, order: ours }).toEqual({ a, b, order: { lt: -1, eq: 0, gt: 1 }[dpkg!] });
    }
  });

  it("reads this machine's real dpkg status file with source packages and versions", () => {
    const installed = readDpkgStatus(readFileSync(f('dpkg-status'), 'utf8'));
    expect(installed.length).toBeGreaterThan(500);
    expect(installed.find((p) => p.name === 'libssl3')).toMatchObject({ source: 'openssl' });
    expect(installed.find((p) => p.name === 'libc6')).toMatchObject({ source: 'glibc' });
  });

  it('finds fixed-later and open entries of the release, and nothing fixed, not affected or of another release', () => {
    const outcome = scanDebian({
      statusFile: f('dpkg-status'),
      tracker: f('debian-tracker.json'),
      release: 'bookworm',
      host: 'db-1',
    });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const ids = outcome.observations.map((o) => `${o.package} ${o.vulnId}`).sort();
    expect(ids).toEqual([
      'curl CVE-2025-0725',
      'glibc CVE-2010-4756',
      'libxml2 CVE-2025-49794',
      'openssl CVE-2025-9230',
    ]);
    const openssl = outcome.observations.find((o) => o.package === 'openssl')!;
    expect(openssl).toMatchObject({
      fixedVersion: '3.0.20-1~deb12u1',
      severity: 'high',
      ecosystem: 'debian',
      host: 'db-1',
    });
    expect(outcome.observations.find((o) => o.package === 'glibc')).toMatchObject({
      fixedVersion: null,
      severity: 'low',
    });
    expect(outcome.observations.find((o) => o.package === 'libxml2')).toMatchObject({ severity: 'medium' });
    expect(outcome.scanned).toMatch(/source packages\) of .* against 4007 tracker source packages \(bookworm\)/);
  });

  it('reads the tracker in chunks of any size with the same result as whole', () => {
    const installed = readDpkgStatus(readFileSync(f('dpkg-status'), 'utf8'));
    const buffer = readFileSync(f('debian-tracker.json'));
    const options = { tracker: 't', release: 'bookworm', host: 'h', statusFile: 's' };
    const whole = matchDebian(installed, buffer, options);
    const members: string[] = [];
    const reader = new TopLevelMembers(
      't',
      (k) => k.startsWith('o') || k === 'curl',
      (k, v) => members.push(`${k}:${Object.keys(v as object).length}`),
    );
    for (let i = 0; i < buffer.length; i += 7) reader.feed(buffer.subarray(i, i + 7));
    expect(reader.end()).toBe(whole.trackerPackages);
    expect(members).toContain('openssl:2');
    expect(members).toContain('curl:2');
    expect(matchDebian(installed, f('debian-tracker.json'), options).observations).toEqual(whole.observations);
    expect(() =>
      eachTopLevelMember(
        Buffer.from('{"a": {"b": 1}, "c": [1, 2'),
        't',
        () => true,
        () => undefined,
      ),
    ).toThrow(/t is not a JSON object: it ends early, at byte 26/);
  });

  it('names the tracker file and the byte where it stops being JSON', () => {
    const installed = readDpkgStatus(readFileSync(f('dpkg-status'), 'utf8'));
    expect(() =>
      matchDebian(installed, Buffer.from('{"openssl": {"CVE-1": {"releases": }}}'), {
        tracker: '/var/lib/drydock/tracker.json',
        release: 'bookworm',
        host: 'h',
        statusFile: 's',
      }),
    ).toThrow(/tracker file \/var\/lib\/drydock\/tracker.json is not a JSON object: unexpected input at byte/);
  });
});

describe('Trivy and Grype reports', () => {
  it('reads a Trivy SchemaVersion 2 image report, OS and language packages', () => {
    const obs = parseTrivy(readFileSync(f('trivy-image-node20.json'), 'utf8'), 'trivy image node:20', 'web-1');
    expect(obs.map((o) => [o.package, o.vulnId, o.fixedVersion, o.severity])).toEqual([
      ['libssl3', 'CVE-2025-9230', '3.0.17-1~deb12u3', 'high'],
      ['zlib1g', 'CVE-2023-45853', null, 'critical'],
      ['cross-spawn', 'CVE-2024-21538', '7.0.5', 'high'],
    ]);
    expect(obs[2]!.aliases).toEqual(['CVE-2024-21538', 'GHSA-3xgq-45jj-v275']);
  });

  it('refuses a Trivy report of another schema version', () => {
    expect(() => parseTrivy('{"SchemaVersion": 3, "Results": []}', 'x', 'h')).toThrow(/SchemaVersion 3 is not 2/);
  });

  it('reads a Grype report with its related CVE ids and fix state', () => {
    const obs = parseGrype(readFileSync(f('grype-dir-app.json'), 'utf8'), 'grype dir:/srv/dokkerr', 'web-1');
    expect(obs.map((o) => [o.package, o.vulnId, o.aliases, o.fixedVersion, o.severity])).toEqual([
      ['lodash', 'CVE-2021-23337', ['GHSA-35jh-r3h4-6jhm', 'CVE-2021-23337'], '4.17.21', 'high'],
      ['request', 'CVE-2023-28155', ['GHSA-p8p7-x288-28g6', 'CVE-2023-28155'], null, 'medium'],
    ]);
  });
});

describe('Nessus over its REST API (recorded responses replayed locally)', () => {
  const keys = { access: 'a'.repeat(64), secret: 'b'.repeat(64) };
  let nessus: NessusReplay;
  beforeAll(async () => {
    nessus = await startNessusReplay(keys);
  });
  afterAll(async () => nessus?.close());

  it('launches, polls until completed, exports as CSV, waits for the export and downloads it', async () => {
    const outcome = await scanNessus({
      url: nessus.url,
      accessKey: keys.access,
      secretKey: keys.secret,
      scanId: 42,
      pollMs: 1,
      timeoutMs: 60_000,
    });
    expect(nessus.calls).toEqual([
      'POST /scans/42/launch',
      'GET /scans/42',
      'GET /scans/42',
      'GET /scans/42',
      'POST /scans/42/export',
      'GET /scans/42/export/1719042/status',
      'GET /scans/42/export/1719042/status',
      'GET /scans/42/export/1719042/download',
    ]);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(
      outcome.observations.map((o) => [o.host, o.package, o.vulnId, o.installedVersion, o.fixedVersion, o.severity]),
    ).toEqual([
      ['10.0.4.11', 'libssl3', 'CVE-2025-9230', '3.0.17-1~deb12u2', '3.0.17-1~deb12u3', 'high'],
      ['10.0.4.12', 'SSH Terrapin Prefix Truncation Weakness (CVE-2023-48795)', 'CVE-2023-48795', '', null, 'medium'],
      ['10.0.4.12', 'SSL Self-Signed Certificate', 'nessus:57582', '', null, 'medium'],
    ]);
    expect(outcome.observations[0]!.aliases).toEqual(['CVE-2025-9230', 'nessus:266180', 'CVE-2025-9231']);
  });

  it('names the host when the API keys are refused', async () => {
    const outcome = await scanNessus({
      url: nessus.url,
      accessKey: 'wrong',
      secretKey: 'keys',
      scanId: 42,
      pollMs: 1,
      timeoutMs: 10_000,
    });
    expect(outcome).toMatchObject({ ok: false, scanner: 'nessus' });
    if (!outcome.ok)
      expect(outcome.error).toMatch(
        /nessus scanner: scan 42 at 127\.0\.0\.1:\d+: Nessus refused the launch of scan 42 \(HTTP 401\)/,
      );
  });

  it('refuses an export whose columns it does not know', () => {
    expect(() => parseNessusCsv('Plugin,Severity\n1,High\n')).toThrow(
      /lacks the columns Plugin ID, CVE, Risk, Host, Name/,
    );
  });
});
