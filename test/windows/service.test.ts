import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { policySchema, type Policy } from '../../src/policy/schema.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/open.js';
import { buildChannels } from '../../src/notify/channels/registry.js';
import { statusPagePublisher } from '../../src/notify/channels/status-page.js';
import { WindowStore } from '../../src/store/sqlite/windows.js';
import { pino } from 'pino';
import type { ActivityEntry } from '../../src/store/types.js';
import { WindowsService, formatWindowStory } from '../../src/windows/service.js';
import type { ValidationSummary } from '../../src/windows/types.js';
import { makeCert, startHttp, startSmtp, type HttpPeer, type SmtpPeer, type TestCert } from '../helpers/peers.js';

const PASSWORD = 'smtp-pass-Windows-1';
const HOUR = 3_600_000;

let cert: TestCert;
let smtp: SmtpPeer;
let chat: HttpPeer;
let smsPeer: HttpPeer;

beforeAll(async () => {
  cert = makeCert();
  smtp = await startSmtp({ cert, secure: false, user: 'drydock', pass: PASSWORD });
  chat = await startHttp((_req, res) => res.writeHead(200).end('ok'));
  smsPeer = await startHttp((req, res) => {
    const ok =
      req.method === 'POST' &&
      req.url === '/2010-04-01/Accounts/ACwin/Messages.json' &&
      req.headers.authorization === `Basic ${Buffer.from('ACwin:sms-token-win').toString('base64')}`;
    res
      .writeHead(ok ? 201 : 401, { 'content-type': 'application/json' })
      .end(JSON.stringify(ok ? { sid: 'SM1' } : { message: 'Authenticate' }));
  });
});
afterAll(async () => {
  await smtp?.close();
  await chat?.close();
  await smsPeer?.close();
  cert?.cleanup();
});

function makePolicy(over: Record<string, unknown> = {}, smtpPort = smtp.port): Policy {
  return policySchema.parse({
    channels: {
      log: { type: 'log' },
      mail: {
        type: 'email',
        host: 'localhost',
        port: smtpPort,
        user: 'drydock',
        password: { env: 'WIN_SMTP_PASSWORD' },
        from: 'drydock@example.test',
        ca_file: cert.certFile,
        timeout: '3 seconds',
      },
      chat: { type: 'slack', url: { env: 'WIN_SLACK_URL' } },
      sms: {
        type: 'sms',
        base_url: smsPeer.url,
        account_sid: { env: 'WIN_SMS_SID' },
        auth_token: { env: 'WIN_SMS_TOKEN' },
        from: '+15550000000',
      },
      status: { type: 'status_page' },
    },
    stakeholders: [
      { name: 'Alice', roles: ['SRE'], email: 'alice@example.test', channels: ['mail', 'chat'] },
      { name: 'Carol', roles: ['CTO'], email: 'carol@example.test', channels: ['mail'] },
      {
        name: 'Hank',
        roles: ['Head of Operations'],
        email: 'hank@example.test',
        phone: '+15550003',
        channels: ['mail', 'sms'],
      },
      { name: 'Bob', roles: ['Developer'], email: 'bob@example.test', channels: ['mail'] },
    ],
    maintenance_windows: { delivery: { attempts: 2, backoff: '1 second' }, ...over },
  });
}

interface Harness {
  db: SqliteDatabase;
  service: WindowsService;
  clock: ReturnType<typeof fixedClock>;
  activity: ActivityEntry[];
  health: { result: ValidationSummary };
}

function harness(policy: Policy, start = '2026-11-25T12:00:00Z'): Harness {
  const db = openSqlite(':memory:');
  const clock = fixedClock(new Date(start));
  const activity: ActivityEntry[] = [];
  const health = { result: { ok: true, checks: [{ name: 'api', ok: true, detail: 'HTTP 200' }] } as ValidationSummary };
  const env = {
    WIN_SMTP_PASSWORD: PASSWORD,
    WIN_SLACK_URL: `${chat.url}/hooks/abc`,
    WIN_SMS_SID: 'ACwin',
    WIN_SMS_TOKEN: 'sms-token-win',
  };
  const { channels } = buildChannels(policy, {
    logger: pino({ level: 'silent' }),
    env,
    statusPage: statusPagePublisher(new WindowStore(db), clock),
  });
  const service: WindowsService = new WindowsService({
    db,
    policy,
    clock,
    channels,
    activity: (e) => void activity.push(e),
    healthCheck: async () => health.result,
    sleep: async () => {},
  });
  return { db, service, clock, activity, health };
}

