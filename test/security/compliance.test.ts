// The monthly compliance evidence report: controls mapped to what Drydock recorded (scans on every
// day, findings closed within or after their SLA, patches with who and when, tokens, log retention),
// each met / not met / no evidence with run ids; rendered as JSON, HTML and a PDF printed by headless
// Chromium that this test reads back with pdftoppm and pdftotext; stored with a checksum.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayRanges, type ComplianceReport } from '../../src/security/compliance/controls.js';
import { generateComplianceReport, verifyReport } from '../../src/security/compliance/report.js';
import { CTO_TOKEN, securityBed, type SecurityBed } from './helpers.js';
import type { App } from '../../src/app.js';
import type { Principal } from '../../src/access/levels.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOV_1 = new Date('2026-11-01T05:00:00Z');

let bed: SecurityBed;
let app: Awaited<ReturnType<SecurityBed['app']>>;
const scanRuns: number[] = [];
let closingRun = 0;

beforeAll(async () => {
  bed = await securityBed();
  app = await bed.app(
    {
      security: {
        scans: {
          vulnerability: {
            host: 'web-1',
            scanners: {
              npm: { lockfile: join(bed.dir, 'package-lock.json'), advisories: join(bed.dir, 'osv-npm.json') },
            },
          },
        },
      },
    },
    NOV_1,
  );
  app.clock.set(new Date('2026-11-10T09:00:00Z'));
  await app.access.init('Hank', 'laptop');
  // A scan every day of November; on the 3rd the lodash patch is approved and applied, the 4th's scan closes it.
  for (let day = 0; day < 30; day++) {
    app.clock.set(new Date(NOV_1.getTime() + day * DAY));
    utimesSync(join(bed.dir, 'osv-npm.json'), app.clock.now(), app.clock.now());
    if (day === 3) {
      const lodash = app.security.findings.store.list().find((f) => f.package === 'lodash')!;
      const patch = app.windows.patches.store.patch(lodash.patchId!)!;
      const carol = await principalOf(app, CTO_TOKEN);
      await app.windows.patches.decidePatch(patch.id, carol, { decision: 'approved', planHash: patch.planHash });
      await app.windows.patches.markApplied(patch.id, 'Carol');
      const lock = readFileSync(join(bed.dir, 'package-lock.json'), 'utf8').replace(
        /"version": "4\.17\.20"/,
        '"version": "4.17.21"',
      );
      writeFileSync(join(bed.dir, 'package-lock.json'), lock);
    }
    const run = await app.engine.run('security.scans.vulnerability', { trigger: 'schedule' });
    expect(run.status).toBe('succeeded');
    scanRuns.push(run.id);
    if (day === 3) closingRun = run.id;
  }
  app.clock.set(new Date('2026-12-01T05:30:00Z'));
}, 240_000);
afterAll(async () => bed?.close());

