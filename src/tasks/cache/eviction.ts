// cache.eviction (hourly): when Redis passes the memory or key threshold, remove keys from the
// namespaces the policy marks evictable, stalest first (Redis's own OBJECT IDLETIME, or OBJECT
// FREQ under an LFU policy), found with SCAN and removed with UNLINK in small batches so Redis is
// never blocked, until it is back under the threshold. Other namespaces are never touched.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { connectRedis, type RedisConnection } from '../../adapters/redis.js';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import type { Policy } from '../../policy/schema.js';
import { toSchedule } from '../../schedule/frequency.js';
import {
  StalenessPool,
  evictionNeed,
  evictionPolicyAdvice,
  isEvictable,
  namespacePattern,
  type EvictionThresholds,
} from './eviction-plan.js';
import { readRedisState, type RedisState } from './redis-state.js';
import { DrydockError } from '../../errors.js';

export interface EvictionResult {
  target: string;
  before: RedisState;
  after: RedisState;
  acted: boolean;
  keysFreed: number;
  bytesFreed: number;
  policyMessage: string;
  /** The first removed keys, for the run record. */
  removedSample: string[];
}

/**
 * One scan plans the whole eviction; a second (and a third) only when keys or memory grew while the
 * first plan was carried out. Never the old rescan per 10,000 keys.
 */
const MAX_PASSES = 3;
const SAMPLE = 50;

function thresholds(policy: Policy): EvictionThresholds {
  const t = policy.cache.eviction.threshold;
  return { memoryPercent: t.memory.percent, maxKeys: t.keys };
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

function describeState(state: RedisState, t: EvictionThresholds): string {
  const need = evictionNeed(state, t);
  return `memory ${mib(state.usedMemory)} of ${mib(need.limitBytes)} (${need.measuredAgainst}) = ${need.usedPercent.toFixed(1)}% (threshold ${t.memoryPercent}%), keys ${state.keys} (threshold ${t.maxKeys})`;
}

async function waitForLazyFree(conn: RedisConnection): Promise<RedisState> {
  // Only at the end of a plan: UNLINK frees large values in the background, and the validation
  // that follows must see memory as it is.
  let state = await readRedisState(conn);
  for (let i = 0; i < 20 && state.lazyfreePending > 0; i += 1) {
    await new Promise((r) => setTimeout(r, 25));
    state = await readRedisState(conn);
  }
  return state;
}

// One short script per batch instead of one command per key: a batch of 200 keys costs Redis a
// few hundred microseconds, and Drydock one round trip. Falls back to one command per key when
// scripting is not allowed (ACL, disabled EVAL).
// The first element is Redis's own clock (ms) when the batch was measured, so idle times read
// seconds apart during a long scan can be turned into one comparable "last access" instant.
const MEASURE_SCRIPT = `local t = redis.call('TIME')
local out = { tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) }
for i, key in ipairs(KEYS) do
  local ok, v = pcall(redis.call, 'OBJECT', ARGV[1], key)
  if ok and v then out[i + 1] = v else out[i + 1] = -1 end
end
return out`;
const UNLINK_SCRIPT = `local bytes = 0
for _, key in ipairs(KEYS) do
  local ok, m = pcall(redis.call, 'MEMORY', 'USAGE', key)
  if ok and m then bytes = bytes + m end
end
return {redis.call('UNLINK', unpack(KEYS)), bytes}`;
const scripting = new WeakMap<RedisConnection, boolean>();

/** OBJECT IDLETIME (or FREQ) of each key, and the instant (ms) they were read at. */
async function measureKeys(
  conn: RedisConnection,
  keys: string[],
  order: 'idletime' | 'freq',
): Promise<{ at: number; values: Array<number | null> }> {
  if (keys.length === 0) return { at: Date.now(), values: [] };
  const sub = order === 'freq' ? 'FREQ' : 'IDLETIME';
  if (scripting.get(conn) !== false) {
    try {
      const reply = (await conn.command(['EVAL', MEASURE_SCRIPT, String(keys.length), ...keys, sub])) as number[];
      scripting.set(conn, true);
      return { at: Number(reply[0]), values: reply.slice(1).map((v) => (Number(v) < 0 ? null : Number(v))) };
    } catch {
      scripting.set(conn, false);
    }
  }
  // node-redis pipelines concurrent commands on one connection; the client's clock stands in for
  // Redis's (the pipeline takes milliseconds, the idle times have a resolution of a second).
  const values = await Promise.all(
    keys.map((key) =>
      conn
        .command(['OBJECT', sub, key])
        .then((v) => (v === null ? null : Number(v)))
        .catch(() => null),
    ),
  );
  return { at: Date.now(), values };
}

async function unlinkKeys(conn: RedisConnection, keys: string[]): Promise<{ removed: number; bytes: number }> {
  if (scripting.get(conn) !== false) {
    try {
      const [removed, bytes] = (await conn.command(['EVAL', UNLINK_SCRIPT, String(keys.length), ...keys])) as [
        number,
        number,
      ];
      return { removed: Number(removed), bytes: Number(bytes) };
    } catch {
      scripting.set(conn, false);
    }
  }
  const sizes = await Promise.all(keys.map((key) => conn.command(['MEMORY', 'USAGE', key]).catch(() => null)));
  const removed = Number(await conn.command(['UNLINK', ...keys]));
  return { removed, bytes: sizes.reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0) };
}

