// network.dns.propagation against knotd and three unbound resolvers in front of it: a zone reload
// reaches the resolvers as their cached TTLs run out, so propagation is visibly gradual.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../../src/network/dns/client.js';
import { DnsChangeStore } from '../../../src/network/dns/changes.js';
import { openSqlite } from '../../../src/store/sqlite/open.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { dnsPropagationTask } from '../../../src/tasks/network/dns-propagation.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { waitFor } from '../../helpers/wait.js';
import { startKnot, startUnbound, zoneFile, type RunningServer } from './servers.js';

const ZONE = 'prop.test';
const TTL = 3;
let dir: string;
let store: SqliteStore;
let knot: RunningServer;
const resolvers: Array<Awaited<ReturnType<typeof startUnbound>>> = [];
const addr = (s: { host: string; port: number }) => `${s.host}:${s.port}`;
let serial = 100;
const zoneAt = (value: string, extra: Array<{ name: string; type: string; value: string }> = []) =>
  zoneFile(ZONE, ++serial, [{ name: 'www', ttl: TTL, type: 'A', value }, ...extra], { soaTtl: 2 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-dns-prop-'));
  store = new SqliteStore(openSqlite(join(dir, 'state.sqlite')));
  knot = await startKnot(ZONE, zoneAt('192.0.2.10'));
  resolvers.push(...(await Promise.all([0, 1, 2].map(() => startUnbound(ZONE, knot)))));
}, 90_000);

