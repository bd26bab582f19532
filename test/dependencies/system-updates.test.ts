// dependencies.system with the real apt-get and dpkg: a local apt repository built here (a main and a
// security suite), a staging root and a production root with their own dpkg databases. Staging is
// upgraded and tested first; production only inside a maintenance window; a failing postinst and a
// held apt lock stop the upgrade with the reason; a reboot-required flag is scheduled, never done
// outside a window. The host's own packages are never touched.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnProcess } from '../../src/adapters/exec.js';
import { installedVersions, parseSimulation } from '../../src/dependencies/system/apt.js';
import { DependencyStore } from '../../src/dependencies/store.js';
import { fixedClock } from '../../src/engine/clock.js';
import { nextWindow, regularWindowRule } from '../../src/windows/calendar.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { testPolicy } from '../helpers/context.js';
import { aptLab, type AptLab } from './helpers/apt-repo.js';

let lab: AptLab;
let main: string;
let security: string;
const apps: TestApp[] = [];

const REBOOT =
  'mkdir -p "$DPKG_ROOT/var/run"; echo "*** System restart required ***" > "$DPKG_ROOT/var/run/reboot-required"; echo ddsys-kernel >> "$DPKG_ROOT/var/run/reboot-required.pkgs"';
const START = [
  { name: 'ddsys-tool', version: '1.0-1' },
  { name: 'ddsys-ssl', version: '3.0.11-1' },
  { name: 'ddsys-kernel', version: '6.1.0-1' },
];

beforeAll(async () => {
  lab = aptLab();
  main = await lab.repo('stable', [
    { name: 'ddsys-tool', version: '1.0-1' },
    { name: 'ddsys-tool', version: '1.0-2' },
    { name: 'ddsys-kernel', version: '6.1.0-1' },
    { name: 'ddsys-kernel', version: '6.1.0-2', postinst: REBOOT },
    { name: 'ddsys-bad', version: '1.0-1' },
    { name: 'ddsys-bad', version: '1.0-2', postinst: 'echo "ddsys-bad: cannot migrate its data" >&2; exit 1' },
  ]);
  security = await lab.repo('stable-security', [
    { name: 'ddsys-ssl', version: '3.0.11-1' },
    { name: 'ddsys-ssl', version: '3.0.13-1' },
  ]);
}, 180_000);

afterAll(async () => {
  for (const app of apps) await app.dispose();
  lab?.dispose();
});

const policyInput = (staging: string, production: string, extra: Record<string, unknown> = {}) => ({
  dependencies: {
    system: {
      staging: {
        root: staging,
        test_command: [
          process.execPath,
          '-e',
          `require('fs').accessSync(${JSON.stringify(join(staging, 'usr/share/ddsys-tool/version'))})`,
        ],
      },
      production: { root: production },
      ...extra,
    },
  },
  maintenance_windows: { blackout: { periods: ['holiday_season'] } },
});

/** The regular maintenance windows of the default policy after a date. */
function windowsAfter(from: Date, count: number) {
  const rule = regularWindowRule(testPolicy({}));
  const out = [];
  let t = from;
  for (let i = 0; i < count; i++) {
    const w = nextWindow(rule, t);
    out.push(w);
    t = w.end;
  }
  return out;
}

async function open(input: Record<string, unknown>, at: Date) {
  const clock = fixedClock(at);
  const app = await testApp(input, { clock });
  apps.push(app);
  return {
    app,
    clock,
    store: new DependencyStore(app.store.db),
    run: () => app.engine.run('dependencies.system', { trigger: 'manual', force: true }),
  };
}