const base = {
  title: 'PostgreSQL 15 minor upgrade',
  summary: 'Upgrade PostgreSQL 15.7 to 15.8 on the primary and restart',
  rollbackPlan: 'Reinstall 15.7 packages and restart; restore from the 01:00 backup if the catalog is damaged',
  owner: 'Alice',
  standby: ['Hank'],
  components: ['Database', 'API'],
  requestedBy: 'Alice',
};

const mailsTo = (address: string, subject: RegExp) =>
  smtp.received.filter((m) => m.to.includes(address) && subject.test(`Subject: ${m.subject}`));

describe('scheduling rules', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness(makePolicy());
  });

  it('schedules a planned window 10 days ahead and announces it to every stakeholder channel and the status page', async () => {
    const start = new Date('2026-12-06T02:00:00Z'); // a Sunday, outside blackouts
    const { window, notices } = await h.service.scheduleWindow({
      ...base,
      start,
      end: new Date(start.getTime() + 2 * HOUR),
    });
    expect(window.status).toBe('scheduled');
    expect(notices.failed).toEqual([]);
    expect(notices.sent.map((t) => `${t.channel}:${t.recipient}`).sort()).toEqual([
      'chat:',
      'mail:alice@example.test',
      'mail:bob@example.test',
      'mail:carol@example.test',
      'mail:hank@example.test',
      'sms:+15550003',
      'status:',
    ]);
    expect(
      mailsTo(
        'carol@example.test',
        /Subject: Scheduled maintenance: PostgreSQL 15 minor upgrade on Sun 2026-12-06 02:00 UTC/,
      ),
    ).toHaveLength(1);
    expect(h.service.statusNotices()[0]).toMatchObject({ kind: 'advance_notice', windowId: window.id });
    expect(h.activity.some((a) => a.kind === 'window.scheduled')).toBe(true);
  });

  it('refuses a window without a rollback plan, overlapping windows and windows inside a blackout, saying why', async () => {
    const start = new Date('2026-12-06T02:00:00Z');
    await expect(
      h.service.scheduleWindow({ ...base, rollbackPlan: ' ', start, end: new Date(start.getTime() + HOUR) }),
    ).rejects.toThrow(/no rollback plan; a window without one cannot be scheduled/);
    const first = await h.service.scheduleWindow({ ...base, start, end: new Date(start.getTime() + 2 * HOUR) });
    await expect(
      h.service.scheduleWindow({
        ...base,
        title: 'Redis restart',
        start: new Date(start.getTime() + HOUR),
        end: new Date(start.getTime() + 3 * HOUR),
      }),
    ).rejects.toThrow(
      new RegExp(
        `overlaps window #${first.window.id} "PostgreSQL 15 minor upgrade" \\(Sun 2026-12-06 02:00-04:00 UTC\\)`,
      ),
    );
    const monday = new Date('2026-12-07T10:00:00Z');
    await expect(
      h.service.scheduleWindow({ ...base, start: monday, end: new Date(monday.getTime() + HOUR) }),
    ).rejects.toThrow(/blackout period "business_hours" \(every Mon,Tue,Wed,Thu,Fri 09:00-18:00 UTC/);
    const xmas = new Date('2026-12-20T02:00:00Z');
    await expect(
      h.service.scheduleWindow({ ...base, start: xmas, end: new Date(xmas.getTime() + HOUR) }),
    ).rejects.toThrow(/holiday_season/);
    // Security work is the spec's exception.
    const patched = await h.service.scheduleWindow({
      ...base,
      title: 'OpenSSL patch',
      taskClass: 'security',
      start: monday,
      end: new Date(monday.getTime() + HOUR),
    });
    expect(patched.window.status).toBe('scheduled');
    expect(h.activity.filter((a) => a.kind === 'window.refused')).toHaveLength(4);
  });

  it('refuses an emergency with less than 1 hour of notice and planned work with less than 7 days', async () => {
    const soon = new Date(h.clock.now().getTime() + 35 * 60_000);
    await expect(
      h.service.scheduleWindow({ ...base, kind: 'emergency', start: soon, end: new Date(soon.getTime() + HOUR) }),
    ).rejects.toThrow(/emergency maintenance needs at least 60 minutes of notice; this one would start in 35 minutes/);
    const inTwoDays = new Date('2026-11-29T02:00:00Z');
    await expect(
      h.service.scheduleWindow({ ...base, start: inTwoDays, end: new Date(inTwoDays.getTime() + HOUR) }),
    ).rejects.toThrow(/announced 7 days ahead; this one would start in 3 days \(request an emergency window instead\)/);
  });

  it('a regular window defaults to the next first-Sunday slot at least 7 days out', async () => {
    const { window } = await h.service.scheduleWindow({ ...base, kind: 'regular' });
    expect(window.start.toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(window.end.toISOString()).toBe('2026-12-06T06:00:00.000Z');
    await expect(
      h.service.scheduleWindow({
        ...base,
        kind: 'regular',
        start: new Date('2026-12-13T02:00:00Z'),
        end: new Date('2026-12-13T04:00:00Z'),
      }),
    ).rejects.toThrow(/inside the regular maintenance window/);
  });

  it('reschedule and cancel notices go to everyone who got the first notice; a reminder goes 24 h before', async () => {
    const start = new Date('2026-12-06T02:00:00Z');
    const { window } = await h.service.scheduleWindow({ ...base, start, end: new Date(start.getTime() + 2 * HOUR) });
    const newStart = new Date('2026-12-13T03:00:00Z');
    const moved = await h.service.rescheduleWindow(
      window.id,
      { start: newStart, end: new Date(newStart.getTime() + HOUR), reason: 'vendor release slipped' },
      'Alice',
    );
    expect(moved.notices.sent).toHaveLength(7);
    const mail = mailsTo('bob@example.test', /Subject: Maintenance rescheduled/)[0]!;
    expect(mail.text).toContain('Was: Sun 2026-12-06 02:00 UTC to 04:00 UTC');
    expect(mail.text).toContain('Now: Sun 2026-12-13 03:00 UTC to 04:00 UTC');
    expect(mail.text).toContain('Why: vendor release slipped');
    h.clock.set(new Date('2026-12-12T04:00:00Z'));
    expect((await h.service.tick()).reminded).toEqual([window.id]);
    expect((await h.service.tick()).reminded).toEqual([]);
    expect(
      mailsTo('hank@example.test', /Subject: Reminder: PostgreSQL 15 minor upgrade starts Sun 2026-12-13 03:00 UTC/),
    ).toHaveLength(1);
    const cancelled = await h.service.cancelWindow(window.id, 'merged into the January window', 'Alice');
    expect(cancelled.window.status).toBe('cancelled');
    expect(
      cancelled.notices.sent
        .map((t) => t.recipient)
        .filter(Boolean)
        .sort(),
    ).toEqual(['+15550003', 'alice@example.test', 'bob@example.test', 'carol@example.test', 'hank@example.test']);
    await expect(h.service.cancelWindow(window.id, 'again', 'Alice')).rejects.toThrow(/already cancelled/);
  });
});

