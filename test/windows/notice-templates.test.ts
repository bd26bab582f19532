import { describe, expect, it } from 'vitest';
import { renderNotice, type NoticeKindName } from '../../src/windows/notice-templates.js';
import type { WindowRecord } from '../../src/windows/types.js';
import { fixedClock } from '../../src/clock.js';
import { resolveSecret } from '../../src/policy/secrets.js';
import { testApp } from '../helpers/app.js';

const window: WindowRecord = {
  id: 42,
  kind: 'regular',
  status: 'scheduled',
  title: 'Monthly maintenance',
  start: new Date('2026-12-06T02:00:00Z'),
  end: new Date('2026-12-06T06:00:00Z'),
  change: {
    summary: 'OS and runtime updates',
    rollbackPlan: 'Boot the previous kernel; reinstall the pinned runtime',
    owner: 'Alice',
    standby: ['Hank', 'Carol'],
    components: ['API'],
    tasks: ['dependencies.system'],
    taskClass: 'maintenance',
  },
  requestedBy: 'Alice',
  createdAt: new Date('2026-11-20T10:00:00Z'),
  updatedAt: new Date('2026-11-20T10:00:00Z'),
  outcome: null,
  preChecks: null,
  validation: null,
  lessons: null,
  statusReason: null,
  planHash: 'ab'.repeat(32),
};

describe('notice templates', () => {
  it('every kind reads as a sentence with the time in UTC and the window reference', () => {
    const kinds: NoticeKindName[] = [
      'advance_notice',
      'reminder',
      'start',
      'update',
      'end',
      'rescheduled',
      'cancelled',
      'approval_request',
      'approval_decision',
      'alert',
    ];
    for (const kind of kinds) {
      const n = renderNotice(kind, {
        window,
        message: 'Replica lag is back to 0 s',
        previous: { start: new Date('2026-11-29T02:00:00Z'), end: new Date('2026-11-29T04:00:00Z') },
        approval: { roles: ['CTO'], planHash: window.planHash, howTo: 'drydock windows approve 42' },
        decision: { person: 'Carol', role: 'CTO', decision: 'approved' },
      });
      expect(n.subject.length).toBeGreaterThan(10);
      expect(n.subject).not.toMatch(/undefined|null|\[object/);
      expect(n.text).not.toMatch(/undefined|\[object/);
      expect(`${n.subject}\n${n.text}`).toMatch(/Sun 2026-12-06 02:00 UTC|#42/);
    }
    expect(renderNotice('advance_notice', { window }).text).toContain(
      'When: Sun 2026-12-06 02:00 UTC to 06:00 UTC (4 hours)',
    );
    expect(renderNotice('advance_notice', { window }).text).toContain('Owner: Alice; on standby: Hank, Carol');
    expect(renderNotice('alert', { window, message: 'api check failed' }).text).toMatch(
      /Rollback plan:\nBoot the previous kernel/,
    );
    expect(
      renderNotice('approval_request', {
        window: { ...window, kind: 'emergency' },
        approval: { roles: ['CTO', 'Head of Operations'], planHash: window.planHash, howTo: '' },
      }).text,
    ).toContain('If it is not approved before its start time, it does not run.');
    expect(renderNotice('end', { window: { ...window, outcome: 'rolled_back' } }).subject).toBe(
      'Maintenance rolled back: Monthly maintenance',
    );
  });

  it('a secret pasted into an update is redacted before any channel sees it', async () => {
    const secret = resolveSecret({ env: 'TEMPLATE_TEST_SECRET' }, 'test', {
      TEMPLATE_TEST_SECRET: 'hunter2-very-secret',
    })!;
    const clock = fixedClock(new Date('2026-11-20T00:00:00Z'));
    const app = await testApp(
      { channels: { status: { type: 'status_page' } }, stakeholders: [{ name: 'Alice', roles: ['SRE'] }] },
      { clock },
    );
    const m = app.windows;
    const { window: w } = await m.service.scheduleWindow({
      title: 'Patch',
      summary: 'x',
      rollbackPlan: 'y',
      owner: 'Alice',
      requestedBy: 'Alice',
      start: new Date('2026-11-29T02:00:00Z'),
      end: new Date('2026-11-29T03:00:00Z'),
    });
    await m.service.postUpdate(w.id, { message: `rotated the password to ${secret} by mistake` }, 'Alice');
    const published = m.service
      .statusNotices()
      .map((n) => n.text)
      .join('\n');
    expect(published).toContain('rotated the password to [redacted] by mistake');
    expect(published).not.toContain(secret);
    expect(JSON.stringify(m.service.showWindow(w.id))).not.toContain(secret);
    await app.dispose();
  });
});
