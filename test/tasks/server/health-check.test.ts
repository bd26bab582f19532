import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectDisks, cpuPercent } from '../../../src/host/sample.js';
import { parseSystemctlShow, serviceStatus } from '../../../src/host/services.js';
import { parsePolicy } from '../../../src/policy/load.js';
import { evaluateHealth } from '../../../src/tasks/server/health-evaluate.js';
import { createHealthCheckTask } from '../../../src/tasks/server/health-check.js';
import { CpuMeter } from '../../../src/host/cpu-meter.js';
import { freePort } from '../../helpers/redis-server.js';
import { policyFrom, taskContext } from '../cache/task-context.js';

// The spec's thresholds (disk > 80%, memory > 85%, cpu > 90%) as the policy resolves them.
const spec = parsePolicy({}).server.monitoring.alerts;

describe('evaluateHealth (pure)', () => {
  it('flags each reading over the spec thresholds and names it', () => {
    const checks = evaluateHealth(
      {
        disks: [
          { mount: '/', fs: '/dev/a', type: 'ext4', sizeBytes: 100, usedBytes: 81, usedPercent: 81 },
          { mount: '/data', fs: '/dev/b', type: 'ext4', sizeBytes: 100, usedBytes: 80, usedPercent: 80 },
        ],
        memory: { totalBytes: 100, availableBytes: 10, usedPercent: 90 },
        cpuPercent: 50,
        services: [{ name: 'api', kind: 'tcp', state: 'down', detail: '127.0.0.1:1: ECONNREFUSED' }],
      },
      spec,
    );
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['disk /', false],
      ['disk /data', true],
      ['memory', false],
      ['cpu', true],
      ['service api', false],
    ]);
    expect(checks[0]!.detail).toBe('/ 81.0% used (alert > 80%)');
  });
  it('collapses bind mounts of one device and drops pseudo file systems', () => {
    const rows = [
      { mount: '/etc/hosts', fs: '/dev/vda', type: 'ext4', sizeBytes: 10, usedBytes: 1, usedPercent: 10 },
      { mount: '/', fs: '/dev/vda', type: 'ext4', sizeBytes: 10, usedBytes: 1, usedPercent: 10 },
      { mount: '/dev/shm', fs: 'shm', type: 'tmpfs', sizeBytes: 10, usedBytes: 1, usedPercent: 10 },
    ];
    expect(selectDisks(rows, []).map((r) => r.mount)).toEqual(['/']);
    expect(selectDisks(rows, ['/etc/hosts']).map((r) => r.mount)).toEqual(['/etc/hosts']);
  });
  it('a busy CPU is a warning that leaves notices to the host_cpu alert rule, never a failed check', () => {
    const [cpu] = evaluateHealth({ cpuPercent: 97, cpuOver: 'the last 5 min 0 s', load1m: 3.9 }, spec);
    expect(cpu).toMatchObject({ name: 'cpu', ok: true, warning: true, value: 97 });
    expect(cpu!.detail).toBe(
      '97.0% busy over the last 5 min 0 s, load average 3.90 (above > 90%; the host_cpu alert rule sends notices)',
    );
  });

  it('measures CPU over the interval since the previous check, first from the load average', async () => {
    let now = 1_000_000;
    const meter = new CpuMeter(() => now);
    const first = meter.read();
    expect(first.over).toMatch(/^the 5-minute load average \d+\.\d\d on \d+ cores?$/);
    // Too soon after the first reading for an interval: still the load average, same snapshot kept.
    now += 2_000;
    expect(meter.read().over).toMatch(/load average/);
    // Burn some CPU so the interval has real busy time in it.
    const until = Date.now() + 300;
    while (Date.now() < until) Math.sqrt(Math.random());
    now += 5 * 60_000;
    const second = meter.read();
    expect(second.over).toBe('the last 5 min 2 s');
    expect(second.busyPercent).toBeGreaterThan(0);
    expect(second.busyPercent).toBeLessThanOrEqual(100);
  });

  it('computes CPU busy share between snapshots', () => {
    expect(cpuPercent({ idle: 100, total: 200 }, { idle: 150, total: 400 })).toBe(75);
    expect(cpuPercent({ idle: 1, total: 2 }, { idle: 1, total: 2 })).toBeNull();
  });
  it('parses systemctl show output', () => {
    expect(parseSystemctlShow('ActiveState=active\nSubState=running\n')).toEqual({ active: 'active', sub: 'running' });
  });
});

