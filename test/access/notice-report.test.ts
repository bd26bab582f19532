// A run's "notify stakeholders" step used to say "start notice sent to h1, h2" even when a delivery
// failed. It now names what was delivered and what failed, with why, from the real deliveries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/free-port.js';
import type { ImplementedTask } from '../../src/engine/types.js';
import { describeNoticeReport } from '../../src/notify/notifier.js';
import { schedule } from '../helpers/phrases.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { startHttp, type HttpPeer } from '../helpers/peers.js';

const task: ImplementedTask = {
  id: 'database.vacuum',
  title: 'stand-in',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: () => schedule('daily', '03:00 UTC'),
  resources: () => [],
  execute: async (ctx) => ctx.summary('done'),
  validate: async () => ({ ok: true, checks: [] }),
};

let peer: HttpPeer;
let app: TestApp;
beforeAll(async () => {
  peer = await startHttp((_req, res) => res.writeHead(200).end('ok'));
  const closed = await freePort();
  app = await testApp(
    {
      channels: {
        h1: { type: 'webhook', url: `${peer.url}/notify` },
        h2: { type: 'webhook', url: `http://127.0.0.1:${closed}/notify`, timeout: '2 seconds' },
      },
      notify: { start: ['h1', 'h2'] },
    },
    { tasks: [task] },
  );
});
afterAll(async () => {
  await app?.dispose();
  await peer?.close();
});

describe('the notify step of a run', () => {
  it('reports the delivered and the failed notices separately', async () => {
    const run = await app.engine.run('database.vacuum', { trigger: 'manual' });
    const step = (await app.store.listSteps(run.id)).find((s) => s.name === 'notify stakeholders')!;
    expect(step.output).toMatch(
      /^start notice delivered to h1; failed for h2: ECONNREFUSED reaching 127\.0\.0\.1:\d+$/,
    );
    expect(peer.requests).toHaveLength(1);
  });

  it('words every case', () => {
    expect(describeNoticeReport('start notice', { delivered: [], failed: [] })).toBe(
      'start notice: no channel configured',
    );
    expect(
      describeNoticeReport('start notice', { delivered: [], failed: [{ channel: 'mail', reason: 'timeout' }] }),
    ).toBe('start notice failed for mail: timeout');
  });
});
