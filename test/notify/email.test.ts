import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duration } from '../helpers/phrases.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { DeliveryLog } from '../../src/store/sqlite/deliveries.js';
import { createEmailChannel, type EmailConfig } from '../../src/notify/channels/email.js';
import { deliver } from '../../src/notify/deliver.js';
import { fixedClock } from '../../src/clock.js';
import type { ActivityEntry } from '../../src/store/types.js';
import type { OutboundMessage } from '../../src/notify/types.js';
import { closedPort, makeCert, startSmtp, type SmtpPeer, type TestCert } from '../helpers/peers.js';

const PASSWORD = 'smtp-Secret-4711';
const env = { DRYDOCK_TEST_SMTP_PASSWORD: PASSWORD };

const message = (id: string): OutboundMessage => ({
  id,
  kind: 'advance_notice',
  subject: 'Scheduled maintenance: database upgrade on Sun 2026-12-06 02:00 UTC',
  text: 'Scheduled maintenance is planned.\nWhen: Sun 2026-12-06 02:00 to 06:00 UTC',
  data: {},
});

const config = (port: number, cert: TestCert, over: Partial<EmailConfig> = {}): EmailConfig => ({
  type: 'email',
  host: 'localhost',
  port,
  secure: false,
  require_tls: true,
  user: 'drydock',
  password: { env: 'DRYDOCK_TEST_SMTP_PASSWORD' },
  from: 'drydock@example.test',
  to: [],
  ca_file: cert.certFile,
  timeout: duration('5 seconds'),
  ...over,
});

describe('email channel against a real SMTP server', () => {
  let cert: TestCert;
  let starttls: SmtpPeer;
  let implicit: SmtpPeer;

  beforeAll(async () => {
    cert = makeCert();
    starttls = await startSmtp({ cert, secure: false, user: 'drydock', pass: PASSWORD });
    implicit = await startSmtp({ cert, secure: true, user: 'drydock', pass: PASSWORD });
  });
  afterAll(async () => {
    await starttls?.close();
    await implicit?.close();
    cert?.cleanup();
  });

  it('sends over STARTTLS with auth; the message id becomes the Message-ID', async () => {
    const channel = createEmailChannel('mail', config(starttls.port, cert), env);
    const result = await channel.send({ ...message('msg-starttls-1'), to: ['cto@example.test'] });
    expect(result).toMatchObject({ ok: true });
    expect(result.detail).toMatch(/250/);
    const mail = starttls.received.at(-1)!;
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe('drydock');
    expect(mail.to).toEqual(['cto@example.test']);
    expect(mail.from).toBe('drydock@example.test');
    expect(mail.raw).toMatch(/^Message-ID: <msg-starttls-1@drydock>/m);
    expect(mail.raw).toMatch(/^Subject: Scheduled maintenance: database upgrade/m);
    expect(mail.text).toContain('When: Sun 2026-12-06 02:00 to 06:00 UTC');
    expect(mail.raw).not.toContain(PASSWORD);
  });

  it('sends over implicit TLS (port 465 style)', async () => {
    const channel = createEmailChannel('mail', config(implicit.port, cert, { secure: true }), env);
    const result = await channel.send({ ...message('msg-tls-1'), to: ['ops@example.test'] });
    expect(result.ok).toBe(true);
    expect(implicit.received.at(-1)?.secure).toBe(true);
  });

  it('refuses an untrusted certificate instead of sending in the clear', async () => {
    const channel = createEmailChannel('mail', config(starttls.port, cert, { ca_file: undefined }), env);
    const before = starttls.received.length;
    const result = await channel.send({ ...message('msg-untrusted'), to: ['ops@example.test'] });
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/certificate/i);
    expect(starttls.received.length).toBe(before);
  });

  it('a wrong password fails without retry and without the password in the detail', async () => {
    const channel = createEmailChannel('mail', config(starttls.port, cert), {
      DRYDOCK_TEST_SMTP_PASSWORD: 'wrong-password-9',
    });
    const result = await channel.send({ ...message('msg-auth'), to: ['ops@example.test'] });
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.detail).toMatch(/535/);
    expect(result.detail).not.toContain('wrong-password-9');
  });

  it('a missing password env var is a clear SECRET_MISSING error', () => {
    expect(() => createEmailChannel('mail', config(starttls.port, cert), {})).toThrow(
      /DRYDOCK_TEST_SMTP_PASSWORD is not set/,
    );
  });

  it('retries a temporary 451, sends once, and a repeated delivery is skipped', async () => {
    const db = openSqlite(':memory:');
    const log = new DeliveryLog(db);
    const activity: ActivityEntry[] = [];
    const channels = new Map([['mail', createEmailChannel('mail', config(starttls.port, cert), env)]]);
    const deps = {
      log,
      channels,
      clock: fixedClock(new Date('2026-11-29T02:00:00Z')),
      attempts: 3,
      backoffMs: 10,
      activity: (e: ActivityEntry) => void activity.push(e),
    };
    starttls.failNext.push({ code: 451, message: 'Try again later' });
    const before = starttls.received.length;
    const first = await deliver(deps, message('msg-retry-1'), [{ channel: 'mail', recipient: 'cto@example.test' }], 7);
    expect(first.sent).toHaveLength(1);
    expect(log.get('msg-retry-1', 'mail', 'cto@example.test')).toMatchObject({
      status: 'sent',
      attempts: 2,
      windowId: 7,
    });
    const again = await deliver(deps, message('msg-retry-1'), [{ channel: 'mail', recipient: 'cto@example.test' }], 7);
    expect(again.skipped).toHaveLength(1);
    expect(starttls.received.length - before).toBe(1);
    expect(activity.map((a) => a.kind)).toEqual(['notify.sent']);
    expect(log.reachedFor(7)).toEqual([{ channel: 'mail', recipient: 'cto@example.test' }]);
    db.close();
  });

  it('a server that is down: retried, then logged as failed after its attempts, secrets kept out', async () => {
    const db = openSqlite(':memory:');
    const log = new DeliveryLog(db);
    const activity: ActivityEntry[] = [];
    const port = await closedPort();
    const channels = new Map([['mail', createEmailChannel('mail', config(port, cert), env)]]);
    const waits: number[] = [];
    const deps = {
      log,
      channels,
      clock: fixedClock(new Date('2026-11-29T02:00:00Z')),
      attempts: 3,
      backoffMs: 100,
      sleep: async (ms: number) => void waits.push(ms),
      activity: (e: ActivityEntry) => void activity.push(e),
    };
    const report = await deliver(deps, message('msg-down-1'), [{ channel: 'mail', recipient: 'cto@example.test' }]);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]).toMatchObject({ attempts: 3 });
    expect(report.failed[0]!.detail).toMatch(/ECONNREFUSED|ECONNECTION/);
    expect(waits).toEqual([100, 200]);
    expect(log.get('msg-down-1', 'mail', 'cto@example.test')).toMatchObject({ status: 'failed', attempts: 3 });
    expect(activity).toHaveLength(1);
    expect(activity[0]!.kind).toBe('notify.failed');
    expect(JSON.stringify(activity)).not.toContain(PASSWORD);
    db.close();
  });
});
