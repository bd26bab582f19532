// Pure pieces of the Redis backup: protocol parsing, the diskless EOF mark across any split, INFO
// keyspace, the key-count verdict and the retention decision.
import { describe, expect, it } from 'vitest';
import { EofMarkScanner, encodeCommand, parseFullResync, parsePayloadHeader } from '../../../src/backup/redis/psync.js';
import { compareKeyCounts } from '../../../src/backup/redis/key-counts.js';
import { parseKeyspace, rdbVersionOf } from '../../../src/backup/redis/rdb-store.js';
import { planAgeRetention } from '../../../src/backup/files/age-retention.js';

describe('replication protocol parsing', () => {
  it('reads both payload header forms and rejects anything else', () => {
    expect(parsePayloadHeader('$1234')).toEqual({ transfer: 'disk', length: 1234 });
    const mark = 'a'.repeat(40);
    const h = parsePayloadHeader(`$EOF:${mark}`);
    expect(h.transfer).toBe('diskless');
    expect(h.transfer === 'diskless' && h.mark.toString()).toBe(mark);
    expect(() => parsePayloadHeader('$EOF:short')).toThrow(/40/);
    expect(() => parsePayloadHeader('+OK')).toThrow(/payload header/);
  });

  it('reads +FULLRESYNC', () => {
    expect(parseFullResync('+FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 2038')).toEqual({
      replid: '8de1787ba490483314a4d30f1c628bc5025eb761',
      offset: 2038,
    });
    expect(parseFullResync('+CONTINUE')).toBeNull();
  });

  it('encodes commands as RESP arrays, bytes verbatim', () => {
    expect(encodeCommand(['AUTH', 'p a\r\nss']).toString()).toBe('*2\r\n$4\r\nAUTH\r\n$7\r\np a\r\nss\r\n');
  });

  it('finds the diskless EOF mark however the stream is cut, never passing it on as data', () => {
    const mark = Buffer.from('5f0c7e3a9b1d24e86a0f3c5b7d9e1a2c4b6d8f0e');
    const payload = Buffer.from('REDIS0010' + 'x'.repeat(200) + '5f0c7e3a9b1d24e86a'); // holds a prefix of the mark
    const stream = Buffer.concat([payload, mark, Buffer.from('*1\r\n$4\r\nPING\r\n')]);
    for (const size of [1, 3, 7, 39, 40, 41, 64, stream.length]) {
      const scanner = new EofMarkScanner(mark);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length && !scanner.done; i += size)
        out.push(scanner.push(stream.subarray(i, i + size)));
      expect(scanner.done).toBe(true);
      expect(Buffer.concat(out).equals(payload)).toBe(true);
    }
  });

  it('recognises an RDB header', () => {
    expect(rdbVersionOf(Buffer.from('REDIS0010\xfa', 'latin1'))).toBe(10);
    expect(() => rdbVersionOf(Buffer.from('-ERR oops'))).toThrow(/RDB header/);
  });
});

describe('key counts', () => {
  it('parses INFO keyspace', () => {
    expect(
      parseKeyspace({ db0: 'keys=3,expires=1,avg_ttl=100', db12: 'keys=7,expires=0,avg_ttl=0', used_memory: '1' }),
    ).toEqual({
      '0': { keys: 3, expires: 1 },
      '12': { keys: 7, expires: 0 },
    });
  });

  it('is exact when nothing changed and no key has a TTL', () => {
    const ks = { '0': { keys: 10, expires: 0 } };
    expect(compareKeyCounts(ks, ks, { '0': { keys: 10, expires: 0 } })[0]).toMatchObject({
      ok: true,
      min: 10,
      max: 10,
    });
    expect(compareKeyCounts(ks, ks, { '0': { keys: 9, expires: 0 } })[0]!.ok).toBe(false);
    expect(compareKeyCounts(ks, ks, {})[0]).toMatchObject({ ok: false, restored: 0 });
  });

  it('allows keys with a TTL to have expired, and a count between before and after', () => {
    const before = { '0': { keys: 10, expires: 4 } };
    const after = { '0': { keys: 12, expires: 4 } };
    expect(compareKeyCounts(before, after, { '0': { keys: 6, expires: 0 } })[0]).toMatchObject({
      ok: true,
      min: 6,
      max: 12,
    });
    expect(compareKeyCounts(before, after, { '0': { keys: 5, expires: 0 } })[0]!.ok).toBe(false);
    expect(compareKeyCounts(before, after, { '0': { keys: 13, expires: 0 } })[0]!.ok).toBe(false);
  });

  it('flags a database that appears only in the restore', () => {
    expect(compareKeyCounts({}, {}, { '3': { keys: 1, expires: 0 } })[0]).toMatchObject({ db: '3', ok: false });
  });
});

describe('age retention', () => {
  const now = new Date('2026-11-27T02:00:00Z');
  const day = 86_400_000;
  it('expires what is past retention and keeps the rest', () => {
    const items = [0, 3, 8, 10].map((d) => ({ id: `b${d}`, at: new Date(now.getTime() - d * day).toISOString() }));
    expect(planAgeRetention(items, now, 7 * day)).toEqual({ keep: ['b3', 'b0'], expire: ['b10', 'b8'] });
  });
  it('always keeps the newest, however old', () => {
    const items = [
      { id: 'old', at: '2020-01-01T00:00:00Z' },
      { id: 'older', at: '2019-01-01T00:00:00Z' },
    ];
    expect(planAgeRetention(items, now, 7 * day)).toEqual({ keep: ['old'], expire: ['older'] });
  });
});
