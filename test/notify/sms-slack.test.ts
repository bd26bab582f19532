import { afterEach, describe, expect, it } from 'vitest';
import { duration } from '../helpers/phrases.js';
import { createSmsChannel, smsBody, type SmsConfig } from '../../src/notify/channels/sms.js';
import { createSlackChannel, slackPayload } from '../../src/notify/channels/slack.js';
import { audience, deliver } from '../../src/notify/deliver.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { DeliveryLog } from '../../src/store/sqlite/deliveries.js';
import { fixedClock } from '../../src/clock.js';
import { policySchema } from '../../src/policy/schema.js';
import type { OutboundMessage } from '../../src/notify/types.js';
import { closedPort, startHttp, type HttpPeer } from '../helpers/peers.js';

const SID = 'AC0123456789abcdef';
const TOKEN = 'twilio-Token-8a9b7c';
const env = { TEST_SMS_SID: SID, TEST_SMS_TOKEN: TOKEN, TEST_SLACK_URL: '' };
const message: OutboundMessage = {
  id: 'msg-sms-1',
  kind: 'start',
  subject: 'Maintenance started: database upgrade',
  text: '\nEmergency maintenance has started. Services may be unavailable until Sun 2026-12-06 06:00 UTC.\nWhat: upgrade',
  data: {},
};
const smsConfig = (base: string): SmsConfig => ({
  type: 'sms',
  base_url: base,
  account_sid: { env: 'TEST_SMS_SID' },
  auth_token: { env: 'TEST_SMS_TOKEN' },
  from: '+15550001111',
  to: [],
  timeout: duration('3 seconds'),
});

let peers: HttpPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
});

/** A Twilio-style provider that checks method, path, basic auth and the form body. */
async function provider(failFirst = 0): Promise<HttpPeer> {
  let failures = failFirst;
  const peer = await startHttp((req, res) => {
    const expectedAuth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
    if (req.method !== 'POST' || req.url !== `/2010-04-01/Accounts/${SID}/Messages.json`) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'not found' }));
      return;
    }
    if (req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Authenticate' }));
      return;
    }
    const form = new URLSearchParams(req.body);
    if (
      req.headers['content-type'] !== 'application/x-www-form-urlencoded' ||
      !form.get('To') ||
      form.get('From') !== '+15550001111' ||
      !form.get('Body')
    ) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'bad form' }));
      return;
    }
    if (failures > 0) {
      failures -= 1;
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'busy' }));
      return;
    }
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ sid: `SM${peer.requests.length}`, status: 'queued' }));
  });
  peers.push(peer);
  return peer;
}

describe('SMS channel (Twilio-style API on a local HTTP server)', () => {
  it('POSTs the form with basic auth to the account path', async () => {
    const peer = await provider();
    const result = await createSmsChannel('sms', smsConfig(peer.url), env).send({ ...message, to: ['+15552223333'] });
    expect(result).toMatchObject({ ok: true });
    expect(result.detail).toMatch(/HTTP 201 .*\+15552223333: SM1/);
    const form = new URLSearchParams(peer.requests[0]!.body);
    expect(form.get('To')).toBe('+15552223333');
    expect(form.get('Body')).toBe(
      'Maintenance started: database upgrade - Emergency maintenance has started. Services may be unavailable until Sun 2026-12-06 06:00 UTC.',
    );
    expect(result.detail).not.toContain(TOKEN);
  });

  it('a wrong token is a 401 that is not retried', async () => {
    const peer = await provider();
    const result = await createSmsChannel('sms', smsConfig(peer.url), { ...env, TEST_SMS_TOKEN: 'wrong-token-1' }).send(
      { ...message, to: ['+15552223333'] },
    );
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.detail).toMatch(/HTTP 401.*Authenticate/);
  });

  it('retries a 503 and sends each number once; a second delivery is skipped', async () => {
    const peer = await provider(1);
    const db = openSqlite(':memory:');
    const log = new DeliveryLog(db);
    const deps = {
      log,
      channels: new Map([['sms', createSmsChannel('sms', smsConfig(peer.url), env)]]),
      clock: fixedClock(new Date('2026-12-01T10:00:00Z')),
      attempts: 3,
      backoffMs: 5,
    };
    const targets = [
      { channel: 'sms', recipient: '+15552223333' },
      { channel: 'sms', recipient: '+15554445555' },
    ];
    const report = await deliver(deps, message, targets);
    expect(report.sent).toHaveLength(2);
    const again = await deliver(deps, message, targets);
    expect(again.skipped).toHaveLength(2);
    const accepted = peer.requests.filter((r) => r.method === 'POST');
    expect(accepted).toHaveLength(3); // one 503 + two sends
    expect(
      log
        .list({ messageId: 'msg-sms-1' })
        .map((r) => r.attempts)
        .sort(),
    ).toEqual([1, 2]);
    db.close();
  });

  it('two senders racing on the same message send it once', async () => {
    const peer = await startHttp((_req, res) =>
      setTimeout(() => res.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SMx"}'), 150),
    );
    peers.push(peer);
    const db = openSqlite(':memory:');
    const log = new DeliveryLog(db);
    const deps = {
      log,
      channels: new Map([['sms', createSmsChannel('sms', smsConfig(peer.url), env)]]),
      clock: fixedClock(new Date('2026-12-01T10:00:00Z')),
      attempts: 3,
      backoffMs: 5,
    };
    const target = [{ channel: 'sms', recipient: '+15552223333' }];
    const [a, b] = await Promise.all([
      deliver(deps, { ...message, id: 'race-1' }, target),
      deliver(deps, { ...message, id: 'race-1' }, target),
    ]);
    expect(a.sent.length + b.sent.length).toBe(1);
    expect(a.skipped.length + b.skipped.length).toBe(1);
    expect(peer.requests).toHaveLength(1);
    expect(log.get('race-1', 'sms', '+15552223333')).toMatchObject({ status: 'sent', attempts: 1 });
    db.close();
  });

  it('a provider that is down is retryable and named in the detail', async () => {
    const port = await closedPort();
    const result = await createSmsChannel('sms', smsConfig(`http://127.0.0.1:${port}`), env).send({
      ...message,
      to: ['+15552223333'],
    });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.detail).toMatch(new RegExp(`ECONNREFUSED reaching 127.0.0.1:${port}`));
  });

  it('keeps SMS bodies short', () => {
    expect(smsBody({ ...message, text: 'x'.repeat(1000) }).length).toBe(320);
  });
});

