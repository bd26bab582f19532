import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisConnection } from '../../../src/adapters/redis.js';
import { cacheEvictionTask } from '../../../src/tasks/cache/eviction.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';
import { policyFrom, taskContext } from './task-context.js';

let redis: TestRedis;
let conn: RedisConnection;

beforeAll(async () => {
  redis = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
  conn = await connectRedis({ host: redis.host, port: redis.port });
});
afterAll(async () => {
  await conn?.close();
  await redis?.stop();
});

async function fill(prefix: string, count: number, value = 'x') {
  for (let i = 0; i < count; i += 100) {
    const args = ['MSET'];
    for (let j = i; j < Math.min(count, i + 100); j += 1) args.push(`${prefix}${j}`, value);
    await conn.command(args);
  }
}

async function count(pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const reply = (await conn.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
    cursor = String(reply[0]);
    n += reply[1].length;
  } while (cursor !== '0');
  return n;
}

const target = () => ({ host: redis.host, port: redis.port });

describe('cache.eviction against a real redis-server', () => {
  it('removes the least recently used evictable keys first and never touches other namespaces', async () => {
    await conn.command(['FLUSHALL']);
    await fill('session:', 50);
    await fill('cachet:', 20); // shares a prefix with "cache" but not with "cache:"
    await fill('cache:old:', 300);
    await new Promise((r) => setTimeout(r, 2200)); // Redis's LRU clock has 1 s resolution
    await fill('cache:new:', 300);
    const policy = policyFrom({
      targets: { redis: target() },
      cache: { eviction: { evictable_namespaces: ['cache:'], threshold: { keys: 370 }, batch_size: 50 } },
    });
    const run = taskContext(policy);
    const result = await cacheEvictionTask.execute(run.ctx);
    expect(result.acted).toBe(true);
    expect(result.keysFreed).toBe(300);
    expect(run.steps.filter((s) => s.name.startsWith('scan')).length).toBe(1);
    expect(result.bytesFreed).toBeGreaterThan(0);
    expect(await count('cache:old:*')).toBe(0);
    expect(await count('cache:new:*')).toBe(300);
    expect(await count('session:*')).toBe(50);
    expect(await count('cachet:*')).toBe(20);
    expect(run.figures['redis.keys_freed']).toEqual({ value: 300, unit: 'keys' });
    const validation = await cacheEvictionTask.validate(run.ctx, result);
    expect(validation.ok).toBe(true);
  });

  it('brings memory back under the % of maxmemory, says when the policy is noeviction, keeps other namespaces', async () => {
    await conn.command(['FLUSHALL']);
    await conn.command(['CONFIG', 'SET', 'maxmemory', '0']);
    await conn.command(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
    const value = 'v'.repeat(2000);
    await fill('keep:', 500, value);
    await fill('cache:', 2000, value);
    const used = Number((await conn.info('memory')).used_memory);
    await conn.command(['CONFIG', 'SET', 'maxmemory', String(Math.floor(used / 0.92))]);
    const policy = policyFrom({
      targets: { redis: target() },
      cache: { eviction: { evictable_namespaces: ['cache:'], batch_size: 100 } },
    });
    const run = taskContext(policy);
    const result = await cacheEvictionTask.execute(run.ctx);
    // One scan planned the whole memory-triggered eviction.
    expect(run.steps.filter((s) => s.name.startsWith('scan evictable namespaces')).map((s) => s.name)).toEqual([
      'scan evictable namespaces (pass 1)',
    ]);
    expect(run.summary.join('\n')).toMatch(/warning: eviction policy is noeviction/);
    expect(result.before.usedMemory / result.before.maxmemory).toBeGreaterThan(0.85);
    expect(result.after.usedMemory / result.after.maxmemory).toBeLessThanOrEqual(0.8);
    expect(result.keysFreed).toBeGreaterThan(0);
    expect(result.keysFreed).toBeLessThan(2000);
    expect(await count('keep:*')).toBe(500);
    expect((await cacheEvictionTask.validate(run.ctx, result)).ok).toBe(true);
    await conn.command(['CONFIG', 'SET', 'maxmemory', '0']);
  });

  it('measures maxmemory 0 against host memory and leaves everything when under', async () => {
    await conn.command(['FLUSHALL']);
    await conn.command(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
    await fill('cache:', 10);
    const policy = policyFrom({
      targets: { redis: target() },
      cache: { eviction: { evictable_namespaces: ['cache:'] } },
    });
    const run = taskContext(policy);
    const result = await cacheEvictionTask.execute(run.ctx);
    expect(result.acted).toBe(false);
    expect(run.summary.join('\n')).toMatch(/\(host memory\)/);
    expect(run.summary.join('\n')).toMatch(/maxmemory is 0/);
    expect(await count('cache:*')).toBe(10);
  });

  it('removes nothing when no namespace is evictable', async () => {
    await conn.command(['FLUSHALL']);
    await fill('session:', 30);
    const policy = policyFrom({ targets: { redis: target() }, cache: { eviction: { threshold: { keys: 10 } } } });
    const run = taskContext(policy);
    const result = await cacheEvictionTask.execute(run.ctx);
    expect(result.keysFreed).toBe(0);
    expect(await count('session:*')).toBe(30);
    expect((await cacheEvictionTask.validate(run.ctx, result)).ok).toBe(false);
  });

  it('falls back to one command per key when the ACL forbids scripts', async () => {
    await conn.command(['FLUSHALL']);
    await conn.command(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
    await conn.command(['ACL', 'SETUSER', 'evictor', 'on', '>evictor-pass', '~*', '+@all', '-eval', '-evalsha']);
    await fill('session:', 20);
    await fill('cache:old:', 40);
    // Redis's LRU clock ticks once a second: 2.2 s apart, the old keys are always idle longer.
    await new Promise((r) => setTimeout(r, 2200));
    await fill('cache:new:', 40);
    const policy = policyFrom({
      targets: { redis: { ...target(), username: 'evictor', password: { env: 'DRYDOCK_TEST_EVICTOR_PW' } } },
      cache: { eviction: { evictable_namespaces: ['cache:'], threshold: { keys: 60 }, batch_size: 10 } },
    });
    process.env.DRYDOCK_TEST_EVICTOR_PW = 'evictor-pass';
    try {
      const result = await cacheEvictionTask.execute(taskContext(policy).ctx);
      expect(result.keysFreed).toBe(40);
      expect(result.bytesFreed).toBeGreaterThan(0);
      expect(await count('cache:old:*')).toBe(0);
      expect(await count('cache:new:*')).toBe(40);
      expect(await count('session:*')).toBe(20);
    } finally {
      delete process.env.DRYDOCK_TEST_EVICTOR_PW;
    }
  });
});
