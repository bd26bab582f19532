import { describe, expect, it } from 'vitest';
import {
  StalenessPool,
  evictionNeed,
  evictionPolicyAdvice,
  isEvictable,
  namespacePattern,
} from '../../../src/tasks/cache/eviction-plan.js';

const GiB = 1024 ** 3;

describe('evictionNeed', () => {
  it('measures against maxmemory when set', () => {
    const need = evictionNeed(
      { usedMemory: 900, maxmemory: 1000, systemMemory: 16 * GiB, keys: 10 },
      { memoryPercent: 80, maxKeys: 100 },
    );
    expect(need.measuredAgainst).toBe('maxmemory');
    expect(need.usedPercent).toBe(90);
    expect(need.memoryOver).toBe(true);
    expect(need.bytesToFree).toBe(100);
    expect(need.keysOver).toBe(false);
  });
  it('measures maxmemory 0 against host memory, never 0% or infinitely full', () => {
    const need = evictionNeed(
      { usedMemory: 2 * GiB, maxmemory: 0, systemMemory: 8 * GiB, keys: 0 },
      { memoryPercent: 80, maxKeys: 100 },
    );
    expect(need.measuredAgainst).toBe('host memory');
    expect(need.usedPercent).toBe(25);
    expect(need.memoryOver).toBe(false);
  });
  it('counts keys to remove over the key threshold', () => {
    const need = evictionNeed(
      { usedMemory: 1, maxmemory: 1000, systemMemory: GiB, keys: 1_000_500 },
      { memoryPercent: 80, maxKeys: 1_000_000 },
    );
    expect(need.keysOver).toBe(true);
    expect(need.keysToFree).toBe(500);
  });
});

describe('evictionPolicyAdvice', () => {
  it('says so when the policy is noeviction', () => {
    const advice = evictionPolicyAdvice('noeviction', 1000);
    expect(advice.ok).toBe(false);
    expect(advice.message).toContain('noeviction');
  });
  it('uses OBJECT FREQ under an LFU policy', () => {
    expect(evictionPolicyAdvice('allkeys-lfu', 1000).order).toBe('freq');
    expect(evictionPolicyAdvice('allkeys-lru', 1000)).toMatchObject({ ok: true, order: 'idletime' });
  });
  it('warns that a policy without maxmemory never evicts', () => {
    expect(evictionPolicyAdvice('allkeys-lru', 0).ok).toBe(false);
  });
});

describe('namespaces', () => {
  it('matches by prefix only', () => {
    expect(isEvictable('cache:a', ['cache:'])).toBe(true);
    expect(isEvictable('cachet:a', ['cache:'])).toBe(false);
    expect(isEvictable('session:a', ['cache:', 'tmp:'])).toBe(false);
    expect(isEvictable('anything', [''])).toBe(false);
  });
  it('escapes glob characters in SCAN patterns', () => {
    expect(namespacePattern('a*b?[c]:')).toBe('a\\*b\\?\\[c\\]:*');
  });
});

describe('StalenessPool', () => {
  it('keeps the stalest keys, stalest first', () => {
    const pool = new StalenessPool(3);
    for (let i = 0; i < 100; i += 1) pool.add({ key: `k${i}`, staleness: i % 37 });
    expect(pool.take().map((c) => c.staleness)).toEqual([36, 36, 35]);
  });
});

describe('one instant for idle times, one scan for the plan', () => {
  it('compares keys by last access, not by idle times read at different moments of a long scan', async () => {
    const { stalenessOf } = await import('../../../src/tasks/cache/eviction.js');
    // cache:a read at t=0 s idle 10 s (last used at -10 s); page:b read 5 s later idle 12 s (last used at -7 s).
    const a = stalenessOf('idletime', 10, 0);
    const b = stalenessOf('idletime', 12, 5_000);
    expect(a).toBeGreaterThan(b);
    // Under LFU the counter decides, whenever it was read.
    expect(stalenessOf('freq', 3, 0)).toBeGreaterThan(stalenessOf('freq', 9, 5_000));
  });

  it('sizes one scan for the whole eviction, by keys or by bytes over the average key', async () => {
    const { planSize } = await import('../../../src/tasks/cache/eviction.js');
    expect(planSize({ keysToFree: 100_000, bytesToFree: 0 }, { usedMemory: 1e9, keys: 1_100_000 }, 200)).toBe(100_200);
    // 50 MB to free at ~1 kB a key: 50,000 keys, a quarter more, and a batch.
    expect(
      planSize({ keysToFree: 0, bytesToFree: 50_000_000 }, { usedMemory: 1_000_000_000, keys: 1_000_000 }, 200),
    ).toBe(62_700);
  });
});