describe('Slack-compatible webhook', () => {
  it('posts {text, blocks}; the secret URL path never shows in the detail', async () => {
    const peer = await startHttp((_req, res) => res.writeHead(200).end('ok'));
    peers.push(peer);
    const url = `${peer.url}/services/T000/B000/secretpath123`;
    const result = await createSlackChannel(
      'slack',
      { type: 'slack', url: { env: 'TEST_SLACK_URL' }, timeout: duration('3 seconds') },
      { ...env, TEST_SLACK_URL: url },
    ).send(message);
    expect(result).toEqual({ ok: true, detail: `HTTP 200 from 127.0.0.1:${peer.port}`, retryable: false });
    const body = JSON.parse(peer.requests[0]!.body) as ReturnType<typeof slackPayload>;
    expect(peer.requests[0]!.url).toBe('/services/T000/B000/secretpath123');
    expect(body.text).toContain('Maintenance started: database upgrade');
    expect(body.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Maintenance started: database upgrade' },
    });
    expect(slackPayload({ ...message, text: '<script> & co' }).text).toContain('&lt;script&gt; &amp; co');
  });

  it('a 500 is retryable', async () => {
    const peer = await startHttp((_req, res) => res.writeHead(500).end('boom'));
    peers.push(peer);
    const result = await createSlackChannel(
      'slack',
      { type: 'slack', url: { env: 'U' }, timeout: duration('3 seconds') },
      { U: `${peer.url}/hook` },
    ).send(message);
    expect(result).toMatchObject({ ok: false, retryable: true });
  });
});

describe('audience', () => {
  const policy = policySchema.parse({
    channels: {
      mail: { type: 'email', host: 'smtp.example.test', from: 'drydock@example.test', to: ['ops-list@example.test'] },
      sms: { type: 'sms', account_sid: { env: 'A' }, auth_token: { env: 'B' }, from: '+1555' },
      chat: { type: 'slack', url: { env: 'C' } },
      status: { type: 'status_page' },
      log: { type: 'log' },
    },
    stakeholders: [
      { name: 'Ada', roles: ['CTO'], email: 'ada@example.test', phone: '+1555001', channels: ['mail', 'sms'] },
      { name: 'Bob', roles: ['Head of Operations'], email: 'bob@example.test', channels: ['mail', 'sms', 'chat'] },
    ],
  });

  it('expands stakeholders to addresses and phones, adds list addresses and the status page', () => {
    expect(audience(policy)).toEqual([
      { channel: 'mail', recipient: 'ada@example.test' },
      { channel: 'sms', recipient: '+1555001' },
      { channel: 'mail', recipient: 'bob@example.test' },
      { channel: 'chat', recipient: '' },
      { channel: 'mail', recipient: 'ops-list@example.test' },
      { channel: 'status', recipient: '' },
    ]);
  });

  it('filters by channel types (emergency: email, sms, status_page) and by role', () => {
    expect(audience(policy, { channelTypes: ['sms', 'status_page'] })).toEqual([
      { channel: 'sms', recipient: '+1555001' },
      { channel: 'status', recipient: '' },
    ]);
    expect(audience(policy, { roles: ['Head of Operations'] })).toEqual([
      { channel: 'mail', recipient: 'bob@example.test' },
      { channel: 'chat', recipient: '' },
    ]);
  });
});
