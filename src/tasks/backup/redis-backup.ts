// cache.backup (daily 02:00 UTC, kept 7 days): an RDB snapshot of targets.redis taken over Redis's
// replication protocol (so it works against a server that keeps nothing on disk), stored compressed
// and checksummed in the backup repository, then expiry. Validation is the restore test: the backup
// is read back, loaded into a throwaway redis-server and its key counts per database compared with
// those recorded at backup time.
import type { ImplementedTask, TaskContext, ValidationCheck, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { describeError } from '../../errors.js';
import { openRepository } from '../../backup/repository.js';
import { repositorySettings } from '../../backup/settings.js';
import { runRedisBackup, removeRedisPartials } from '../../backup/redis/rdb-backup.js';
import { expireRedisBackups } from '../../backup/redis/rdb-expire.js';
import { describeComparison } from '../../backup/redis/key-counts.js';
import { listRedisBackups, redisLockScope, type RedisBackupRecord } from '../../backup/redis/rdb-store.js';
import { restoreTestRedisBackup } from '../../backup/redis/rdb-restore-test.js';
import { lockHolder } from '../../backup/lock.js';

function totalKeys(keyspace: RedisBackupRecord['keyspaceBefore']): number {
  return Object.values(keyspace).reduce((n, db) => n + db.keys, 0);
}

async function execute(ctx: TaskContext): Promise<RedisBackupRecord> {
  const target = ctx.policy.targets.redis;
  const record = (await ctx.step(
    `RDB snapshot of ${target.host}:${target.port} over the replication protocol`,
    (step) =>
      runRedisBackup({
        repository: repositorySettings(ctx.policy),
        target,
        signal: ctx.signal,
        log: (line) => step.output(line),
        now: () => ctx.clock.now(),
      }),
  ))!;
  ctx.figure('redis_backup.rdb_bytes', { value: record.rdbBytes, unit: 'bytes' });
  ctx.figure('redis_backup.stored_bytes', { value: record.storedSize, unit: 'bytes' });
  ctx.figure('redis_backup.duration', { value: record.durationMs, unit: 'ms' });
  ctx.figure('redis_backup.keys', { value: totalKeys(record.keyspaceAfter), unit: 'keys' });
  ctx.summary(
    `Redis backup ${record.id} of ${record.target}: ${totalKeys(record.keyspaceAfter)} key(s) in ${Object.keys(record.keyspaceAfter).length} database(s), ` +
      `${(record.rdbBytes / 1048576).toFixed(1)} MiB RDB stored as ${(record.storedSize / 1048576).toFixed(1)} MiB (${record.transfer}), ${(record.durationMs / 1000).toFixed(1)} s`,
  );
  await ctx.step(
    `expire Redis backups older than ${ctx.policy.cache.backup.retention.text}`,
    async (step) => {
      const repo = openRepository(repositorySettings(ctx.policy));
      const r = expireRedisBackups(repo, ctx.clock.now(), ctx.policy.cache.backup.retention.ms);
      step.output(
        `kept ${r.plan.keep.length}, removed ${r.removed.length} [${r.removed.join(', ')}], ${r.removedPartials.length} interrupted folder(s)`,
      );
    },
    { continueOnError: true },
  );
  return record;
}

async function validate(ctx: TaskContext, record: RedisBackupRecord): Promise<ValidationResult> {
  const repo = openRepository(repositorySettings(ctx.policy));
  const listed = listRedisBackups(repo).some((r) => r.id === record.id);
  const checks: ValidationCheck[] = [
    {
      name: 'listed in the repository catalog',
      ok: listed,
      detail: listed ? record.id : `${record.id} is not in redis/catalog`,
    },
  ];
  try {
    const test = await restoreTestRedisBackup(repo, record, { signal: ctx.signal, log: (line) => ctx.log.info(line) });
    checks.push({
      name: 'read back and checksums',
      ok: true,
      detail: `${record.parts.length} part(s), ${record.rdbBytes} bytes, SHA-256 ${record.rdbSha256.slice(0, 12)}…`,
    });
    for (const db of test.databases)
      checks.push({ name: `restore test db${db.db}`, ok: db.ok, detail: describeComparison(db) });
    if (!test.databases.length)
      checks.push({ name: 'restore test', ok: true, detail: 'empty dataset restored as empty' });
    ctx.figure('redis_backup.restore_load', { value: test.loadMs, unit: 'ms' });
    ctx.summary(
      `restore test: loaded in ${test.loadMs} ms, ${test.databases.filter((d) => d.ok).length}/${test.databases.length} database(s) match`,
    );
  } catch (error) {
    checks.push({ name: 'restore test', ok: false, detail: describeError(error) });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

export const cacheBackupTask: ImplementedTask<RedisBackupRecord> = {
  id: 'cache.backup',
  title: 'Redis RDB backup over the replication protocol',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.cache.backup),
  resources: (policy) => [`redis-backup:${policy.backup.repository.path}`],
  execute,
  validate,
  recoverInterrupted: async (ctx) => {
    const repo = openRepository(repositorySettings(ctx.policy), { create: true });
    if (lockHolder(redisLockScope(repo)) !== undefined) return [];
    const removed = removeRedisPartials(repo);
    return removed.length ? [`removed interrupted Redis backup folder(s): ${removed.join(', ')}`] : [];
  },
};
