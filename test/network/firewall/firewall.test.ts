// Firewall review and changes against real nftables inside a network namespace this test creates:
// every nft call (Drydock's and the setup's) runs in that namespace, never on the host.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { buildChannels } from '../../../src/notify/channels/registry.js';
import { statusPagePublisher } from '../../../src/notify/channels/status-page.js';
import { WindowStore } from '../../../src/store/sqlite/windows.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarOf } from '../../../src/windows/calendar.js';
import { gateDecision } from '../../../src/windows/gate.js';
import { applyRuleset, reachable } from '../../../src/network/firewall/apply.js';
import { FirewallChanges } from '../../../src/network/firewall/changes.js';
import { openSqlite } from '../../../src/store/sqlite/open.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { firewallReviewTask } from '../../../src/tasks/network/firewall-review.js';
import { firewallUpdatesTask } from '../../../src/tasks/network/firewall-updates.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { createNamespace, type TestNamespace } from './netns.js';

const base = (extra = '') => `flush ruleset
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    tcp dport 8080 accept
    tcp dport 9090 accept
    ip saddr 10.0.0.0/8 tcp dport 22 accept
${extra}  }
  chain forward { type filter hook forward priority 0; policy drop; }
}
`;

let ns: TestNamespace;
let hook: Server;
let hookPort = 0;
const received: Array<{ subject?: string; text?: string }> = [];
let dir: string;
let store: SqliteStore;
const people = {
  ops: { name: 'Olga Ops', roles: ['Head of Operations'] },
  cto: { name: 'Carl CTO', roles: ['CTO'] },
  dev: { name: 'Dana Dev', roles: ['Engineer'] },
};

function policy() {
  return testPolicy({
    network: {
      firewall: {
        netns: ns.name,
        public_ports: [8080, 9090],
        connect_timeout: '1 second',
        services: [
          { name: 'web', host: '127.0.0.1', port: 8080 },
          { name: 'api', host: '127.0.0.1', port: 9090 },
        ],
      },
    },
    maintenance_windows: { blackout: { periods: [] } },
    channels: { ops_hook: { type: 'webhook', url: `http://127.0.0.1:${hookPort}/hook`, format: 'json' } },
    stakeholders: [
      { name: 'Olga Ops', roles: ['Head of Operations'], channels: ['ops_hook'] },
      { name: 'Carl CTO', roles: ['CTO'] },
      { name: 'Dana Dev', roles: ['Engineer'] },
    ],
  });
}

function changes() {
  const p = policy();
  const { channels } = buildChannels(p, {
    logger: pino({ level: 'silent' }),
    env: process.env,
    statusPage: statusPagePublisher(new WindowStore(store.db), { now: () => new Date() }),
  });
  return new FirewallChanges({
    db: store.db,
    policy: p,
    now: () => new Date(),
    activity: (entry) => store.logActivity(entry),
    channels,
  });
}

async function review() {
  const ctx = { ...testContext(policy(), 'network.firewall.review'), store };
  const result = await firewallReviewTask.execute(ctx);
  return { result, validation: await firewallReviewTask.validate(ctx, result), ctx };
}

const rulesNow = () => ns.run('nft', ['list', 'ruleset']).replace(/packets \d+ bytes \d+/g, '');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-fw-'));
  store = new SqliteStore(openSqlite(join(dir, 'state.sqlite')));
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as { subject?: string; text?: string });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookPort = (hook.address() as { port: number }).port;
  ns = await createNamespace();
  ns.run('nft', ['-f', '-'], base());
  await ns.serve(8080);
  await ns.serve(9090);
}, 60_000);