describe('emergency maintenance with approvals and the whole story', () => {
  it('needs both the CTO and the Head of Operations; refuses the requester, other roles and stale plans', async () => {
    const h = harness(makePolicy());
    const start = new Date(h.clock.now().getTime() + 2 * HOUR);
    const { window } = await h.service.scheduleWindow({
      ...base,
      kind: 'emergency',
      start,
      end: new Date(start.getTime() + HOUR),
      taskClass: 'critical_bug',
      title: 'Fix corrupted index on bookings',
    });
    expect(window.status).toBe('pending_approval');
    const request = mailsTo(
      'carol@example.test',
      /Subject: Approval needed: emergency maintenance Fix corrupted index/,
    );
    expect(request).toHaveLength(1);
    expect(request[0]!.text).toContain('Approvals still needed from: CTO, Head of Operations');
    expect(mailsTo('bob@example.test', /Approval needed/)).toHaveLength(0);

    const alice = { name: 'Alice', roles: ['SRE', 'CTO'] };
    await expect(
      h.service.decide(window.id, alice, { decision: 'approved', planHash: window.planHash }),
    ).rejects.toThrow(/Alice requested window #\d+ and cannot approve or refuse their own request/);
    await expect(
      h.service.decide(
        window.id,
        { name: 'Bob', roles: ['Developer'] },
        { decision: 'approved', planHash: window.planHash },
      ),
    ).rejects.toThrow(
      /Bob does not hold a role that can approve window #\d+ \(needs CTO and Head of Operations; has Developer\)/,
    );
    await expect(
      h.service.decide(
        window.id,
        { name: 'Carol', roles: ['CTO'] },
        { decision: 'approved', planHash: 'f'.repeat(64) },
      ),
    ).rejects.toThrow(/plan of window #\d+ changed since it was reviewed/);

    const first = await h.service.decide(
      window.id,
      { name: 'Carol', roles: ['CTO'] },
      { decision: 'approved', planHash: window.planHash.slice(0, 12) },
    );
    expect(first.missing).toEqual(['Head of Operations']);
    await expect(h.service.startWindow(window.id, 'Alice')).rejects.toThrow(
      /still needs approval from Head of Operations/,
    );

    // Changing the plan voids the CTO's approval.
    const moved = await h.service.rescheduleWindow(
      window.id,
      { start: new Date(start.getTime() + HOUR), end: new Date(start.getTime() + 2 * HOUR) },
      'Alice',
    );
    expect(moved.window.status).toBe('pending_approval');
    expect(h.service.showWindow(window.id).approval?.missing).toEqual(['CTO', 'Head of Operations']);

    await h.service.decide(
      window.id,
      { name: 'Carol', roles: ['CTO'] },
      { decision: 'approved', planHash: moved.window.planHash, comment: 'go' },
    );
    const done = await h.service.decide(
      window.id,
      { name: 'Hank', roles: ['Head of Operations'] },
      { decision: 'approved', planHash: moved.window.planHash },
    );
    expect(done.window.status).toBe('scheduled');
    expect(mailsTo('alice@example.test', /Subject: Fix corrupted index on bookings: approved by Hank/)).toHaveLength(1);
    // Emergency notices go by email and status page (the policy's emergency channels), not Slack.
    const deliveries = h.service.showWindow(window.id).deliveries.filter((d) => d.kind === 'advance_notice');
    expect(new Set(deliveries.map((d) => d.channel))).toEqual(new Set(['mail', 'sms', 'status']));
    const texts = smsPeer.requests
      .map((r) => new URLSearchParams(r.body))
      .filter((f) => f.get('To') === '+15550003')
      .map((f) => f.get('Body'));
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Approval needed: emergency maintenance Fix corrupted index on bookings/),
        expect.stringMatching(/^Emergency maintenance: Fix corrupted index on bookings on /),
      ]),
    );

    // Announced 3 hours ahead: no separate 24-hour reminder.
    expect((await h.service.tick()).reminded).toEqual([]);
    // The approved emergency window opens the gate for disruptive tasks.
    expect(h.service.openIntervals(h.clock.now())).toEqual([{ start: moved.window.start, end: moved.window.end }]);

    await expect(h.service.startWindow(window.id, 'Alice')).rejects.toThrow(/starts at/);
    h.clock.set(moved.window.start);
    const started = await h.service.startWindow(window.id, 'Alice');
    expect(started.status).toBe('in_progress');
    expect(h.service.store.components().map((c) => [c.name, c.status])).toEqual([
      ['API', 'under_maintenance'],
      ['Database', 'under_maintenance'],
    ]);
    h.clock.advance(20 * 60_000);
    await h.service.postUpdate(
      window.id,
      { message: 'REINDEX CONCURRENTLY done on bookings_pkey; verifying' },
      'Alice',
    );
    h.health.result = {
      ok: false,
      checks: [
        { name: 'api', ok: true, detail: 'HTTP 200' },
        { name: 'bookings', ok: false, detail: 'p95 latency 900ms > 100ms' },
      ],
    };
    h.clock.advance(20 * 60_000);
    const completed = await h.service.completeWindow(window.id, {}, 'Alice');
    expect(completed.window.outcome).toBe('failed');
    const alert = mailsTo(
      'hank@example.test',
      /Subject: ALERT: Fix corrupted index on bookings: Post-maintenance validation failed/,
    );
    expect(alert).toHaveLength(1);
    expect(alert[0]!.text).toContain('Rollback plan:');
    expect(alert[0]!.text).toContain('Reinstall 15.7 packages');
    await h.service.recordLessons(window.id, 'Run REINDEX on a replica first to time it.', 'Alice');

    const story = formatWindowStory(h.service.showWindow(window.id));
    for (const text of [
      'Status: completed',
      'Rollback plan: Reinstall 15.7 packages',
      'Standby: Hank',
      'Carol (CTO) approved',
      '[earlier plan, void]',
      'Hank (Head of Operations) approved',
      'REINDEX CONCURRENTLY done on bookings_pkey',
      'Post-maintenance validation: FAILED',
      'FAIL bookings: p95 latency 900ms > 100ms',
      'Outcome: failed',
      'Run REINDEX on a replica first',
    ]) {
      expect(story).toContain(text);
    }
    expect(story).toMatch(/Notices: \d+ delivered, 0 failed/);
    expect(h.activity.map((a) => a.kind)).toEqual(
      expect.arrayContaining([
        'window.requested',
        'approval.approved',
        'approval.rejected',
        'window.approved',
        'window.started',
        'window.update',
        'window.completed',
        'window.alert',
        'window.lessons',
      ]),
    );
    expect(JSON.stringify(h.activity)).not.toContain(PASSWORD);
  });

  it('a refused request does not run and the requester is told', async () => {
    const h = harness(makePolicy());
    const start = new Date(h.clock.now().getTime() + 3 * HOUR);
    const { window } = await h.service.scheduleWindow({
      ...base,
      kind: 'emergency',
      start,
      end: new Date(start.getTime() + HOUR),
      taskClass: 'critical_bug',
      title: 'Emergency cache flush',
    });
    const result = await h.service.decide(
      window.id,
      { name: 'Hank', roles: ['Head of Operations'] },
      { decision: 'refused', planHash: window.planHash, comment: 'wait for Monday' },
    );
    expect(result.window.status).toBe('refused');
    expect(
      mailsTo('alice@example.test', /Subject: Emergency cache flush: refused by Hank \(Head of Operations\)/),
    ).toHaveLength(1);
    h.clock.set(start);
    await expect(h.service.startWindow(window.id, 'Alice')).rejects.toThrow(/it is refused/);
    expect(h.service.openIntervals(start)).toEqual([]);
  });

  it('a request not approved before its start time expires and the requester is told', async () => {
    const h = harness(makePolicy());
    const start = new Date(h.clock.now().getTime() + 90 * 60_000);
    const { window } = await h.service.scheduleWindow({
      ...base,
      kind: 'emergency',
      start,
      end: new Date(start.getTime() + HOUR),
      taskClass: 'critical_bug',
      title: 'Emergency disk cleanup',
    });
    await h.service.decide(
      window.id,
      { name: 'Carol', roles: ['CTO'] },
      { decision: 'approved', planHash: window.planHash },
    );
    h.clock.set(start);
    expect((await h.service.tick()).expired).toEqual([window.id]);
    expect(h.service.showWindow(window.id).window.status).toBe('expired');
    const told = mailsTo('alice@example.test', /Subject: Emergency disk cleanup: .*/).filter((m) =>
      m.text.includes('Not approved before its start time (missing: Head of Operations)'),
    );
    expect(told).toHaveLength(1);
  });
});

