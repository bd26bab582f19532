import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { freePort } from '../../../src/adapters/free-port.js';
import { query, recordSet, signatures, soaSerial } from '../../../src/network/dns/client.js';
import { startKnot, startNsd, startUnbound, zoneFile, type RunningServer } from './servers.js';

const ZONE = 'example.test';
const bigTxt = Array.from({ length: 12 }, (_, i) => ({
  name: 'big',
  type: 'TXT',
  value: `"${String(i).padStart(2, '0')}${'x'.repeat(200)}"`,
}));
const records = [{ name: 'www', type: 'A', value: '192.0.2.10' }, ...bigTxt];

let knot: RunningServer;
let nsd: RunningServer;
let unbound: Awaited<ReturnType<typeof startUnbound>>;

beforeAll(async () => {
  [knot, nsd] = await Promise.all([
    startKnot(ZONE, zoneFile(ZONE, 2026112901, records)),
    startNsd(ZONE, zoneFile(ZONE, 2026112902, records)),
  ]);
  unbound = await startUnbound(ZONE, knot);
}, 60_000);
afterAll(async () => {
  await Promise.all([knot?.stop(), nsd?.stop(), unbound?.stop()]);
});

describe('DNS client against knotd, nsd and unbound', () => {
  it('asks each server over UDP and reads the answer code, the AA flag, the records and the SOA serial', async () => {
    const fromKnot = await query(knot, `www.${ZONE}`, 'A', { timeoutMs: 3000 });
    expect(fromKnot).toMatchObject({ rcode: 'NOERROR', authoritative: true, transport: 'udp' });
    expect(recordSet(fromKnot, 'A')).toEqual(['192.0.2.10']);
    const soaKnot = soaSerial(await query(knot, ZONE, 'SOA', { timeoutMs: 3000 }));
    const soaNsd = soaSerial(await query(nsd, ZONE, 'SOA', { timeoutMs: 3000 }));
    expect([soaKnot, soaNsd]).toEqual([2026112901, 2026112902]);
    const viaResolver = await query(unbound, `www.${ZONE}`, 'A', { timeoutMs: 3000, recursion: true });
    expect(viaResolver.authoritative).toBe(false);
    expect(recordSet(viaResolver, 'A')).toEqual(['192.0.2.10']);
    const missing = await query(nsd, `nope.${ZONE}`, 'A', { timeoutMs: 3000 });
    expect(missing.rcode).toBe('NXDOMAIN');
    expect(signatures(fromKnot, 'A')).toEqual([]);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    for (const server of [knot, nsd]) {
      const reply = await query(server, `big.${ZONE}`, 'TXT', { timeoutMs: 3000, udpSize: 0 });
      expect(reply.transport).toBe('tcp');
      expect(recordSet(reply, 'TXT')).toHaveLength(12);
    }
  });

  it('names the server when it is unreachable, silent or answers garbage', async () => {
    const closed = { name: 'closed', host: '127.0.0.1', port: await freePort() };
    await expect(query(closed, ZONE, 'SOA', { timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'TARGET_UNREACHABLE',
      message: expect.stringContaining(`127.0.0.1:${closed.port}`),
    });
    const silent: Socket = createSocket('udp4');
    const garbage: Socket = createSocket('udp4');
    garbage.on('message', (_m, rinfo) => garbage.send(Buffer.from('not dns at all'), rinfo.port, rinfo.address));
    await Promise.all([
      new Promise<void>((r) => silent.bind(0, '127.0.0.1', r)),
      new Promise<void>((r) => garbage.bind(0, '127.0.0.1', r)),
    ]);
    try {
      const silentServer = { name: 'silent', host: '127.0.0.1', port: silent.address().port };
      await expect(query(silentServer, ZONE, 'SOA', { timeoutMs: 300, attempts: 2 })).rejects.toMatchObject({
        code: 'DNS_TIMEOUT',
        message: expect.stringMatching(
          /silent \(127\.0\.0\.1:\d+\) did not answer example\.test SOA over udp \(2 attempts\) within 300 ms/,
        ),
      });
      const garbageServer = { name: 'garbage', host: '127.0.0.1', port: garbage.address().port };
      await expect(query(garbageServer, ZONE, 'SOA', { timeoutMs: 2000 })).rejects.toMatchObject({
        code: 'DNS_MALFORMED',
        message: expect.stringContaining('garbage (127.0.0.1:'),
      });
    } finally {
      silent.close();
      garbage.close();
    }
  });
});