afterAll(async () => {
  await new Promise((r) => hook?.close(r));
  await ns?.remove();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('network.firewall.review', () => {
  it('asks for a baseline first, then reports unchanged, then every added and removed rule with world-open and allow-all flags', async () => {
    const first = await review();
    expect(first.validation.checks[0]).toMatchObject({ name: 'baseline', ok: false });
    expect(first.validation.checks[0]!.detail).toContain('drydock firewall baseline');
    expect(first.result.snapshot.backend).toBe('nftables');
    expect(first.result.snapshot.rules.map((r) => `${r.chain}: ${r.text}`)).toEqual([
      'inet filter input: policy drop (hook input)',
      'inet filter forward: policy drop (hook forward)',
      'inet filter input: ct state established,related accept',
      'inet filter input: tcp dport 8080 accept',
      'inet filter input: tcp dport 9090 accept',
      'inet filter input: ip saddr 10.0.0.0/8 tcp dport 22 accept',
    ]);
    // 8080 and 9090 are open to the world on purpose (public_ports); the 22 rule is limited to 10/8.
    expect(first.result.snapshot.flags.map((f) => [f.ports, f.expected])).toEqual([
      [['8080'], true],
      [['9090'], true],
    ]);

    await changes().approveBaseline(people.ops);
    const same = await review();
    expect(same.validation.ok).toBe(true);
    expect(same.ctx.summaries[0]).toMatch(/^unchanged since baseline #1 \(6 rules\)/);

    // Someone edits the live ruleset by hand: opens SSH to the world, accepts everything, drops the 10/8 rule.
    const handle = /ip saddr 10\.0\.0\.0\/8 tcp dport 22 accept # handle (\d+)/.exec(
      ns.run('nft', ['-a', 'list', 'ruleset']),
    )![1]!;
    ns.run('nft', ['delete', 'rule', 'inet', 'filter', 'input', 'handle', handle]);
    ns.run('nft', ['add', 'rule', 'inet', 'filter', 'input', 'tcp', 'dport', '22', 'accept']);
    ns.run('nft', ['add', 'rule', 'inet', 'filter', 'input', 'counter', 'accept']);
    ns.run('nft', [
      'add',
      'rule',
      'inet',
      'filter',
      'input',
      'ip',
      'saddr',
      '192.0.2.0/24',
      'tcp',
      'dport',
      '5432',
      'accept',
    ]);
    const drift = await review();
    expect(drift.validation.ok).toBe(false);
    expect(drift.result.diff!.added.map((r) => r.text)).toEqual([
      'tcp dport 22 accept',
      'counter accept',
      'ip saddr 192.0.2.0/24 tcp dport 5432 accept',
    ]);
    expect(drift.result.diff!.removed.map((r) => r.text)).toEqual(['ip saddr 10.0.0.0/8 tcp dport 22 accept']);
    const baseline = drift.validation.checks.find((c) => c.name === 'baseline')!.detail;
    expect(baseline).toContain('added inet filter input: tcp dport 22 accept');
    expect(baseline).toContain('removed inet filter input: ip saddr 10.0.0.0/8 tcp dport 22 accept');
    const flags = drift.validation.checks.find((c) => c.name === 'world-open and allow-all rules')!;
    expect(flags.ok).toBe(false);
    expect(flags.detail).toContain('inet filter input: "tcp dport 22 accept" opens port 22 to every source address');
    expect(flags.detail).toContain('inet filter input: "counter accept" accepts every packet that reaches it');
    expect(flags.detail).not.toContain('5432');
    expect(drift.ctx.summaries.join('\n')).toContain('3 rules added and 1 removed since baseline #1');
    ns.run('nft', ['-f', '-'], base());
  });
});

describe('firewall changes', () => {
  it('needs the approval of another person with the right role, applies atomically, keeps services reachable, then becomes the baseline', async () => {
    const fw = changes();
    const ruleset = base('    tcp dport 443 accept\n');
    const change = await fw.request({ kind: 'planned', title: 'open 443', ruleset, person: people.dev });
    expect(change.status).toBe('pending_approval');
    // The Head of Operations is asked through their channel, with the script and how to approve.
    const ask = JSON.stringify(received.find((m) => JSON.stringify(m).includes(`firewall change #${change.id}`)));
    expect(ask).toContain(`Approval needed: planned firewall change #${change.id} \\"open 443\\"`);
    expect(ask).toContain('tcp dport 443 accept');
    expect(ask).toContain(`drydock firewall approve ${change.id}`);
    await expect(fw.apply(change.id, 'test')).rejects.toThrow(/pending approval, not approved/);
    await expect(fw.decide(change.id, people.cto, 'approved')).rejects.toThrow(
      /does not hold a role that can approve firewall change/,
    );
    const selfRequested = await fw.request({ kind: 'planned', title: 'mine', ruleset, person: people.ops });
    await expect(fw.decide(selfRequested.id, people.ops, 'approved')).rejects.toThrow(
      /cannot approve or refuse their own request/,
    );
    await fw.decide(selfRequested.id, people.cto, 'refused').catch(() => undefined);
    expect((await fw.decide(change.id, people.ops, 'approved')).status).toBe('approved');

    // Planned changes are applied by network.firewall.updates, a disruptive task: outside a window it waits.
    const gate = gateDecision(
      firewallUpdatesTask,
      new Date('2026-12-02T12:00:00Z'),
      policy(),
      calendarOf(policy(), []),
    );
    expect(gate.decision).not.toBe('run');
    const ctx = { ...testContext(policy(), 'network.firewall.updates'), store };
    const applied = await firewallUpdatesTask.execute(ctx);
    expect(applied.map((c) => [c.id, c.status])).toEqual([[change.id, 'applied']]);
    expect((await firewallUpdatesTask.validate(ctx, applied)).ok).toBe(true);
    expect(rulesNow()).toContain('tcp dport 443 accept');
    expect(ctx.findStep(`change #${change.id}`)!.output).toContain('web (127.0.0.1:8080): reachable');

    const before = await review();
    expect(before.result.diff!.added.map((r) => r.text)).toEqual(['tcp dport 443 accept']);
    await fw.approveBaseline(people.ops, { changeId: change.id });
    expect(fw.store.getChange(change.id)!.status).toBe('accepted');
    expect((await review()).validation.checks[0]).toMatchObject({ ok: true });
    const log = await store.listActivity({ kind: 'firewall.baseline.approved' });
    expect(log[0]!.message).toContain(`firewall change #${change.id} "open 443"`);
  });

  it('rolls back to the previous ruleset when a service cannot be reached afterwards', async () => {
    const fw = changes();
    const previous = rulesNow();
    // An emergency change that forgets the web service's rule; it needs the CTO and the Head of Operations.
    const broken = base().replace('    tcp dport 8080 accept\n', '');
    const change = await fw.request({ kind: 'emergency', title: 'tighten input', ruleset: broken, person: people.dev });
    expect((await fw.decide(change.id, people.ops, 'approved')).status).toBe('pending_approval');
    expect((await fw.decide(change.id, people.cto, 'approved')).status).toBe('approved');
    const result = await fw.apply(change.id, people.ops.name);
    expect(result.status).toBe('rolled_back');
    expect(result.result!.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^web \(127\.0\.0\.1:8080\): NOT reachable/),
        'api (127.0.0.1:9090): reachable',
        'rolling back: web (127.0.0.1:8080) cannot be reached',
        'after the rollback every service is reachable again',
      ]),
    );
    expect(rulesNow()).toBe(previous);
    // The requester and the approvers with a channel (the Head of Operations) hear the outcome.
    expect(JSON.stringify(received)).toContain(`Firewall change #${change.id} \\"tighten input\\": rolled back`);
    expect((await reachable(policy().network.firewall, { host: '127.0.0.1', port: 8080 })).ok).toBe(true);
    const log = await store.listActivity({ kind: 'firewall.change.rolled_back' });
    expect(log[0]!.message).toContain('web (127.0.0.1:8080) could not be reached after it');
  });

  it('after a crash between nft -f and the service checks, restores the saved ruleset and records a rollback', async () => {
    const fw = changes();
    const previous = rulesNow();
    const change = await fw.request({
      kind: 'planned',
      title: 'crashed',
      ruleset: base('    tcp dport 6000 accept\n'),
      person: people.dev,
    });
    await fw.decide(change.id, people.ops, 'approved');
    // What a run killed right after `nft -f` leaves: the change marked applying with the saved ruleset, the new one in force.
    fw.store.update(change.id, {
      status: 'applying',
      previous: ns.run('nft', ['list', 'ruleset']),
      appliedAt: new Date(),
    });
    ns.run('nft', ['-f', '-'], change.ruleset);
    expect(rulesNow()).toContain('tcp dport 6000 accept');
    const ctx = { ...testContext(policy(), 'network.firewall.updates'), store };
    const lines = await firewallUpdatesTask.recoverInterrupted!(ctx);
    expect(lines.join('\n')).toContain(`firewall change #${change.id} was interrupted while being applied`);
    expect(rulesNow()).toBe(previous);
    expect(fw.store.getChange(change.id)).toMatchObject({ status: 'rolled_back' });
    expect(fw.store.getChange(change.id)!.result!.lines).toContain('every service is reachable');
  });

  it('refuses a ruleset that does not parse, and never applies half of one', async () => {
    const fw = changes();
    const previous = rulesNow();
    const garbled = `${base('    tcp dport 7000 accept\n')}table inet broken {\n  chain x {\n    tcp dport nonsense accept\n  }\n}\n`;
    await expect(
      fw.request({ kind: 'planned', title: 'garbled', ruleset: garbled, person: people.dev }),
    ).rejects.toMatchObject({
      code: 'FIREWALL_INVALID',
      message: 'the ruleset of "garbled" does not parse; nothing was recorded or applied',
    });
    expect(fw.store.listChanges().some((c) => c.title === 'garbled')).toBe(false);
    // Even handed straight to the apply step, the valid first half (flush + port 7000) is not applied.
    const outcome = await applyRuleset(policy().network.firewall, garbled);
    expect(outcome.status).toBe('failed');
    expect(outcome.lines.join('\n')).toMatch(/nft -c refused the ruleset, nothing was applied: .*nonsense/s);
    expect(rulesNow()).toBe(previous);
  });
});