describe('the daemon tick', () => {
  it('starts a window at its start and completes it (with validation) after its end', async () => {
    const h = harness(makePolicy());
    const start = new Date('2026-12-06T02:00:00Z');
    const { window } = await h.service.scheduleWindow({ ...base, start, end: new Date(start.getTime() + 2 * HOUR) });
    h.clock.set(new Date(start.getTime() - 60_000));
    expect(await h.service.tick()).toMatchObject({ started: [], completed: [] });
    h.clock.set(new Date(start.getTime() + 30_000));
    expect(await h.service.tick()).toMatchObject({ started: [window.id], completed: [] });
    expect(h.service.showWindow(window.id).window.status).toBe('in_progress');
    h.clock.set(new Date(start.getTime() + 2 * HOUR + 30_000));
    expect(await h.service.tick()).toMatchObject({ started: [], completed: [window.id] });
    const story = h.service.showWindow(window.id);
    expect(story.window).toMatchObject({ status: 'completed', outcome: 'succeeded', validation: { ok: true } });
    expect(story.updates.at(-1)?.message).toContain('Completed automatically at the end of the window.');
    expect(
      mailsTo('carol@example.test', /Subject: Maintenance completed: PostgreSQL 15 minor upgrade/).length,
    ).toBeGreaterThanOrEqual(1);
    h.db.close();
  });
});

