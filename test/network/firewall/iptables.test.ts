// The review where nftables is not the tool: `iptables-save` read inside a namespace this test creates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirewallChanges } from '../../../src/network/firewall/changes.js';
import { openSqlite } from '../../../src/store/sqlite/open.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { firewallReviewTask } from '../../../src/tasks/network/firewall-review.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { createNamespace, type TestNamespace } from './netns.js';

let ns: TestNamespace;
let dir: string;
let store: SqliteStore;

const policy = () =>
  testPolicy({ network: { firewall: { netns: ns.name, backend: 'iptables', public_ports: [443] } } } as never);

async function review() {
  const ctx = { ...testContext(policy(), 'network.firewall.review'), store };
  const result = await firewallReviewTask.execute(ctx);
  return { result, validation: await firewallReviewTask.validate(ctx, result) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-ipt-'));
  store = new SqliteStore(openSqlite(join(dir, 'state.sqlite')));
  ns = await createNamespace();
  ns.run('iptables', ['-P', 'INPUT', 'DROP']);
  ns.run('iptables', ['-P', 'FORWARD', 'DROP']);
  ns.run('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  ns.run('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '443', '-j', 'ACCEPT']);
  ns.run('iptables', ['-A', 'INPUT', '-s', '10.0.0.0/8', '-p', 'tcp', '--dport', '5432', '-j', 'ACCEPT']);
}, 60_000);

afterAll(async () => {
  await ns?.remove();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('network.firewall.review with iptables-save', () => {
  it('diffs against the baseline and flags world-open and allow-all rules', async () => {
    const first = await review();
    expect(first.result.snapshot.backend).toBe('iptables');
    expect(first.result.snapshot.rules.filter((r) => r.chain === 'filter INPUT').map((r) => r.text)).toEqual([
      'policy DROP',
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-p tcp -m tcp --dport 443 -j ACCEPT',
      '-s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT',
    ]);
    expect(first.result.snapshot.flags.map((f) => [f.kind, f.ports, f.expected])).toEqual([
      ['world_open', ['443'], true],
    ]);
    await new FirewallChanges({
      db: store.db,
      policy: policy(),
      now: () => new Date(),
      activity: () => undefined,
    }).approveBaseline({
      name: 'Olga Ops',
      roles: ['Head of Operations'],
    });
    expect((await review()).validation.ok).toBe(true);

    ns.run('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    ns.run('iptables', ['-A', 'INPUT', '-j', 'ACCEPT']);
    ns.run('iptables', ['-P', 'FORWARD', 'ACCEPT']);
    const drift = await review();
    expect(drift.validation.ok).toBe(false);
    expect(drift.result.diff!.added.map((r) => `${r.chain}: ${r.text}`)).toEqual([
      'filter FORWARD: policy ACCEPT',
      'filter INPUT: -p tcp -m tcp --dport 22 -j ACCEPT',
      'filter INPUT: -j ACCEPT',
    ]);
    expect(drift.result.diff!.removed.map((r) => `${r.chain}: ${r.text}`)).toEqual(['filter FORWARD: policy DROP']);
    const flags = drift.validation.checks.find((c) => c.name === 'world-open and allow-all rules')!.detail;
    expect(flags).toContain('filter INPUT: "-p tcp -m tcp --dport 22 -j ACCEPT" opens port 22 to every source address');
    expect(flags).toContain('filter INPUT: "-j ACCEPT" accepts every packet that reaches it');
    expect(flags).toContain("filter FORWARD: the chain's policy is ACCEPT");
  });
});