afterAll(async () => {
  await Promise.all([knot?.stop(), ...resolvers.map((r) => r.stop())]);
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function context(dnsExtra: Record<string, unknown> = {}) {
  const policy = testPolicy({
    network: {
      dns: {
        timeout: '1 second',
        attempts: 1,
        resolvers: resolvers.map(addr),
        zones: [{ zone: ZONE, authoritative: [addr(knot)], records: [{ name: 'www', type: 'A' }] }],
        ...dnsExtra,
      },
    },
  } as never);
  return { ...testContext(policy, 'network.dns.propagation'), store };
}

async function round(dnsExtra: Record<string, unknown> = {}) {
  const ctx = context(dnsExtra);
  const result = await dnsPropagationTask.execute(ctx);
  return { result, validation: await dnsPropagationTask.validate(ctx, result), ctx };
}

describe('network.dns.propagation', () => {
  it('tracks a declared change from a third of the resolvers to all of them, TTL by TTL, and logs it when done', async () => {
    const changes = new DnsChangeStore(store.db);
    await round(); // the first look records the zone's serial
    // Resolvers 1 and 2 cache the old address, 1.5 s apart; resolver 3 has never been asked.
    await query(resolvers[0]!, `www.${ZONE}`, 'A', { timeoutMs: 2000, recursion: true });
    const firstCached = Date.now();
    await waitFor('1.5 s to pass', () => (Date.now() - firstCached >= 1500 ? true : undefined), 5000);
    await query(resolvers[1]!, `www.${ZONE}`, 'A', { timeoutMs: 2000, recursion: true });
    await knot.reload(zoneAt('192.0.2.20'));
    const change = changes.declare({
      zone: ZONE,
      name: `www.${ZONE}`,
      type: 'A',
      values: ['192.0.2.20'],
      serial: null,
      source: 'declared',
      declaredBy: 'Ops Person',
      declaredAt: new Date(),
    });

    const first = await round();
    const progress = first.result.progress.find((p) => p.change.id === change.id)!;
    expect(progress.atSource).toBe(true);
    expect(progress.change.percent).toBe(33.3);
    expect(progress.change.servedBy).toEqual([addr(resolvers[2]!)]);
    expect(progress.change.lagging.map((l) => l.resolver).sort()).toEqual(
      [addr(resolvers[0]!), addr(resolvers[1]!)].sort(),
    );
    expect(progress.change.lagging.every((l) => l.serving === '192.0.2.10' && l.ttl !== null && l.ttl <= TTL)).toBe(
      true,
    );
    // TTL-aware: due when the longest stale TTL runs out, no later than TTL seconds from now.
    const due = progress.change.expectedDoneAt!.getTime() - progress.change.checkedAt!.getTime();
    expect(due).toBeGreaterThan(0);
    expect(due).toBeLessThanOrEqual(TTL * 1000);
    expect(first.ctx.summaries.join('\n')).toMatch(
      /#\d+ www\.prop\.test A → 192\.0\.2\.20: 33\.3% \(1\/3 resolvers\), expected everywhere by/,
    );
    expect(first.ctx.figures[`dns.change.${change.id}.percent`]?.value).toBe(33.3);

    // Resolver 1's cache expires first: two thirds, then all.
    const seen = new Set<number>([33.3]);
    const last = await waitFor(
      'the change to reach every resolver',
      async () => {
        const r = await round();
        const p = r.result.progress.find((x) => x.change.id === change.id);
        if (!p) return undefined;
        seen.add(p.change.percent);
        return p.change.status === 'done' ? r : undefined;
      },
      20_000,
      150,
    );
    expect([...seen].sort()).toEqual([100, 33.3, 66.7]);
    expect(last.validation.ok).toBe(true);
    expect(changes.get(change.id)).toMatchObject({ status: 'done', percent: 100 });
    const logged = await store.listActivity({ kind: 'dns.change.done' });
    expect(logged.map((e) => e.message).join('\n')).toMatch(
      new RegExp(`DNS change #${change.id} \\(www\\.prop\\.test A → 192\\.0\\.2\\.20\\) is served by all 3 resolvers`),
    );
    expect(logged.find((e) => e.data?.changeId === change.id)?.actor).toBe('Ops Person');
    // A done change is no longer asked about.
    expect((await round()).result.progress.some((p) => p.change.id === change.id)).toBe(false);
  });

  it('detects a zone serial move at the authoritative server and tracks it until every resolver serves the new SOA', async () => {
    await round();
    await knot.reload(zoneAt('192.0.2.20', [{ name: 'new', type: 'A', value: '192.0.2.99' }]));
    const detected = await round();
    expect(detected.result.detected).toHaveLength(1);
    const id = detected.result.detected[0]!.id;
    expect(detected.result.detected[0]).toMatchObject({ source: 'serial', serial, zone: ZONE });
    let lastSeen = '';
    // The detecting round already asks the resolvers: those whose cached SOA (TTL 2 s) expired serve the new serial.
    const inFirst = detected.result.progress.find((x) => x.change.id === id)!;
    expect(inFirst.change.source).toBe('serial');
    const done =
      inFirst.change.status === 'done'
        ? inFirst
        : await waitFor(
            () => `the new serial at every resolver (last: ${lastSeen})`,
            async () => {
              const p = (await round()).result.progress.find((x) => x.change.id === id);
              lastSeen = JSON.stringify(p?.change.lagging);
              return p?.change.status === 'done' ? p : undefined;
            },
            20_000,
            200,
          );
    expect(done.change.servedBy).toHaveLength(3);
    const activity = await store.listActivity({ kind: 'dns.change.detected' });
    expect(activity.map((a) => a.message).join('\n')).toContain(`prop.test serial ${serial - 1} → ${serial}`);
  });

  it('fails after the timeout, naming every lagging resolver and what it serves', async () => {
    const changes = new DnsChangeStore(store.db);
    const change = changes.declare({
      zone: ZONE,
      name: `www.${ZONE}`,
      type: 'A',
      values: ['192.0.2.77'],
      serial: null,
      source: 'declared',
      declaredBy: 'Ops Person',
      declaredAt: new Date(Date.now() - 25 * 3_600_000),
    });
    const r = await round();
    const check = r.validation.checks.find((c) => c.name === `DNS change #${change.id}`)!;
    expect(r.validation.ok).toBe(false);
    for (const resolver of resolvers) expect(check.detail).toContain(`${addr(resolver)} (serves 192.0.2.20)`);
    expect(r.result.progress.find((p) => p.change.id === change.id)!.atSource).toBe(false);
    expect(changes.get(change.id)!.status).toBe('timed_out');
    const logged = await store.listActivity({ kind: 'dns.change.timed_out' });
    expect(logged.some((e) => e.message.includes(`#${change.id}`) && e.message.includes('after 24 hours'))).toBe(true);
  });
});