describe('notices and a failing SMTP server', () => {
  it('failed notices do not block the window unless the policy requires notices', async () => {
    const { closedPort } = await import('../helpers/peers.js');
    const port = await closedPort();
    for (const required of [false, true]) {
      const h = harness(makePolicy({ notices_required: required, blackout: { periods: [] } }, port));
      const start = new Date('2026-12-03T02:00:00Z');
      const { window, notices } = await h.service.scheduleWindow({
        ...base,
        start,
        end: new Date(start.getTime() + HOUR),
      });
      expect(notices.failed.filter((f) => f.channel === 'mail')).toHaveLength(4);
      expect(notices.failed[0]!.attempts).toBe(2);
      expect(h.activity.filter((a) => a.kind === 'notify.failed').length).toBeGreaterThanOrEqual(4);
      h.clock.set(start);
      // Email failed, but Slack and the status page delivered the advance notice: the window starts
      // either way (with notices_required, because at least one advance notice went out).
      expect((await h.service.startWindow(window.id, 'Alice')).status).toBe('in_progress');
      h.db.close();
    }
  });

  it('with notices required and nothing delivered, the window does not start', async () => {
    const { closedPort } = await import('../helpers/peers.js');
    const port = await closedPort();
    const policy = makePolicy({ notices_required: true, blackout: { periods: [] } }, port);
    policy.stakeholders.forEach((s) => (s.channels = ['mail']));
    delete (policy.channels as Record<string, unknown>).status;
    const h = harness(policy);
    const start = new Date('2026-12-03T02:00:00Z');
    const { window } = await h.service.scheduleWindow({ ...base, start, end: new Date(start.getTime() + HOUR) });
    h.clock.set(start);
    await expect(h.service.startWindow(window.id, 'Alice')).rejects.toThrow(
      /the policy requires notices and no advance notice was delivered/,
    );
    expect(formatWindowStory(h.service.showWindow(window.id))).toMatch(/Notices: 0 delivered, 4 failed/);
    h.db.close();
  });
});

