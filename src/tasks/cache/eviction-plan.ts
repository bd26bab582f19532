// Pure decisions of cache.eviction: is Redis over its thresholds, by how much, what the eviction
// policy means, and which keys may go. No I/O.

import { memoryLimit } from '../../adapters/redis.js';

export interface RedisMemoryState {
  usedMemory: number;
  /** 0 means "no limit": then memory is measured against the host's memory. */
  maxmemory: number;
  systemMemory: number;
  keys: number;
}

export interface EvictionThresholds {
  /** 80 for "80%". */
  memoryPercent: number;
  maxKeys: number;
}

export interface EvictionNeed {
  limitBytes: number;
  measuredAgainst: 'maxmemory' | 'host memory';
  usedPercent: number;
  memoryOver: boolean;
  keysOver: boolean;
  /** Bytes to free to fall back under the memory threshold (0 when under). */
  bytesToFree: number;
  /** Keys to remove to fall back under the key threshold (0 when under). */
  keysToFree: number;
}

export function evictionNeed(state: RedisMemoryState, thresholds: EvictionThresholds): EvictionNeed {
  const { limitBytes, measuredAgainst } = memoryLimit(state);
  const usedPercent = limitBytes > 0 ? (state.usedMemory / limitBytes) * 100 : 0;
  const allowed = (limitBytes * thresholds.memoryPercent) / 100;
  const memoryOver = limitBytes > 0 && state.usedMemory > allowed;
  const keysOver = state.keys > thresholds.maxKeys;
  return {
    limitBytes,
    measuredAgainst,
    usedPercent,
    memoryOver,
    keysOver,
    bytesToFree: memoryOver ? Math.ceil(state.usedMemory - allowed) : 0,
    keysToFree: keysOver ? state.keys - thresholds.maxKeys : 0,
  };
}

export interface PolicyAdvice {
  ok: boolean;
  /** Which idle measure orders keys: LRU idle time, or LFU access frequency under an LFU policy. */
  order: 'idletime' | 'freq';
  message: string;
}

/** What the server's maxmemory-policy means for us. */
export function evictionPolicyAdvice(policy: string, maxmemory: number): PolicyAdvice {
  const order = policy.includes('lfu') ? 'freq' : 'idletime';
  if (policy === 'noeviction') {
    return {
      ok: false,
      order,
      message:
        'eviction policy is noeviction: when Redis reaches maxmemory it refuses writes instead of evicting; set maxmemory-policy (e.g. allkeys-lru)',
    };
  }
  if (maxmemory === 0) {
    return {
      ok: false,
      order,
      message: `eviction policy is ${policy} but maxmemory is 0 (no limit), so Redis never evicts by itself; set maxmemory`,
    };
  }
  return { ok: true, order, message: `eviction policy is ${policy}` };
}

/** A key is evictable only when it starts with one of the namespaces marked evictable. */
export function isEvictable(key: string, namespaces: readonly string[]): boolean {
  return namespaces.some((ns) => ns.length > 0 && key.startsWith(ns));
}

/** SCAN MATCH pattern for a namespace prefix, with glob characters escaped. */
export function namespacePattern(namespace: string): string {
  return `${namespace.replace(/([*?[\]\\])/g, '\\$1')}*`;
}

export interface Candidate {
  key: string;
  /** Higher = evict first: idle seconds, or (255 - LFU counter). */
  staleness: number;
}

/**
 * Keeps the `size` stalest candidates seen so far (a bounded pool, like Redis's own eviction
 * pool), so a scan of millions of keys never holds them all.
 */
export class StalenessPool {
  private items: Candidate[] = [];
  constructor(private readonly size: number) {}

  add(candidate: Candidate): void {
    this.items.push(candidate);
    if (this.items.length >= this.size * 2) this.trim();
  }

  /** Stalest first. */
  take(): Candidate[] {
    this.trim();
    const out = this.items;
    this.items = [];
    return out;
  }

  private trim(): void {
    this.items.sort((a, b) => b.staleness - a.staleness || (a.key < b.key ? -1 : 1));
    if (this.items.length > this.size) this.items.length = this.size;
  }
}
