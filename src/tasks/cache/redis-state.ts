// Reads the few Redis numbers the cache tasks decide on.
import { totalmem } from 'node:os';
import { keyspaceKeys, type RedisConnection } from '../../adapters/redis.js';
import type { RedisMemoryState } from './eviction-plan.js';

export interface RedisState extends RedisMemoryState {
  maxmemoryPolicy: string;
  lazyfreePending: number;
}

export async function readRedisState(conn: RedisConnection): Promise<RedisState> {
  const memory = await conn.info('memory');
  const keyspace = await conn.info('keyspace');
  const system = Number(memory.total_system_memory ?? 0);
  return {
    usedMemory: Number(memory.used_memory ?? 0),
    maxmemory: Number(memory.maxmemory ?? 0),
    systemMemory: system > 0 ? system : totalmem(),
    keys: keyspaceKeys(keyspace),
    maxmemoryPolicy: memory.maxmemory_policy ?? 'unknown',
    lazyfreePending: Number(memory.lazyfree_pending_objects ?? 0),
  };
}
