// network.dns.health_check against real servers: knotd and nsd serving the same zone with different
// serials and one different record, unbound resolvers in front of each, a knotd-signed zone whose
// RRSIGs expire in about a day, and a resolver that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/adapters/free-port.js';
import { dnsHealthTask } from '../../../src/tasks/network/dns-health.js';
import { testContext, testPolicy } from '../../helpers/context.js';
import { startKnot, startNsd, startUnbound, zoneFile, type RunningServer } from './servers.js';

const ZONE = 'dokkerr.test';
const SIGNED = 'signed.test';
const common = [
  { name: 'api', type: 'A', value: '192.0.2.30' },
  { name: '@', type: 'MX', value: '10 mail.dokkerr.test.' },
  { name: '@', type: 'TXT', value: '"v=spf1 -all"' },
];

let knot: RunningServer;
let nsd: RunningServer;
let signed: RunningServer;
const resolvers: Array<Awaited<ReturnType<typeof startUnbound>>> = [];
const addr = (s: { host: string; port: number }) => `${s.host}:${s.port}`;

beforeAll(async () => {
  [knot, nsd, signed] = await Promise.all([
    startKnot(ZONE, zoneFile(ZONE, 2026112901, [...common, { name: 'www', type: 'A', value: '192.0.2.10' }])),
    startNsd(ZONE, zoneFile(ZONE, 2026112905, [...common, { name: 'www', type: 'A', value: '192.0.2.20' }])),
    startKnot(SIGNED, zoneFile(SIGNED, 1, [{ name: 'www', type: 'A', value: '192.0.2.40' }]), {
      sign: { rrsigLifetime: '1d', refresh: '2h' },
    }),
  ]);
  resolvers.push(...(await Promise.all([startUnbound(ZONE, knot), startUnbound(ZONE, knot), startUnbound(ZONE, nsd)])));
}, 90_000);

afterAll(async () => {
  await Promise.all([knot?.stop(), nsd?.stop(), signed?.stop(), ...resolvers.map((r) => r.stop())]);
});

function policy(dns: Record<string, unknown>) {
  return testPolicy({ network: { dns: { timeout: '1 second', attempts: 1, ...dns } } });
}