describe('the regular window announces itself', () => {
  it('is scheduled and announced by email once it is 7 days ahead, reminded 24 hours before, never twice', async () => {
    const regular = {
      change: {
        rollback_plan: 'Boot the previous kernel; reinstall the pinned runtime',
        owner: 'Alice',
        components: ['API'],
      },
    };
    // First Sunday of December 2026 is the 6th; 8.5 days before it nothing is due yet.
    const h = harness(makePolicy({ regular }), '2026-11-27T14:00:00Z');
    await h.service.tick();
    expect(h.service.store.list({})).toEqual([]);

    h.clock.set(new Date('2026-11-28T12:00:00Z'));
    await h.service.tick();
    const [w] = h.service.store.list({ from: new Date('2026-12-06T00:00:00Z') });
    expect(w).toMatchObject({
      kind: 'regular',
      status: 'scheduled',
      title: 'Regular maintenance',
      start: new Date('2026-12-06T02:00:00Z'),
      end: new Date('2026-12-06T06:00:00Z'),
    });
    expect(w!.change.rollbackPlan).toBe('Boot the previous kernel; reinstall the pinned runtime');
    expect(w!.advanceSentAt).not.toBeNull();
    expect(mailsTo('bob@example.test', /Regular maintenance/).length).toBeGreaterThanOrEqual(1);

    await h.service.tick();
    expect(h.service.store.list({ from: new Date('2026-12-06T00:00:00Z') })).toHaveLength(1);

    h.clock.set(new Date('2026-12-05T03:00:00Z'));
    await h.service.tick();
    expect(h.service.store.list({ from: new Date('2026-12-06T00:00:00Z') })[0]!.reminderSentAt).toEqual(
      new Date('2026-12-05T03:00:00Z'),
    );
  });

  it('announces nothing without a rollback plan and an owner', async () => {
    const h = harness(makePolicy(), '2026-11-28T12:00:00Z');
    await h.service.tick();
    expect(h.service.store.list({ from: new Date('2026-12-01T00:00:00Z') })).toEqual([]);
  });
});