describe('compliance evidence for 2026-11', () => {
  it('names missing days as ranges', () => {
    expect(dayRanges(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-05', '2026-11-29', '2026-11-30'])).toBe(
      '2026-11-01 to 2026-11-03, 2026-11-05, 2026-11-29 to 2026-11-30',
    );
  });

  let report: ComplianceReport;

  it('maps each control to met / not met / no evidence with the runs behind it', async () => {
    const generated = await generateComplianceReport(app.security, app.store, {
      month: '2026-11',
      format: 'json',
      now: app.clock.now(),
      by: 'Carol',
    });
    report = JSON.parse(readFileSync(generated.record.path, 'utf8')) as ComplianceReport;
    const c = (framework: string, id: string) => report.controls.find((x) => x.framework === framework && x.id === id)!;

    expect(c('PCI-DSS', '11.3.1')).toMatchObject({
      status: 'met',
      detail: 'a vulnerability scan succeeded on each of the 30 days',
    });
    expect(c('PCI-DSS', '11.3.1').evidence.map((e) => e.runId)).toEqual(scanRuns);

    // lodash closed within its SLA by the 4th's run; the critical minimist finding stayed open past 24 h.
    const patching = c('PCI-DSS', '6.3.3');
    expect(patching.status).toBe('not_met');
    expect(patching.detail).toMatch(/^1 of 1 findings closed within their SLA; \d+ open past their SLA$/);
    const lodash = patching.evidence.find((e) => e.text.includes('lodash'))!;
    expect(lodash).toMatchObject({ runId: closingRun });
    expect(
      patching.evidence.some((e) =>
        /minimist on web-1: first seen 2026-11-01T05:00Z, due 2026-11-02T05:00Z, still open/.test(e.text),
      ),
    ).toBe(true);

    const change = c('SOC 2', 'CC8.1');
    expect(change.status).toBe('met');
    expect(
      change.evidence.some((e) =>
        /patch #\d+ CVE-2021-23337 lodash@web-1 .*approved by Carol \(CTO\) at 2026-11-04T05:00Z; applied 2026-11-04T05:00Z/.test(
          e.text,
        ),
      ),
    ).toBe(true);
    expect(
      change.evidence.some((e) => /CVE-2021-44906 minimist.*approved by policy \(automatic approval\)/.test(e.text)),
    ).toBe(true);

    expect(c('SOC 2', 'CC6.1')).toMatchObject({ status: 'met' });
    expect(c('SOC 2', 'CC6.1').evidence[0]!.text).toMatch(
      /^token \S+ of Hank \(laptop\) issued 2026-11-10T09:00Z by \S+$/,
    );
    expect(c('PCI-DSS', '10.5.1')).toMatchObject({ status: 'met' });
    expect(c('PCI-DSS', '10.5.1').detail).toMatch(/^the activity log is kept 400 days/);
    for (const [framework, id] of [
      ['SOC 2', 'A1.2'],
      ['SOC 2', 'A1.3'],
      ['GDPR', 'Art. 32(1)(c)'],
      ['PCI-DSS', '4.2.1'],
      ['SOC 2', 'CC7.2'],
    ] as const)
      expect(c(framework, id).status).toBe('no_evidence');
    expect(c('GDPR', 'Art. 32(1)(d)')).toMatchObject({ status: 'not_met' }); // scans yes, restore tests none
    expect(report.summary).toEqual({
      met: report.controls.filter((x) => x.status === 'met').length,
      notMet: report.controls.filter((x) => x.status === 'not_met').length,
      noEvidence: report.controls.filter((x) => x.status === 'no_evidence').length,
    });
  });

  it('renders a PDF through headless Chromium that pdftoppm and pdftotext read back', async () => {
    const { record } = await generateComplianceReport(app.security, app.store, {
      month: '2026-11',
      format: 'pdf',
      now: new Date(app.clock.now().getTime() + 1000),
      by: 'Carol',
    });
    expect(readFileSync(record.path).subarray(0, 5).toString()).toBe('%PDF-');
    const prefix = join(bed.dir, 'page');
    execFileSync('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', record.path, prefix]);
    const png = readdirSync(bed.dir).find((f) => f.startsWith('page') && f.endsWith('.png'))!;
    expect(readFileSync(join(bed.dir, png)).subarray(1, 4).toString()).toBe('PNG');
    expect(statSync(join(bed.dir, png)).size).toBeGreaterThan(2000);
    const text = execFileSync('pdftotext', ['-layout', record.path, '-']).toString();
    expect(text).toMatch(/Compliance evidence 2026-11/);
    expect(text).toMatch(/MET PCI-DSS 11\.3\.1: Internal vulnerability scans performed/);
    expect(text).toMatch(/NOT MET PCI-DSS 6\.3\.3: Security patches installed within their SLA/);
    expect(text).toMatch(/NO EVIDENCE SOC 2 A1\.3: Recovery is tested/);
    expect(text).toMatch(/approved by Carol \(CTO\)/);
    expect(verifyReport(record)).toBe('ok');
  }, 120_000);

  it('escapes what it prints in HTML and notices a stored report that was changed', async () => {
    const { record } = await generateComplianceReport(app.security, app.store, {
      month: '2026-11',
      format: 'html',
      now: new Date(app.clock.now().getTime() + 2000),
      by: 'Carol',
    });
    const page = readFileSync(record.path, 'utf8');
    expect(page).toMatch(/<title>Compliance evidence 2026-11<\/title>/);
    expect(page).toMatch(/CVE-2021-23337 lodash@web-1 \(finding #\d+\) \(high\): approved by Carol \(CTO\)/);
    expect(page).not.toMatch(/<script/);
    writeFileSync(record.path, page.replace('Compliance', 'Compliant'));
    expect(verifyReport(record)).toBe('changed');
    expect(app.security.findings.store.reports().map((r) => r.format)).toEqual(['json', 'pdf', 'html']);
  });

  it('the monthly task stores last month in the policy formats and validates the stored files', async () => {
    const run = await app.engine.run('security.scans.compliance', { trigger: 'schedule' });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.summary[0]).toMatch(/^2026-11: \d+ controls met, \d+ not met, \d+ without evidence$/);
    expect(run.summary).toContainEqual(expect.stringMatching(/^NOT MET PCI-DSS 6\.3\.3: /));
    const stored = app.security.findings.store.reports().filter((r) => r.runId === run.id);
    expect(stored.map((r) => r.format)).toEqual(['pdf', 'json']);
    for (const r of stored) expect(existsSync(r.path)).toBe(true);
    expect(run.validation!.checks.map((c) => c.ok)).toEqual([true, true]);
  }, 120_000);
});

/** The person a token proves (issue 9's access model), or the test fails naming why. */
async function principalOf(app: Pick<App, 'access'>, token: string): Promise<Principal> {
  const result = await app.access.authenticate(token);
  if (!result.ok) throw new Error(`token refused: ${result.reason}`);
  return result.principal;
}
