// One contract every channel type passes, each against a real peer (an SMTP server, a local HTTP
// receiver, the status page's SQLite store, a pino log stream). Channels are built the way Drydock
// builds them: a policy, parsed, through the channel registry. The case table is typed
// `Record<ChannelType, ...>`, so a new channel type does not compile until it has a case here.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { buildChannels, CHANNEL_FACTORIES, type ChannelType } from '../../src/notify/channels/registry.js';
import { statusPagePublisher } from '../../src/notify/channels/status-page.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { Channel, OutboundMessage } from '../../src/notify/types.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { PolicyInput } from '../../src/policy/schema.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/open.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { WindowStore } from '../../src/store/sqlite/windows.js';
import {
  closedPort,
  makeCert,
  startHttp,
  startSmtp,
  type HttpPeer,
  type SmtpPeer,
  type TestCert,
} from '../helpers/peers.js';

const SECRET = 'contract-secret-7f3a9';
const clock = fixedClock(new Date('2026-11-29T02:00:00Z'));

const message = (id: string): OutboundMessage => ({
  id,
  kind: 'window.started',
  subject: 'Maintenance started: database upgrade',
  text: 'Emergency maintenance has started.\nServices may be unavailable until 06:00 UTC.',
  data: { windowId: 7 },
});

type ChannelInput = NonNullable<PolicyInput['channels']>[string];

interface Built {
  channel: Channel;
  env: NodeJS.ProcessEnv;
}

interface ContractCase {
  /** The channel's policy entry and environment against the working peer. */
  working(): { config: ChannelInput; env?: NodeJS.ProcessEnv };
  /** Everything the peer has received, as text, newest last. */
  received(): string[];
  /** The message id travels with the message (for receivers that drop duplicates). */
  carriesId: boolean;
  /** A peer that cannot take the message, and the host:port (or store) the failure must name; null if the channel cannot fail. */
  failing: (() => Promise<{ config: ChannelInput; env?: NodeJS.ProcessEnv; names: RegExp }>) | null;
}

let cert: TestCert;
let smtp: SmtpPeer;
let http: HttpPeer;
let db: SqliteDatabase;
let windowStore: WindowStore;
const logLines: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  }),
);

function build(name: string, config: ChannelInput, env: NodeJS.ProcessEnv = {}, store = windowStore): Built {
  const policy = parsePolicy({ channels: { [name]: config } });
  const { channels } = buildChannels(policy, { logger, env, statusPage: statusPagePublisher(store, clock) });
  return { channel: channels.get(name)!, env };
}

const CASES = {
  log: {
    working: () => ({ config: { type: 'log' } }),
    received: () => logLines,
    carriesId: true,
    failing: null,
  },
  webhook: {
    working: () => ({
      config: { type: 'webhook', url: `${http.url}/hook`, token: { env: 'HOOK_TOKEN' } },
      env: { HOOK_TOKEN: SECRET },
    }),
    received: () => http.requests.filter((r) => r.url === '/hook').map((r) => JSON.stringify(r.headers) + r.body),
    carriesId: true,
    failing: async () => {
      const port = await closedPort();
      return {
        config: { type: 'webhook', url: `http://127.0.0.1:${port}/hook` },
        names: new RegExp(`127.0.0.1:${port}`),
      };
    },
  },
  email: {
    working: () => ({
      config: {
        type: 'email',
        host: 'localhost',
        port: smtp.port,
        user: 'drydock',
        password: { env: 'SMTP_PASSWORD' },
        from: 'drydock@example.test',
        to: ['ops@example.test'],
        ca_file: cert.certFile,
        timeout: '5 seconds',
      },
      env: { SMTP_PASSWORD: SECRET },
    }),
    received: () => smtp.received.map((m) => m.raw),
    carriesId: true,
    failing: async () => {
      const port = await closedPort();
      return {
        config: { type: 'email', host: '127.0.0.1', port, from: 'drydock@example.test', to: ['ops@example.test'] },
        names: new RegExp(`127.0.0.1:${port}`),
      };
    },
  },
  sms: {
    working: () => ({
      config: {
        type: 'sms',
        base_url: http.url,
        account_sid: { env: 'SMS_SID' },
        auth_token: { env: 'SMS_TOKEN' },
        from: '+15550000000',
        to: ['+15550001111'],
      },
      env: { SMS_SID: 'ACcontract', SMS_TOKEN: SECRET },
    }),
    received: () =>
      http.requests
        .filter((r) => r.url.startsWith('/2010-04-01/'))
        .map((r) => new URLSearchParams(r.body).get('Body') ?? ''),
    carriesId: false,
    failing: async () => {
      const port = await closedPort();
      return {
        config: {
          type: 'sms',
          base_url: `http://127.0.0.1:${port}`,
          account_sid: { env: 'SMS_SID' },
          auth_token: { env: 'SMS_TOKEN' },
          from: '+15550000000',
          to: ['+15550001111'],
        },
        env: { SMS_SID: 'ACcontract', SMS_TOKEN: SECRET },
        names: new RegExp(`127.0.0.1:${port}`),
      };
    },
  },
  slack: {
    working: () => ({
      config: { type: 'slack', url: { env: 'SLACK_URL' } },
      env: { SLACK_URL: `${http.url}/slack/${SECRET}` },
    }),
    received: () => http.requests.filter((r) => r.url.startsWith('/slack/')).map((r) => r.body),
    carriesId: true,
    failing: async () => {
      const port = await closedPort();
      return {
        config: { type: 'slack', url: { env: 'SLACK_URL' } },
        env: { SLACK_URL: `http://127.0.0.1:${port}/slack/${SECRET}` },
        names: new RegExp(`127.0.0.1:${port}`),
      };
    },
  },
  status_page: {
    working: () => ({ config: { type: 'status_page' } }),
    received: () => windowStore.notices({ limit: 100 }).map((n) => `${n.messageId} ${n.subject}\n${n.text}`),
    carriesId: true,
    failing: null,
  },
} satisfies Record<ChannelType, ContractCase>;

