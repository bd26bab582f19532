import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/adapters/redis.js';
import { assessReplication } from '../../../src/tasks/cache/replication-check.js';
import { cacheReplicationTask } from '../../../src/tasks/cache/replication.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';
import { policyFrom, taskContext } from './task-context.js';
import { waitFor } from '../../helpers/wait.js';

describe('assessReplication', () => {
  it('names a lagging replica and its lag', () => {
    const a = assessReplication(
      { role: 'master', master_repl_offset: '100', slave0: 'ip=10.0.0.2,port=6380,state=online,offset=90,lag=7' },
      { maxLagMs: 5000, expected: [] },
    );
    expect(a.ok).toBe(false);
    expect(a.problems).toEqual(['replica 10.0.0.2:6380 lags 7 s (max 5 s)']);
    expect(a.replicas[0]!.offsetBehind).toBe(10);
  });
  it('reports an expected replica that is missing', () => {
    const a = assessReplication(
      { role: 'master', master_repl_offset: '0' },
      { maxLagMs: 5000, expected: ['10.0.0.3:6380'] },
    );
    expect(a.problems).toContain('replica 10.0.0.3:6380 is not connected');
  });
  it('ignores a backup snapshot connection (port 0, wait_bgsave) and accepts a lone primary when no replica is expected', () => {
    const backup = {
      role: 'master',
      master_repl_offset: '0',
      slave0: 'ip=127.0.0.1,port=0,state=wait_bgsave,offset=0,lag=0',
    };
    expect(assessReplication(backup, { maxLagMs: 5000, expected: [] })).toMatchObject({
      ok: true,
      replicas: [],
      problems: [],
    });
    expect(assessReplication(backup, { maxLagMs: 5000, expected: ['10.0.0.3:6380'] }).problems).toEqual([
      'replica 10.0.0.3:6380 is not connected',
    ]);
  });
  it('accepts a replica online under max lag', () => {
    const a = assessReplication(
      { role: 'master', slave0: 'ip=h,port=1,state=online,offset=0,lag=1' },
      { maxLagMs: 5000, expected: ['h:1'] },
    );
    expect(a.ok).toBe(true);
  });
});

let primary: TestRedis;
let replica: TestRedis;

beforeAll(async () => {
  primary = await startRedis();
  replica = await startRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
  const p = await connectRedis({ host: primary.host, port: primary.port });
  await waitFor(
    'the replica to be online',
    async () => /state=online/.test((await p.info('replication')).slave0 ?? ''),
    15_000,
  );
  await p.close();
}, 30_000);

afterAll(async () => {
  await replica?.stop();
  await primary?.stop();
});

describe('cache.replication against a real primary and replica', () => {
  it('a lone primary passes when the policy expects no replica, and fails when it names one', async () => {
    const lone = await startRedis();
    try {
      const none = taskContext(policyFrom({ targets: { redis: { host: lone.host, port: lone.port } } }));
      const result = await cacheReplicationTask.execute(none.ctx);
      const validation = await cacheReplicationTask.validate(none.ctx, result);
      expect(validation.ok).toBe(true);
      expect(validation.checks[0]!.detail).toContain('none is expected');
      const named = taskContext(
        policyFrom({
          targets: { redis: { host: lone.host, port: lone.port } },
          cache: { replication: { replicas: ['127.0.0.1:1'] } },
        }),
      );
      const missing = await cacheReplicationTask.validate(named.ctx, await cacheReplicationTask.execute(named.ctx));
      expect(missing.ok).toBe(false);
      expect(missing.checks.map((c) => c.detail)).toContain('replica 127.0.0.1:1 is not connected');
    } finally {
      await lone.stop();
    }
  });

  it('passes while the replica is connected, fails naming it and its lag while it is paused, and when it is stopped', async () => {
    const name = `127.0.0.1:${replica.port}`;
    const policy = policyFrom({
      targets: { redis: { host: primary.host, port: primary.port } },
      cache: { replication: { max_lag: '2 seconds', replicas: [name] } },
    });

    const healthy = taskContext(policy);
    const ok = await cacheReplicationTask.execute(healthy.ctx);
    expect(ok.replicas.map((r) => r.name)).toEqual([name]);
    expect((await cacheReplicationTask.validate(healthy.ctx, ok)).ok).toBe(true);

    replica.pause();
    const p = await connectRedis({ host: primary.host, port: primary.port });
    await p.command(['SET', 'written-while-paused', '1']);
    await p.close();
    await new Promise((r) => setTimeout(r, 3600));
    const lagging = taskContext(policy);
    const lagResult = await cacheReplicationTask.execute(lagging.ctx);
    const lagValidation = await cacheReplicationTask.validate(lagging.ctx, lagResult);
    expect(lagValidation.ok).toBe(false);
    expect(lagValidation.checks[0]!.detail).toMatch(new RegExp(`replica ${name} lags [3-9] s \\(max 2 s\\)`));
    replica.resume();

    await replica.stop();
    await waitFor(
      'the primary to see no replica',
      async () => {
        const c = await connectRedis({ host: primary.host, port: primary.port });
        const info = await c.info('replication');
        await c.close();
        return info.connected_slaves === '0';
      },
      10_000,
    );
    const gone = taskContext(policy);
    const goneResult = await cacheReplicationTask.execute(gone.ctx);
    const goneValidation = await cacheReplicationTask.validate(gone.ctx, goneResult);
    expect(goneValidation.ok).toBe(false);
    expect(goneValidation.checks.map((c) => c.detail)).toContain(`replica ${name} is not connected`);
  }, 30_000);
});