/** Keys asked of each SCAN call: enough to keep round trips few, small enough that no call is slow. */
const SCAN_COUNT = 1000;

/**
 * One SCAN pass over the evictable namespaces, keeping the stalest `poolSize` keys. The idle times
 * of one batch are read while the next SCAN call is already on its way (two round trips overlap).
 */
async function collectCandidates(
  conn: RedisConnection,
  ctx: TaskContext,
  namespaces: string[],
  order: 'idletime' | 'freq',
  poolSize: number,
) {
  const pool = new StalenessPool(poolSize);
  let scanned = 0;
  let pending: Promise<void> = Promise.resolve();
  for (const namespace of namespaces) {
    let cursor = '0';
    do {
      if (ctx.signal.aborted) throw new DrydockError('ABORTED', 'cache.eviction was cancelled');
      const reply = (await conn.command([
        'SCAN',
        cursor,
        'MATCH',
        namespacePattern(namespace),
        'COUNT',
        String(SCAN_COUNT),
      ])) as [string, string[]];
      cursor = String(reply[0]);
      const keys = reply[1].map(String).filter((key) => isEvictable(key, namespaces));
      scanned += keys.length;
      const measuring = measureKeys(conn, keys, order);
      await pending;
      pending = measuring.then((measured) =>
        keys.forEach((key, i) => {
          const m = measured.values[i];
          if (m === null || m === undefined) return; // expired or removed meanwhile
          pool.add({ key, staleness: stalenessOf(order, m, measured.at) });
        }),
      );
    } while (cursor !== '0');
  }
  await pending;
  return { candidates: pool.take(), scanned };
}

async function evict(
  ctx: TaskContext,
  conn: RedisConnection,
  before: RedisState,
  order: 'idletime' | 'freq',
): Promise<Omit<EvictionResult, 'before' | 'target' | 'policyMessage' | 'acted'>> {
  const cfg = ctx.policy.cache.eviction;
  const t = thresholds(ctx.policy);
  const batch = cfg.batch_size;
  let state = before;
  let keysFreed = 0;
  let bytesFreed = 0;
  const removedSample: string[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const need = evictionNeed(state, t);
    if (!need.memoryOver && !need.keysOver) break;
    const poolSize = planSize(need, state, batch);
    const found = await ctx.step(`scan evictable namespaces (pass ${pass + 1})`, async (step) => {
      const result = await collectCandidates(conn, ctx, cfg.evictable_namespaces, order, poolSize);
      step.output(`${result.scanned} evictable keys seen, ${result.candidates.length} stalest kept as candidates\n`);
      return result;
    });
    if (!found || found.candidates.length === 0) break;
    let freedThisPass = 0;
    // For the key threshold exactly the keys over it go; for memory the plan stops when enough is freed.
    const planned = need.memoryOver ? found.candidates : found.candidates.slice(0, need.keysToFree);
    await ctx.step(`unlink stalest keys (pass ${pass + 1})`, async (step) => {
      for (let i = 0; i < planned.length; i += batch) {
        if (ctx.signal.aborted) throw new DrydockError('ABORTED', 'cache.eviction was cancelled');
        const chunk = planned.slice(i, i + batch).map((c) => c.key);
        const { removed, bytes } = await unlinkKeys(conn, chunk);
        keysFreed += removed;
        freedThisPass += removed;
        bytesFreed += bytes;
        for (const key of chunk) if (removedSample.length < SAMPLE) removedSample.push(key);
        // INFO after each batch (two round trips, well under a millisecond): the plan stops the
        // moment Redis is back under its thresholds, so it never removes more than it must.
        state = await readRedisState(conn);
        const now = evictionNeed(state, t);
        const last = i + batch >= planned.length;
        if (last || !(now.memoryOver || now.keysOver) || (i / batch) % 50 === 0)
          step.output(`unlinked ${keysFreed} keys so far (this batch from ${describeCandidate(planned[i]!, order)})\n`);
        if (!now.memoryOver && !now.keysOver) return;
        await yieldToLoop();
      }
    });
    state = await waitForLazyFree(conn);
    if (freedThisPass === 0) break;
  }
  return { after: state, keysFreed, bytesFreed, removedSample };
}