let http: Server;
let httpPort: number;
beforeAll(async () => {
  httpPort = await freePort();
  http = createServer((req, res) => {
    res.statusCode = req.url === '/broken' ? 503 : 200;
    res.end('ok');
  });
  await new Promise<void>((r) => http.listen(httpPort, '127.0.0.1', () => r()));
});
afterAll(async () => {
  await new Promise((r) => http.close(r));
});

describe('service status against real services', () => {
  it('sees a listening TCP port, a refused one, an HTTP 200 and 503, a running process and a missing one', async () => {
    const closed = await freePort();
    expect((await serviceStatus({ name: 'redis', tcp: '127.0.0.1:6379' })).state).toBe('up');
    const refused = await serviceStatus({ name: 'nothing', tcp: `127.0.0.1:${closed}` });
    expect(refused).toMatchObject({ state: 'down' });
    expect(refused.detail).toContain('ECONNREFUSED');
    expect((await serviceStatus({ name: 'web', http: `http://127.0.0.1:${httpPort}/` })).state).toBe('up');
    expect((await serviceStatus({ name: 'web', http: `http://127.0.0.1:${httpPort}/broken` })).detail).toContain(
      'HTTP 503',
    );
    expect((await serviceStatus({ name: 'redis', process: 'redis-server' })).state).toBe('up');
    expect((await serviceStatus({ name: 'ghost', process: 'no-such-process-xyz' })).state).toBe('down');
  });
});

describe('server.health_check on this host', () => {
  it('reads disk, memory, cpu and services and fails validation naming a down service', async () => {
    const closed = await freePort();
    const policy = policyFrom({
      server: {
        health_check: {
          services: [
            { name: 'redis', tcp: '127.0.0.1:6379' },
            { name: 'payments-api', http: `http://127.0.0.1:${closed}/health` },
          ],
        },
      },
    });
    const task = createHealthCheckTask({ cpu: new CpuMeter() });
    const run = taskContext(policy);
    const result = await task.execute(run.ctx);
    expect(result.readings.disks!.length).toBeGreaterThan(0);
    expect(result.readings.memory!.usedPercent).toBeGreaterThan(0);
    expect(result.readings.cpuPercent).not.toBeNull();
    const validation = await task.validate(run.ctx, result);
    expect(validation.ok).toBe(false);
    const failed = validation.checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toContain('service payments-api');
    expect(failed).not.toContain('service redis');
  });

  it('fails the disk check when the threshold is below the real usage', async () => {
    const policy = policyFrom({
      server: { monitoring: { alerts: { disk: '> 0%' } }, health_check: { checks: ['disk_usage'] } },
    });
    const task = createHealthCheckTask();
    const run = taskContext(policy);
    const validation = await task.validate(run.ctx, await task.execute(run.ctx));
    expect(validation.ok).toBe(false);
    expect(validation.checks[0]!.detail).toMatch(/% used \(alert > 0%\)/);
  });

  it('fails for a configured mount that is not mounted', async () => {
    const policy = policyFrom({
      server: { health_check: { checks: ['disk_usage'], mounts: ['/', '/srv/not-mounted'] } },
    });
    const task = createHealthCheckTask();
    const run = taskContext(policy);
    const validation = await task.validate(run.ctx, await task.execute(run.ctx));
    expect(validation.checks.find((c) => c.name === 'disk /srv/not-mounted')).toMatchObject({
      ok: false,
      detail: '/srv/not-mounted is not a mounted file system',
    });
    expect(validation.checks.some((c) => c.name === 'disk /')).toBe(true);
  });
});
