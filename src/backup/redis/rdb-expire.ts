// Redis backup retention (cache.backup.retention, 7 days): the decision is planAgeRetention (pure),
// the deletion removes each catalog entry before its folder, under the Redis lock.
import { acquireLock } from '../lock.js';
import type { Repository } from '../repository.js';
import { planAgeRetention, type AgePlan } from '../files/age-retention.js';
import { removeRedisPartials } from './rdb-backup.js';
import { listRedisBackups, redisLockScope, removeRedisBackup } from './rdb-store.js';

export interface RedisExpireResult {
  plan: AgePlan;
  removed: string[];
  removedPartials: string[];
}

export function expireRedisBackups(
  repo: Repository,
  now: Date,
  keepMs: number,
  options: { dryRun?: boolean } = {},
): RedisExpireResult {
  const plan = planAgeRetention(
    listRedisBackups(repo).map((r) => ({ id: r.id, at: r.startedAt })),
    now,
    keepMs,
  );
  if (options.dryRun) return { plan, removed: [], removedPartials: [] };
  const release = acquireLock(redisLockScope(repo), 'Redis backup expiry');
  try {
    for (const id of plan.expire) removeRedisBackup(repo, id);
    return { plan, removed: plan.expire, removedPartials: removeRedisPartials(repo) };
  } finally {
    release();
  }
}
