// A window in the assembled product: its pre- and post-checks are recorded runs of
// server.health_check, and while it is in progress the alerts of its components are silenced.
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import type { TaskDefinition } from '../../src/engine/types.js';
import { createApi } from '../../src/api/server.js';
import { testApp, type TestApp } from '../helpers/app.js';

let app: TestApp | null = null;
let other: TestApp | null = null;
afterAll(async () => {
  await app?.dispose();
  await other?.dispose();
});

describe('windows in an opened Drydock app', () => {
  it('share the app store, activity log and channels; the gate and the status page see the scheduled window', async () => {
    const clock = fixedClock(new Date('2026-11-20T00:00:00Z'));
    other = await testApp(
      {
        channels: { status: { type: 'status_page', title: 'Dokkerr status', components: ['Payments'] } },
        stakeholders: [{ name: 'Alice', roles: ['SRE'], channels: ['log'] }],
      },
      { clock },
    );
    const { window, notices } = await other.windows.service.scheduleWindow({
      title: 'Disk swap',
      publicTitle: 'Disk swap',
      summary: 'Swap disk 2',
      rollbackPlan: 'Put the old disk back',
      owner: 'Alice',
      requestedBy: 'Alice',
      start: new Date('2026-11-29T02:00:00Z'),
      end: new Date('2026-11-29T03:00:00Z'),
    });
    expect(notices.sent.map((t) => t.channel).sort()).toEqual(['log', 'status']);
    const activity = await other.store.listActivity({ kind: 'window.scheduled' });
    expect(activity[0]?.message).toMatch(/planned window #1 "Disk swap" scheduled/);
    const disruptive = {
      id: 'x',
      title: 'x',
      implemented: false,
      disruptive: true,
      class: 'maintenance',
      plannedIn: 't',
      schedule: () => ({ kind: 'manual' as const, text: 'manual' }),
    } satisfies TaskDefinition;
    const policy = other.loaded.policy;
    expect(await other.windows.gate.check(disruptive, new Date('2026-11-29T02:30:00Z'), policy)).toEqual({
      decision: 'run',
    });
    expect(window.id).toBe(1);
    // The API mounts the status page with its title and components from the policy's status_page channel.
    const page = await (await createApi(other).request('/status')).text();
    expect(page).toContain('<title>Dokkerr status</title>');
    expect(page).toContain('data-component="Payments"');
    expect(page).toContain('Disk swap');
  });
});

describe('maintenance window in the product', () => {
  it('runs the health check before and after, and silences its components while in progress', async () => {
    const clock = fixedClock(new Date('2026-11-20T12:00:00Z'));
    app = await testApp(
      {
        stakeholders: [{ name: 'Alice', roles: ['SRE'] }],
        // Generous thresholds: the check's own verdict is not what this test is about.
        server: { monitoring: { alerts: { disk: '> 99%', memory: '> 99%', cpu: '> 100%' } } },
        maintenance_windows: { blackout: { periods: [] } },
      },
      { clock },
    );
    const start = new Date('2026-11-29T02:00:00Z');
    const { window } = await app.windows.service.scheduleWindow({
      title: 'Disk swap',
      summary: 'Swap disk 2',
      rollbackPlan: 'Put the old disk back',
      owner: 'Alice',
      requestedBy: 'Alice',
      start,
      end: new Date('2026-11-29T03:00:00Z'),
      components: ['Database'],
    });
    const pg = 'postgres:127.0.0.1:5432/dokkerr';
    expect(app.monitoring.silences.isSilenced(pg, new Date('2026-11-29T02:30:00Z'))).toBe(false);

    clock.set(new Date('2026-11-29T02:00:30Z'));
    await app.windows.service.startWindow(window.id, 'Alice');
    expect(app.monitoring.silences.reason(pg, clock.now())).toBe(
      `maintenance window #${window.id} (Disk swap) in progress`,
    );
    expect(app.monitoring.silences.isSilenced('redis:127.0.0.1:6379', clock.now())).toBe(false);

    clock.set(new Date('2026-11-29T02:45:00Z'));
    const { validation } = await app.windows.service.completeWindow(window.id, {}, 'Alice');
    expect(validation!.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['memory']));
    const runs = await app.store.listRuns({ taskId: 'server.health_check' });
    expect(runs).toHaveLength(2);
    expect(app.monitoring.silences.isSilenced(pg, clock.now())).toBe(false);
  });
});
