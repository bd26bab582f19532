import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/clock.js';
import { policySchema, type Policy } from '../../src/policy/schema.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/open.js';
import { buildChannels } from '../../src/notify/channels/registry.js';
import { statusPagePublisher } from '../../src/notify/channels/status-page.js';
import { WindowStore } from '../../src/store/sqlite/windows.js';
import { pino } from 'pino';
import type { ActivityEntry } from '../../src/store/types.js';
import { WindowsService } from '../../src/windows/service.js';
import { Access } from '../../src/access/access.js';
import { SqliteAccessStore } from '../../src/access/token-store.js';
import { approvalRoutes } from '../../src/api/approvals.js';
import { PatchService, nextBusinessDay, noticeAt, slaRisk } from '../../src/approvals/patches.js';
import { startHttp, type HttpPeer } from '../helpers/peers.js';
import { serveApp } from './serve.js';

const HOUR = 3_600_000;
// Policy tokens must be 32+ random characters (src/access/strength.ts).
const CTO_TOKEN = 'cto_9fK2mQ7xL4vT8nR1pZ6wY3cB5hJ0dG2s';
const HOO_TOKEN = 'hoo_Vq8Lw3Zr6Tn1Ks4Xb9Md2Fg7Hc5Jp0Ya';
let chat: HttpPeer;
let dir: string;

