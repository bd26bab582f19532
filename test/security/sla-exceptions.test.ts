// SLA alerts, exceptions and advisory age: a finding without a fix gets its own pre-breach (75 %)
// and breach alerts naming the finding, the package, the host and who must approve, even inside a
// maintenance window; an exception holds a finding until it expires, then re-opens it and alerts;
// an exception without owner, reason or expiry is refused by policy validation; a stale advisory
// database is a warning in the run record.
import { join } from 'node:path';
import { utimesSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/policy/schema.js';
import { windowGate } from '../../src/windows/gate.js';
import { createRegistry } from '../../src/tasks/registry.js';
import { securityBed, type SecurityBed } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = new Date('2026-11-02T05:00:00Z'); // a Monday

let bed: SecurityBed;
beforeAll(async () => {
  bed = await securityBed();
});
afterAll(async () => bed?.close());

const npm = () => ({ lockfile: join(bed.dir, 'package-lock.json'), advisories: join(bed.dir, 'osv-npm.json') });
const fresh = (at: Date) => utimesSync(join(bed.dir, 'osv-npm.json'), at, at);

describe('SLA alerts of findings without a patch', () => {
  it('alerts at 75 % of the SLA and at the breach, naming finding, package, host and approvers, inside a window too', async () => {
    const app = await bed.app(
      {
        security: { scans: { vulnerability: { host: 'web-3', scanners: { npm: npm() } } } },
        // A weekly regular window on Mondays 05:00-09:00: the breach below happens inside it.
        maintenance_windows: { regular: { window: { frequency: 'weekly', day: 'Monday', time: '05:00-09:00 UTC' } } },
        database: { vacuum: { options: { full: true } } }, // disruptive: runs only inside a window
      },
      START,
    );
    fresh(START);
    const run = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');
    const request = app.security.findings.store.list().find((f) => f.package === 'request')!;
    expect(request).toMatchObject({
      severity: 'medium',
      fixedVersion: null,
      patchId: null,
      dueAt: new Date(START.getTime() + 7 * DAY),
    });
    const alerts = () => bed.received().filter((m) => m.kind === 'alert' && m.data.findingId === request.id);

    app.clock.set(new Date(START.getTime() + 5 * DAY)); // 71 %
    await app.security.tick();
    expect(alerts()).toEqual([]);

    app.clock.set(new Date(START.getTime() + 5.5 * DAY)); // 79 %
    await app.security.tick();
    await app.security.tick(); // once only
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.subject).toBe(
      'ALERT: SLA about to be breached for CVE-2023-28155 (medium) in request on web-3: 36 hours left',
    );
    expect(alerts()[0]!.text).toMatch(/Package: request 2\.88\.2, no fix available yet/);
    expect(alerts()[0]!.text).toMatch(/Host: web-3; found by npm/);
    expect(alerts()[0]!.text).toMatch(/Must approve: CTO \(Carol\) or Head of Operations \(Hank\)\./);

    const breach = new Date(START.getTime() + 7 * DAY + HOUR); // Monday 06:00, inside the regular window
    const vacuumFull = createRegistry().require('database.vacuum');
    const gate = (at: Date) => windowGate().check(vacuumFull, at, app.loaded.policy);
    expect((await gate(breach)).decision).toBe('run'); // the window is open then
    expect((await gate(new Date(START.getTime() + 5.5 * DAY))).decision).not.toBe('run');
    app.clock.set(breach);
    await app.security.tick();
    expect(alerts()).toHaveLength(2);
    expect(alerts()[1]!.subject).toMatch(
      /^ALERT: SLA BREACHED for CVE-2023-28155 \(medium\) in request on web-3: due /,
    );
    expect(alerts()[1]!.text).toMatch(/SLA missed by 1 hours\./);
    const logged = await app.store.listActivity({ kind: 'finding.breach' });
    expect(logged).toHaveLength(1);
  });
});