beforeAll(async () => {
  cert = makeCert();
  smtp = await startSmtp({ cert, secure: false, user: 'drydock', pass: SECRET });
  http = await startHttp((req, res) => {
    if (req.url.startsWith('/2010-04-01/'))
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: 'SM1' }));
    else res.writeHead(200).end('ok');
  });
  db = openSqlite(':memory:');
  windowStore = new WindowStore(db);
});

afterAll(async () => {
  await smtp?.close();
  await http?.close();
  cert?.cleanup();
  db?.close();
});

const cases = Object.entries(CASES) as Array<[ChannelType, ContractCase]>;

describe('channel contract', () => {
  it('has a case for every channel type the registry builds', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(CHANNEL_FACTORIES).sort());
  });

  it.each(cases)('%s: delivers subject and text to its peer and reports what happened', async (type, c) => {
    const { config, env } = c.working();
    const { channel } = build(`contract-${type}`, config, env);
    expect(channel).toMatchObject({ name: `contract-${type}`, type });
    const before = c.received().length;
    const result = await channel.send(message(`contract-${type}-1`));
    expect(result).toMatchObject({ ok: true });
    expect(result.detail).not.toBe('');
    const got = c.received().slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]).toContain('Maintenance started: database upgrade');
    if (type !== 'sms') expect(got[0]).toContain('Emergency maintenance has started.');
    if (c.carriesId) expect(got[0]).toContain(`contract-${type}-1`);
    expect(result.detail).not.toContain(SECRET);
  });

  it.each(cases.filter(([, c]) => c.failing !== null))(
    '%s: a peer that cannot be reached is a failed result naming it, never a throw',
    async (type, c) => {
      const { config, env, names } = await c.failing!();
      const { channel } = build(`down-${type}`, config, env);
      const result = await channel.send(message(`contract-${type}-down`));
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(result.detail).toMatch(names);
      expect(result.detail).not.toContain(SECRET);
    },
  );

  it('status_page: a store that cannot take the notice is a failed result, never a throw', async () => {
    const closed = openSqlite(':memory:');
    const store = new WindowStore(closed);
    closed.close();
    const { channel } = build('down-status', { type: 'status_page' }, {}, store);
    const result = await channel.send(message('contract-status-down'));
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.detail).toMatch(/^status page: /);
  });

  it.each(cases.filter(([type]) => ['webhook', 'email', 'sms', 'slack'].includes(type)))(
    '%s: a channel whose secret is not set still exists, and every message for it is a recorded failed delivery',
    async (type, c) => {
      const { config } = c.working();
      const { channel } = build(`nosecret-${type}`, config, {});
      const result = await channel.send(message(`contract-${type}-nosecret`));
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(result.detail).toMatch(new RegExp(`channel "nosecret-${type}" cannot be built: .*is not set`));

      const state = new SqliteStore(openSqlite(':memory:'));
      const policy = parsePolicy({
        channels: { [`nosecret-${type}`]: config },
        notify: { failure: [`nosecret-${type}`] },
      });
      const { channels, problems } = buildChannels(policy, {
        logger,
        env: {},
        statusPage: statusPagePublisher(windowStore, clock),
      });
      expect(problems).toEqual([expect.stringMatching(`channel "nosecret-${type}" cannot be built`)]);
      await new Notifier(policy, channels, state, clock, { attempts: 1, backoffMs: 0 }).notify(
        'failure',
        message(`contract-${type}-notifier`),
      );
      const [entry] = await state.listActivity({ kind: 'notify.failed' });
      expect(entry?.message).toMatch(
        new RegExp(`to nosecret-${type} failed: channel "nosecret-${type}" cannot be built`),
      );
      await state.close();
    },
  );
});
