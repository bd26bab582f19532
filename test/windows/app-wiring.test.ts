import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openApp } from '../../src/app.js';
import { fixedClock } from '../../src/engine/clock.js';
import { policySchema } from '../../src/policy/schema.js';
import { windowsForApp } from '../../src/windows/app-wiring.js';
import { approvedWindows } from '../../src/windows/module.js';
import { windowGate } from '../../src/windows/gate.js';
import type { TaskDefinition } from '../../src/engine/types.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-windows-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('windows module inside an opened Drydock app', () => {
  it('uses the app store for windows and writes its activity to the app activity log', async () => {
    const policy = policySchema.parse({
      state: { path: join(dir, 'state.sqlite') },
      channels: {
        log: { type: 'log' },
        status: { type: 'status_page', title: 'Dokkerr status', components: ['Payments'] },
      },
      stakeholders: [{ name: 'Alice', roles: ['SRE'], channels: ['log'] }],
    });
    const clock = fixedClock(new Date('2026-11-20T00:00:00Z'));
    const app = await openApp({
      loaded: { policy, file: null, baseDir: dir },
      clock,
      logger: pino({ level: 'silent' }),
    });
    try {
      const m = windowsForApp(app);
      const { window, notices } = await m.service.scheduleWindow({
        title: 'Disk swap',
        summary: 'Swap disk 2',
        rollbackPlan: 'Put the old disk back',
        owner: 'Alice',
        requestedBy: 'Alice',
        start: new Date('2026-11-29T02:00:00Z'),
        end: new Date('2026-11-29T03:00:00Z'),
      });
      expect(notices.sent.map((t) => t.channel).sort()).toEqual(['log', 'status']);
      const activity = await app.store.listActivity({ kind: 'window.scheduled' });
      expect(activity[0]?.message).toMatch(/planned window #1 "Disk swap" scheduled/);
      // The gate sees the approved window through the same database.
      const gate = windowGate({ extraWindows: approvedWindows(app.store.db) });
      const task = {
        id: 'x',
        title: 'x',
        implemented: false,
        disruptive: true,
        class: 'maintenance',
        plannedIn: 't',
        schedule: () => ({ kind: 'manual' as const, text: 'manual' }),
      } as TaskDefinition;
      expect(await gate.check(task, new Date('2026-11-29T02:30:00Z'), policy)).toEqual({ decision: 'run' });
      expect(window.id).toBe(1);
      // The status page takes its title and components from the policy's status_page channel.
      const page = await (await m.statusPageRoutes().request('/')).text();
      expect(page).toContain('<title>Dokkerr status</title>');
      expect(page).toContain('data-component="Payments"');
      expect(page).toContain('Disk swap');
    } finally {
      await app.close();
    }
  });
});