/**
 * Higher = evict first. Under LRU it is the key's last access, normalised to one instant: the
 * idle time read at `at` says the key was last used at `at - idle`, so keys measured seconds apart
 * during a long scan (a namespace scanned later) compare fairly. Under LFU it is 255 - the counter.
 */
export function stalenessOf(order: 'idletime' | 'freq', measure: number, at: number): number {
  return order === 'freq' ? 255 - measure : -(at - measure * 1000);
}

function describeCandidate(c: { key: string; staleness: number }, order: 'idletime' | 'freq'): string {
  return order === 'freq'
    ? `${c.key}, LFU counter ${255 - c.staleness}`
    : `${c.key}, last used ${new Date(-c.staleness).toISOString()}`;
}

/**
 * How many candidates one scan keeps: the keys to remove for the key threshold, or for memory the
 * bytes to free over the average size of a key, with a quarter more for keys smaller than
 * average, so one scan plans the whole eviction.
 */
export function planSize(
  need: { keysToFree: number; bytesToFree: number },
  state: { usedMemory: number; keys: number },
  batch: number,
): number {
  const perKey = state.keys > 0 ? state.usedMemory / state.keys : 0;
  const forMemory = need.bytesToFree > 0 && perKey > 0 ? Math.ceil((need.bytesToFree / perKey) * 1.25) : 0;
  return Math.min(2_000_000, Math.max(batch, need.keysToFree, forMemory) + batch);
}

export const cacheEvictionTask: ImplementedTask<EvictionResult> = {
  id: 'cache.eviction',
  title: 'Redis eviction of evictable namespaces',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.cache.eviction),
  resources: (policy) => [`redis:${policy.targets.redis.host}:${policy.targets.redis.port}`],

  async execute(ctx) {
    const t = thresholds(ctx.policy);
    const conn = await connectRedis(ctx.policy.targets.redis);
    try {
      const before = (await ctx.step('measure memory and keys', async (step) => {
        const state = await readRedisState(conn);
        step.output(`${describeState(state, t)}, maxmemory-policy ${state.maxmemoryPolicy}\n`);
        return state;
      }))!;
      const need = evictionNeed(before, t);
      const advice = evictionPolicyAdvice(before.maxmemoryPolicy, before.maxmemory);
      ctx.summary(`${conn.target}: ${describeState(before, t)}`);
      ctx.summary(advice.ok ? advice.message : `warning: ${advice.message}`);
      const base = { target: conn.target, before, policyMessage: advice.message };
      if (!need.memoryOver && !need.keysOver) {
        ctx.summary('under both thresholds; nothing removed');
        ctx.figure('redis.keys_freed', { value: 0, unit: 'keys' });
        return { ...base, after: before, acted: false, keysFreed: 0, bytesFreed: 0, removedSample: [] };
      }
      const namespaces = ctx.policy.cache.eviction.evictable_namespaces;
      if (namespaces.length === 0) {
        ctx.summary(
          'over threshold, but no namespace is marked evictable (cache.eviction.evictable_namespaces); nothing removed',
        );
        return { ...base, after: before, acted: false, keysFreed: 0, bytesFreed: 0, removedSample: [] };
      }
      const outcome = await evict(ctx, conn, before, advice.order);
      ctx.figure('redis.keys_freed', { value: outcome.keysFreed, unit: 'keys' });
      ctx.figure('redis.bytes_freed', { value: outcome.bytesFreed, unit: 'bytes' });
      ctx.figure('redis.used_memory', { before: before.usedMemory, after: outcome.after.usedMemory, unit: 'bytes' });
      ctx.figure('redis.keys', { before: before.keys, after: outcome.after.keys, unit: 'keys' });
      ctx.summary(
        `removed ${outcome.keysFreed} keys (${mib(outcome.bytesFreed)}) from ${namespaces.join(', ')}; now ${describeState(outcome.after, t)}`,
      );
      return { ...base, ...outcome, acted: true };
    } finally {
      await conn.close();
    }
  },

  async validate(ctx, result): Promise<ValidationResult> {
    const t = thresholds(ctx.policy);
    const conn = await connectRedis(ctx.policy.targets.redis);
    try {
      const state = await readRedisState(conn);
      const need = evictionNeed(state, t);
      return {
        ok: !need.memoryOver && !need.keysOver,
        checks: [
          {
            name: 'memory under threshold',
            ok: !need.memoryOver,
            detail: `${need.usedPercent.toFixed(1)}% of ${need.measuredAgainst} (threshold ${t.memoryPercent}%) on ${result.target}`,
          },
          { name: 'keys under threshold', ok: !need.keysOver, detail: `${state.keys} keys (threshold ${t.maxKeys})` },
        ],
      };
    } finally {
      await conn.close();
    }
  },
};