describe('dependencies.system', () => {
  it('reads apt-get -s output, marking security archives', () => {
    const plan = parseSimulation(
      'Inst libssl3 [3.0.11-1~deb12u2] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])\nInst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])\nConf libssl3 (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])\n',
    );
    expect(plan).toEqual([
      {
        name: 'libssl3',
        from: '3.0.11-1~deb12u2',
        to: '3.0.13-1~deb12u1',
        archive: 'Debian-Security:12/stable-security',
        security: true,
      },
      {
        name: 'tzdata',
        from: '2024a-0+deb12u1',
        to: '2025b-0+deb12u1',
        archive: 'Debian:12.11/stable',
        security: false,
      },
    ]);
  });

  it('upgrades staging and tests it, upgrades production only inside a window, and schedules the reboot for the next window', async () => {
    const staging = await lab.root('ok-staging', [main, security], START);
    const production = await lab.root('ok-production', [main, security], START);
    const marker = join(lab.dir, 'rebooted');
    const [w1, w2] = windowsAfter(new Date('2027-02-01T00:00:00Z'), 2);
    const outside = new Date(w1!.start.getTime() - 6 * 3_600_000);
    const { app, clock, store, run } = await open(
      policyInput(staging, production, { reboot_command: ['touch', marker] }),
      outside,
    );

    const first = await run();
    expect(first.status).toBe('succeeded');
    expect(Object.fromEntries(await installedVersions(staging, ['ddsys-tool', 'ddsys-ssl', 'ddsys-kernel']))).toEqual({
      'ddsys-tool': '1.0-2',
      'ddsys-ssl': '3.0.13-1',
      'ddsys-kernel': '6.1.0-2',
    });
    // Production waits for the window.
    expect(Object.fromEntries(await installedVersions(production, ['ddsys-tool', 'ddsys-ssl']))).toEqual({
      'ddsys-tool': '1.0-1',
      'ddsys-ssl': '3.0.11-1',
    });
    const records = store.list({ ecosystem: 'system' });
    expect(records.map((r) => `${r.package}:${r.fromVersion}->${r.toVersion}:${r.type}:${r.status}`).sort()).toEqual([
      'ddsys-kernel:6.1.0-1->6.1.0-2:package:queued',
      'ddsys-ssl:3.0.11-1->3.0.13-1:security:queued',
      'ddsys-tool:1.0-1->1.0-2:package:queued',
    ]);
    expect(records[0]!.notBefore!.toISOString()).toBe(w1!.start.toISOString());
    expect((await app.store.claimDueRetries(w1!.start, 'test')).map((r) => r.dueAt.toISOString())).toEqual([
      w1!.start.toISOString(),
    ]);
    expect(first.summary.join('\n')).toContain('tests passed; production not upgraded');

    // Inside the window: production gets exactly what staging tested; the reboot is scheduled for the next window.
    clock.set(new Date(w1!.start.getTime() + 10 * 60_000));
    const second = await run();
    expect(second.status).toBe('succeeded');
    expect(
      Object.fromEntries(await installedVersions(production, ['ddsys-tool', 'ddsys-ssl', 'ddsys-kernel'])),
    ).toEqual({
      'ddsys-tool': '1.0-2',
      'ddsys-ssl': '3.0.13-1',
      'ddsys-kernel': '6.1.0-2',
    });
    expect(
      store
        .list({ ecosystem: 'system' })
        .filter((r) => r.type !== 'reboot')
        .every((r) => r.status === 'applied'),
    ).toBe(true);
    const reboot = store.list({ ecosystem: 'system' }).find((r) => r.type === 'reboot')!;
    expect(reboot).toMatchObject({ status: 'queued', toVersion: 'after ddsys-kernel' });
    expect(reboot.notBefore!.toISOString()).toBe(w2!.start.toISOString());
    expect(second.summary.join('\n')).toContain(
      `reboot required (ddsys-kernel): scheduled for the window starting ${w2!.start.toISOString()}`,
    );
    expect(existsSync(marker)).toBe(false);

    // Between windows: still no reboot.
    clock.set(new Date(w1!.end.getTime() + 3_600_000));
    await run();
    expect(existsSync(marker)).toBe(false);

    // In the next window, the reboot command runs.
    clock.set(new Date(w2!.start.getTime() + 60_000));
    const fourth = await run();
    expect(fourth.status).toBe('succeeded');
    expect(existsSync(marker)).toBe(true);
    expect(store.get(reboot.id)!.status).toBe('applied');
  }, 600_000);

  it('stops at staging when a postinst fails, reports it, and leaves production untouched', async () => {
    const start = [
      { name: 'ddsys-bad', version: '1.0-1' },
      { name: 'ddsys-tool', version: '1.0-1' },
    ];
    const staging = await lab.root('bad-staging', [main], start);
    const production = await lab.root('bad-production', [main], start);
    const [w] = windowsAfter(new Date('2027-03-01T00:00:00Z'), 1);
    const { store, run } = await open(policyInput(staging, production), new Date(w!.start.getTime() + 60_000));
    const r = await run();
    expect(r.status).toBe('failed');
    expect(r.error).toContain('staging upgrade failed, production was not touched');
    expect(r.error).toContain(
      'ddsys-bad (--configure) installed ddsys-bad package post-installation script subprocess returned error exit status 1',
    );
    expect(r.error).toContain('ddsys-bad: cannot migrate its data');
    expect(Object.fromEntries(await installedVersions(production, ['ddsys-bad', 'ddsys-tool']))).toEqual({
      'ddsys-bad': '1.0-1',
      'ddsys-tool': '1.0-1',
    });
    expect(store.list({ ecosystem: 'system' }).every((u) => u.status === 'failed')).toBe(true);
  }, 300_000);

  it('stops with the holder named when another process holds the apt lock, and the next run goes through', async () => {
    const staging = await lab.root('lock-staging', [main], [{ name: 'ddsys-tool', version: '1.0-1' }]);
    const production = await lab.root('lock-production', [main], [{ name: 'ddsys-tool', version: '1.0-1' }]);
    const [w] = windowsAfter(new Date('2027-04-01T00:00:00Z'), 1);
    const { run } = await open(policyInput(staging, production), new Date(w!.start.getTime() + 60_000));
    // Another process holds dpkg's frontend lock on production, the way apt itself takes it (fcntl).
    const lockFile = join(production, 'var/lib/dpkg/lock-frontend');
    writeFileSync(lockFile, '', { flag: 'a' });
    const holder = spawnProcess(
      'python3',
      [
        '-c',
        'import fcntl,sys,time\nf=open(sys.argv[1],"a")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("held",flush=True)\ntime.sleep(600)',
        lockFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], timeoutMs: 700_000 },
    );
    await new Promise<void>((resolve) => holder.child.stdout!.once('data', () => resolve()));
    try {
      const held = await run();
      expect(held.status).toBe('failed');
      expect(held.error).toMatch(
        new RegExp(
          `the apt lock ${lockFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is held by process ${holder.child.pid} \\(python3\\); nothing was changed`,
        ),
      );
      expect(Object.fromEntries(await installedVersions(production, ['ddsys-tool']))).toEqual({
        'ddsys-tool': '1.0-1',
      });
    } finally {
      holder.child.kill('SIGTERM');
      await holder.done.catch(() => undefined);
    }
    const after = await run();
    expect(after.status).toBe('succeeded');
    expect(Object.fromEntries(await installedVersions(production, ['ddsys-tool']))).toEqual({ 'ddsys-tool': '1.0-2' });
  }, 300_000);
});