describe('exceptions (accepted risks)', () => {
  it('holds a finding until the expiry, then re-opens it and alerts with the owner', async () => {
    const app = await bed.app(
      {
        security: {
          scans: { vulnerability: { host: 'web-4', scanners: { npm: npm() } } },
          exceptions: [
            {
              finding: 'GHSA-p8p7-x288-28g6',
              package: 'request',
              owner: 'Hank',
              reason: 'request is only used by the admin CSV import, which fetches no user-supplied URL',
              expires: '2026-11-04',
            },
          ],
        },
      },
      START,
    );
    fresh(START);
    await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    const found = () => app.security.findings.store.list().find((f) => f.package === 'request')!;
    expect(found()).toMatchObject({ status: 'excepted', exception: { owner: 'Hank', source: 'policy' } });
    app.clock.set(new Date('2026-11-04T23:00:00Z'));
    await app.security.tick();
    expect(found().status).toBe('excepted');

    app.clock.set(new Date('2026-11-05T00:00:01Z'));
    await app.security.tick();
    expect(found()).toMatchObject({ status: 'open', exception: null });
    const alert = bed.received().find((m) => m.data.findingId === found().id && m.data.alert === 'exception-expired')!;
    expect(alert.subject).toBe('ALERT: exception expired for CVE-2023-28155 (medium) in request on web-4');
    expect(alert.text).toMatch(/\(owner Hank\) expired/);
    expect(alert.text).toMatch(/Reason it was accepted: request is only used by the admin CSV import/);
  });

  it('an exception recorded from the CLI side is refused without owner, reason or a future expiry', async () => {
    const app = await bed.app(
      { security: { scans: { vulnerability: { host: 'web-5', scanners: { npm: npm() } } } } },
      START,
    );
    await expect(
      app.security.findings.except(
        { finding: 'CVE-2023-28155', owner: '', reason: 'short', expiresAt: new Date('2026-11-01') },
        'Carol',
      ),
    ).rejects.toThrow(
      'exception refused: an owner is required; a reason of at least 10 characters is required; the expiry must be a future date',
    );
    const stored = await app.security.findings.except(
      {
        finding: 'CVE-2023-28155',
        owner: 'Hank',
        reason: 'no user URL reaches request',
        expiresAt: new Date('2026-12-01'),
      },
      'Carol',
    );
    expect(stored.id).toBeGreaterThan(0);
    fresh(START);
    await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    const f = app.security.findings.store.list().find((x) => x.package === 'request')!;
    expect(f).toMatchObject({
      status: 'excepted',
      exception: { owner: 'Hank', source: `exception #${stored.id} recorded by Carol` },
    });
  });

  it('policy validation lists every exception missing its owner, reason or expiry', () => {
    const result = policySchema.safeParse({
      security: {
        exceptions: [
          { finding: 'CVE-2024-1' },
          { finding: 'CVE-2024-2', owner: 'Hank', reason: 'accepted until the migration', expires: 'soon' },
        ],
      },
    });
    expect(result.success).toBe(false);
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^security\.exceptions\.0\.owner: expected a stakeholder name, got nothing/),
        expect.stringMatching(/^security\.exceptions\.0\.reason: expected why the risk is accepted, got nothing/),
        expect.stringMatching(/^security\.exceptions\.0\.expires: expected an ISO date like "2026-12-31", got nothing/),
        expect.stringMatching(
          /^security\.exceptions\.1\.expires: expected an ISO date like "2026-11-27" or a date-time, got "soon"/,
        ),
      ]),
    );
  });
});

describe('advisory database age', () => {
  it('a scan on a 10-day-old database succeeds with a warning in the run record', async () => {
    const app = await bed.app(
      { security: { scans: { vulnerability: { host: 'web-6', scanners: { npm: npm() } } } } },
      START,
    );
    fresh(new Date(START.getTime() - 10 * DAY));
    const run = await app.engine.run('security.scans.vulnerability', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');
    expect(run.figures['advisories.npm.age']).toEqual({ value: 10, unit: 'days' });
    expect(run.summary.join('\n')).toMatch(
      /WARNING: advisory database .*osv-npm\.json is 10\.0 days old \(more than 7 days\): findings published since are missed; refresh it/,
    );
    expect(run.validation!.checks.find((c) => c.name.startsWith('advisory database'))!.detail).toBe(
      '10.0 days old (WARNING: stale)',
    );
  });
});