describe('network.dns.health_check', () => {
  it('passes when every server serves the expected records, and records each server with its timing', async () => {
    const ctx = testContext(
      policy({
        resolvers: [addr(resolvers[0]!), addr(resolvers[1]!)],
        zones: [
          {
            zone: ZONE,
            authoritative: [addr(knot)],
            records: [
              { name: 'www', type: 'A', value: '192.0.2.10' },
              { name: '@', type: 'MX', value: '10 mail.dokkerr.test' },
              { name: '@', type: 'TXT', value: 'v=spf1 -all' },
              { name: 'api', type: 'A' },
            ],
          },
        ],
      }),
    );
    const result = await dnsHealthTask.execute(ctx);
    const validation = await dnsHealthTask.validate(ctx, result);
    expect(validation.checks.filter((c) => !c.ok)).toEqual([]);
    expect(validation.checks.map((c) => c.name)).toEqual([
      'dokkerr.test authoritative servers and SOA serial',
      'www.dokkerr.test A',
      'dokkerr.test MX',
      'dokkerr.test TXT',
      'api.dokkerr.test A',
    ]);
    const www = result.zones[0]!.records[0]!;
    expect(www.answers).toHaveLength(3);
    for (const a of www.answers) expect(a).toMatchObject({ ok: true, rcode: 'NOERROR', values: ['192.0.2.10'] });
    expect(www.answers[0]!.ms).toBeGreaterThan(0);
    expect(ctx.figures[`dns.answer_ms.${addr(knot)}`]?.value).toBeGreaterThan(0);
    expect(ctx.findStep('zone dokkerr.test')?.output).toContain(`auth ${addr(knot)}: NOERROR 192.0.2.10 in`);
  });

  it('warns about answers slower than slow_answer without failing the record', async () => {
    const ctx = testContext(
      policy({
        slow_answer: '0ms',
        resolvers: [addr(resolvers[0]!), addr(resolvers[1]!)],
        zones: [
          { zone: ZONE, authoritative: [addr(knot)], records: [{ name: 'api', type: 'A', value: '192.0.2.30' }] },
        ],
      }),
    );
    const result = await dnsHealthTask.execute(ctx);
    expect((await dnsHealthTask.validate(ctx, result)).ok).toBe(true);
    expect(result.zones[0]!.records[0]!.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^${addr(knot)} took [\\d.]+ ms to answer api\\.dokkerr\\.test A \\(slow: over 0ms\\)$`),
        ),
      ]),
    );
  });

  it('catches authoritative servers that disagree on the SOA serial and on a record set, naming both', async () => {
    const ctx = testContext(
      policy({
        resolvers: [addr(resolvers[0]!), addr(resolvers[1]!)],
        zones: [
          {
            zone: ZONE,
            authoritative: [addr(knot), addr(nsd)],
            records: [
              { name: 'www', type: 'A' },
              { name: 'api', type: 'A', value: '192.0.2.30' },
            ],
          },
        ],
      }),
    );
    const result = await dnsHealthTask.execute(ctx);
    const validation = await dnsHealthTask.validate(ctx, result);
    expect(validation.ok).toBe(false);
    const soa = validation.checks.find((c) => c.name.includes('SOA'))!;
    expect(soa.ok).toBe(false);
    expect(soa.detail).toContain(`${addr(knot)} has 2026112901, ${addr(nsd)} has 2026112905`);
    const www = validation.checks.find((c) => c.name === 'www.dokkerr.test A')!;
    expect(www.ok).toBe(false);
    expect(www.detail).toContain(`${addr(knot)} → 192.0.2.10; ${addr(nsd)} → 192.0.2.20`);
    expect(validation.checks.find((c) => c.name === 'api.dokkerr.test A')!.ok).toBe(true);
  });

  it('fails a record only when the quorum of resolvers agrees; one dissenting or dead resolver is a warning', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const panel = [addr(resolvers[0]!), addr(resolvers[1]!), addr(resolvers[2]!), dead];
    const run = async (value: string) => {
      const ctx = testContext(
        policy({
          resolvers: panel,
          quorum: 3,
          zones: [{ zone: ZONE, authoritative: [addr(knot)], records: [{ name: 'www', type: 'A', value }] }],
        }),
      );
      const result = await dnsHealthTask.execute(ctx);
      return { record: result.zones[0]!.records[0]!, validation: await dnsHealthTask.validate(ctx, result), ctx };
    };
    // Resolver 3 follows nsd (192.0.2.20) and the fourth is not there: 2 of 4 dissent, below the quorum of 3.
    const minority = await run('192.0.2.10');
    expect(minority.validation.ok).toBe(true);
    expect(minority.record.warnings.join('\n')).toMatch(/2 of 4 resolvers disagree, below the quorum of 3/);
    expect(minority.record.warnings.join('\n')).toContain(`DNS server ${dead} is unreachable over udp`);
    expect(minority.ctx.summaries.join('\n')).toContain('WARN www.dokkerr.test A');
    // Expecting nsd's value: knot (authoritative) and the two resolvers behind it (a quorum of 3 with the dead one) disagree.
    const majority = await run('192.0.2.20');
    expect(majority.validation.ok).toBe(false);
    const detail = majority.validation.checks.find((c) => c.name === 'www.dokkerr.test A')!.detail;
    expect(detail).toContain(`3 of 4 resolvers (quorum 3) see a problem with www.dokkerr.test A`);
    expect(detail).toContain(
      `${addr(resolvers[0]!)} (resolver) serves www.dokkerr.test A = 192.0.2.10, expected 192.0.2.20`,
    );
    expect(detail).toContain(`${addr(knot)} (authoritative) serves www.dokkerr.test A = 192.0.2.10`);
  });

  it('reads how long the RRSIGs of a signed zone have left and fails below the policy minimum', async () => {
    const zone = {
      zone: SIGNED,
      authoritative: [addr(signed)],
      dnssec: true,
      records: [{ name: 'www', type: 'A', value: '192.0.2.40' }],
    };
    const inFront = await Promise.all([startUnbound(SIGNED, signed), startUnbound(SIGNED, signed)]);
    resolvers.push(...inFront);
    const panel = inFront.map(addr);
    const loose = testContext(policy({ resolvers: panel, rrsig_min_validity: '12 hours', zones: [zone] }));
    const ok = await dnsHealthTask.execute(loose);
    const answer = ok.zones[0]!.records[0]!.answers[0]!;
    expect(answer.rrsigExpires).not.toBeNull();
    const hoursLeft = (answer.rrsigExpires!.getTime() - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(20);
    expect(hoursLeft).toBeLessThanOrEqual(24.1);
    expect((await dnsHealthTask.validate(loose, ok)).ok).toBe(true);
    expect(loose.figures['dns.www.signed.test.A.rrsig_hours_left']?.value).toBeGreaterThan(20);

    const strict = testContext(policy({ resolvers: panel, zones: [zone] }));
    const validation = await dnsHealthTask.validate(strict, await dnsHealthTask.execute(strict));
    const check = validation.checks.find((c) => c.name === 'www.signed.test A')!;
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(
      new RegExp(
        `${addr(signed)} \\(authoritative\\): the RRSIG over www.signed.test A expires at .* \\((2\\d|1\\d)\\.\\d h left\\), less than the 168 h required`,
      ),
    );
  });

  it('finds the authoritative servers from the NS records through the resolvers when none are listed', async () => {
    // The zone's NS records say ns1 = 127.0.0.1 and ns2 = 127.0.0.2; knot listens on one, nsd on the other, same port.
    const port = await freePort();
    const zone = 'ns.test';
    const records = [{ name: 'www', type: 'A', value: '192.0.2.50' }];
    const [a, b] = await Promise.all([
      startKnot(zone, zoneFile(zone, 7, records), { host: '127.0.0.1', port }),
      startNsd(zone, zoneFile(zone, 7, records), { host: '127.0.0.2', port }),
    ]);
    const r = await Promise.all([startUnbound(zone, a), startUnbound(zone, b)]);
    try {
      const ctx = testContext(
        policy({
          resolvers: r.map(addr),
          zones: [{ zone, authoritative_port: port, records: [{ name: 'www', type: 'A', value: '192.0.2.50' }] }],
        }),
      );
      const result = await dnsHealthTask.execute(ctx);
      expect(result.zones[0]!.authoritative.sort()).toEqual([
        `ns1.ns.test:${port} (127.0.0.1:${port})`,
        `ns2.ns.test:${port} (127.0.0.2:${port})`,
      ]);
      expect((await dnsHealthTask.validate(ctx, result)).ok).toBe(true);
    } finally {
      await Promise.all([a.stop(), b.stop(), ...r.map((x) => x.stop())]);
    }
  });
});