beforeAll(async () => {
  chat = await startHttp((_req, res) => res.writeHead(200).end('ok'));
  dir = mkdtempSync(join(tmpdir(), 'drydock-approvals-'));
});
afterAll(async () => {
  await chat?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup() {
  writeFileSync(join(dir, 'hoo-token'), `${HOO_TOKEN}\n`);
  const policy: Policy = policySchema.parse({
    channels: {
      log: { type: 'log' },
      chat: { type: 'slack', url: { env: 'APPROVAL_SLACK' } },
      status: { type: 'status_page' },
    },
    stakeholders: [
      { name: 'Alice', roles: ['SRE'], channels: ['chat'] },
      { name: 'Carol', roles: ['CTO'], channels: ['chat'], token: { env: 'CAROL_TOKEN' } },
      { name: 'Hank', roles: ['Head of Operations'], channels: ['chat'], token: { file: join(dir, 'hoo-token') } },
      { name: 'Bob', roles: ['Developer'], channels: ['chat'] },
      { name: 'Ada', roles: ['Platform lead'], access: 'admin' },
    ],
    maintenance_windows: { emergency: { notification: { channels: ['webhook', 'status_page'] } } },
  });
  const env = { CAROL_TOKEN: CTO_TOKEN, APPROVAL_SLACK: `${chat.url}/hook` };
  const db: SqliteDatabase = openSqlite(':memory:');
  const clock = fixedClock(new Date('2026-11-25T12:00:00Z'));
  const activity: ActivityEntry[] = [];
  const { channels } = buildChannels(policy, {
    logger: pino({ level: 'silent' }),
    env,
    statusPage: statusPagePublisher(new WindowStore(db), clock),
  });
  const windows = new WindowsService({
    db,
    policy,
    clock,
    channels,
    activity: (e) => void activity.push(e),
    sleep: async () => {},
  });
  const patches = new PatchService({
    db,
    policy,
    clock,
    channels,
    activity: (e) => void activity.push(e),
    sleep: async () => {},
  });
  const auth = new Access({
    policy,
    store: new SqliteAccessStore(db),
    clock,
    env,
    activity: (e) => void activity.push(e),
  });
  const app = new Hono().route('/api/approvals', approvalRoutes({ windows, patches, auth }));
  return { db, policy, clock, activity, windows, patches, auth, app };
}

describe('approval API over real HTTP with bearer tokens', () => {
  it('approves an emergency with both roles; refuses unknown tokens, other roles, the requester and stale plans; never logs a token', async () => {
    const s = setup();
    const server = await serveApp(s.app);
    try {
      const setup = await s.auth.init('Ada');
      const admin = await s.auth.fromEnvironment({ DRYDOCK_TOKEN: setup.token }, 'test');
      const aliceToken = (await s.auth.issue(admin, 'Alice', 'laptop')).token;
      const bobToken = (await s.auth.issue(admin, 'Bob', 'ci')).token;
      // Only a SHA-256 of each secret is stored, found by the token's id.
      const rows = s.db.prepare('SELECT id, secret_hash FROM access_tokens ORDER BY created_at, id').all() as Array<{
        id: string;
        secret_hash: Buffer;
      }>;
      expect(rows).toHaveLength(3);
      expect(JSON.stringify(s.db.prepare('SELECT * FROM access_tokens').all())).not.toContain(aliceToken.slice(17));
      expect(rows.some((r) => aliceToken.startsWith(`ddk_${r.id}_`))).toBe(true);

      const start = new Date(s.clock.now().getTime() + 2 * HOUR);
      const { window } = await s.windows.scheduleWindow({
        kind: 'emergency',
        title: 'Replace failing disk on db-1',
        start,
        end: new Date(start.getTime() + HOUR),
        summary: 'Swap the disk and rebuild the RAID mirror',
        rollbackPlan: 'Fail over to db-2',
        owner: 'Alice',
        requestedBy: 'Alice',
        taskClass: 'critical_bug',
      });

      const call = (path: string, token: string | null, body?: unknown) =>
        fetch(`${server.url}/api/approvals${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });

      const none = await call(`/windows/${window.id}/approve`, null, { plan: window.planHash });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
      const unknown = await call(`/windows/${window.id}/approve`, 'not-a-real-token-123', { plan: window.planHash });
      expect(unknown.status).toBe(401);
      expect(await unknown.json()).toEqual({
        error: 'unknown or missing API token (send Authorization: Bearer <token>)',
      });

      const review = await call(`/windows/${window.id}`, CTO_TOKEN);
      expect(review.status).toBe(200);
      const reviewed = (await review.json()) as { plan: string; window: { change: { rollbackPlan: string } } };
      expect(reviewed.plan).toBe(window.planHash);
      expect(reviewed.window.change.rollbackPlan).toBe('Fail over to db-2');

      const bob = await call(`/windows/${window.id}/approve`, bobToken, { plan: reviewed.plan });
      expect(bob.status).toBe(403);
      expect(((await bob.json()) as { error: string }).error).toMatch(
        /Bob does not hold a role that can approve window #1 \(needs CTO and Head of Operations; has Developer\)/,
      );
      const own = await call(`/windows/${window.id}/approve`, aliceToken, { plan: reviewed.plan });
      expect(own.status).toBe(403);
      expect(((await own.json()) as { error: string }).error).toMatch(/cannot approve or refuse their own request/);
      const stale = await call(`/windows/${window.id}/approve`, CTO_TOKEN, { plan: 'a'.repeat(64) });
      expect(stale.status).toBe(409);
      const noPlan = await call(`/windows/${window.id}/approve`, CTO_TOKEN, {});
      expect(noPlan.status).toBe(400);

      const cto = await call(`/windows/${window.id}/approve`, CTO_TOKEN, {
        plan: reviewed.plan,
        comment: 'disk SMART errors confirmed',
      });
      expect(cto.status).toBe(200);
      expect(await cto.json()).toEqual({
        id: window.id,
        status: 'pending_approval',
        missing: ['Head of Operations'],
        decidedBy: 'Carol',
      });
      const ctoAgain = await call(`/windows/${window.id}/approve`, CTO_TOKEN, { plan: reviewed.plan });
      expect(ctoAgain.status).toBe(409);
      const hoo = await call(`/windows/${window.id}/approve`, HOO_TOKEN, {
        plan: reviewed.plan.slice(0, 16),
      });
      expect(await hoo.json()).toEqual({ id: window.id, status: 'scheduled', missing: [], decidedBy: 'Hank' });

      const update = await call(`/windows/${window.id}/updates`, aliceToken, {
        message: 'Disk swapped; RAID rebuild at 40%',
      });
      expect(update.status).toBe(201);
      expect(s.windows.showWindow(window.id).updates.at(-1)).toMatchObject({
        author: 'Alice',
        message: 'Disk swapped; RAID rebuild at 40%',
      });

      // Revoked tokens stop working.
      await s.auth.revoke(admin, 'Bob');
      expect((await call(`/windows/${window.id}`, bobToken)).status).toBe(401);

      const decisions = s.activity.filter((a) => a.kind.startsWith('approval.'));
      expect(decisions.map((a) => `${a.kind} ${a.actor}`)).toEqual([
        'approval.rejected Bob',
        'approval.rejected Alice',
        'approval.rejected Carol',
        'approval.approved Carol',
        'approval.rejected Carol',
        'approval.approved Hank',
      ]);
      expect(decisions.every((a) => a.at instanceof Date)).toBe(true);
      const everything = JSON.stringify({
        activity: s.activity,
        deliveries: s.windows.deliveries.list(),
        notices: s.windows.statusNotices(),
        chat: chat.requests,
        approvals: s.windows.approvals.list(`window:${window.id}`),
      });
      for (const token of [CTO_TOKEN, HOO_TOKEN, aliceToken, bobToken]) expect(everything).not.toContain(token);
    } finally {
      await server.close();
      s.db.close();
    }
  });
});

describe('security patch SLAs', () => {
  it('computes notice times and SLA risk as pure functions', () => {
    expect(nextBusinessDay(new Date('2026-11-27T15:00:00Z')).toISOString()).toBe('2026-11-30T09:00:00.000Z'); // Friday -> Monday
    expect(nextBusinessDay(new Date('2026-11-24T07:00:00Z')).toISOString()).toBe('2026-11-24T09:00:00.000Z');
    expect(noticeAt({ kind: 'digest', every: 'weekly' }, new Date('2026-11-30T10:00:00Z')).toISOString()).toBe(
      '2026-12-07T09:00:00.000Z',
    );
    expect(noticeAt({ kind: 'immediate' }, new Date('2026-11-30T10:00:00Z')).toISOString()).toBe(
      '2026-11-30T10:00:00.000Z',
    );
    const p = {
      foundAt: new Date('2026-11-25T00:00:00Z'),
      dueAt: new Date('2026-11-26T00:00:00Z'),
      status: 'approved' as const,
    };
    expect(slaRisk(p, new Date('2026-11-25T17:00:00Z'))).toBe('ok');
    expect(slaRisk(p, new Date('2026-11-25T18:00:00Z'))).toBe('at_risk');
    expect(slaRisk(p, new Date('2026-11-26T00:00:00Z'))).toBe('missed');
  });

  it('critical: auto-approved, due in 24 h, told immediately; high and medium need approval; alerts before a miss', async () => {
    const s = setup();
    try {
      const critical = await s.patches.reportPatch(
        { ref: 'CVE-2026-0001', title: 'OpenSSL heap overflow', severity: 'critical' },
        'scanner',
      );
      expect(critical).toMatchObject({ status: 'approved', decidedBy: 'policy (automatic approval)' });
      expect(critical.dueAt.toISOString()).toBe('2026-11-26T12:00:00.000Z');
      expect(critical.notifiedAt?.toISOString()).toBe('2026-11-25T12:00:00.000Z');
      const high = await s.patches.reportPatch(
        { ref: 'CVE-2026-0002', title: 'nginx request smuggling', severity: 'high' },
        'scanner',
      );
      expect(high).toMatchObject({ status: 'pending_approval', notifiedAt: null });
      expect(high.dueAt.toISOString()).toBe('2026-11-28T12:00:00.000Z');
      expect(high.notifyAt.toISOString()).toBe('2026-11-26T09:00:00.000Z');
      const medium = await s.patches.reportPatch(
        { ref: 'CVE-2026-0003', title: 'libxml2 DoS', severity: 'medium' },
        'scanner',
      );
      expect(medium.dueAt.toISOString()).toBe('2026-12-02T12:00:00.000Z');
      expect(medium.notifyAt.toISOString()).toBe('2026-11-30T09:00:00.000Z');
      expect(
        await s.patches
          .decidePatch(
            high.id,
            { name: 'Bob', roles: ['Developer'] },
            { decision: 'approved', planHash: high.planHash },
          )
          .catch((e: Error) => e.message),
      ).toMatch(/Bob does not hold a role/);
      expect(
        (
          await s.patches.decidePatch(
            high.id,
            { name: 'Hank', roles: ['Head of Operations'] },
            { decision: 'approved', planHash: high.planHash },
          )
        ).status,
      ).toBe('approved');

      s.clock.set(new Date('2026-11-26T09:00:00Z'));
      expect(await s.patches.tick()).toEqual({ notified: [high.id], alerted: [critical.id] }); // critical: 3 h left of 24
      s.clock.set(new Date('2026-11-26T12:00:00Z'));
      expect((await s.patches.tick()).alerted).toEqual([critical.id]); // missed now
      expect((await s.patches.tick()).alerted).toEqual([]);
      await s.patches.markApplied(critical.id, 'Alice');
      s.clock.set(new Date('2026-11-30T09:00:00Z'));
      const digest = await s.patches.tick();
      expect(digest.notified).toEqual([medium.id]);
      const subjects = chat.requests.map(
        (r) => (JSON.parse(r.body) as { blocks: Array<{ text: { text: string } }> }).blocks[0]!.text.text,
      );
      expect(subjects).toEqual(
        expect.arrayContaining([
          'Security patch (critical): OpenSSL heap overflow due Thu 2026-11-26 12:00 UTC',
          'ALERT: security patch CVE-2026-0001 (critical): SLA about to be missed: 3 hours left',
          'ALERT: security patch CVE-2026-0001 (critical): SLA MISSED by 0 hours',
          'Weekly security patch digest: 1 patch',
        ]),
      );
      expect(s.activity.some((a) => a.kind === 'patch.applied' && /AFTER its SLA/.test(a.message))).toBe(true);
    } finally {
      s.db.close();
    }
  });
});
