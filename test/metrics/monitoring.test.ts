import { describe, expect, it } from 'vitest';
import { formatAlertHistory, formatAlertStates } from '../../src/alerts/format.js';
import { formatPoints, formatSeriesList, parseSeriesSelector } from '../../src/metrics/format.js';
import { createMonitoring } from '../../src/monitoring/metrics-and-alerts.js';
import type { Channel } from '../../src/notify/types.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { policyFrom } from '../tasks/cache/task-context.js';

describe('parseSeriesSelector', () => {
  it('reads a name with optional labels', () => {
    expect(parseSeriesSelector('redis_keys')).toEqual({ name: 'redis_keys', labels: {} });
    expect(parseSeriesSelector('host_disk_used_ratio{mount="/"}')).toEqual({
      name: 'host_disk_used_ratio',
      labels: { mount: '/' },
    });
    expect(parseSeriesSelector('x{a="1",b="q\\"x"}')).toEqual({ name: 'x', labels: { a: '1', b: 'q"x' } });
    expect(parseSeriesSelector('x{a=1}')).toBeNull();
    expect(parseSeriesSelector('9x')).toBeNull();
  });
});

describe('createMonitoring against the local Redis and PostgreSQL', () => {
  it('collects, serves /metrics and /api/alerts, manages silences, and formats for the CLI', async () => {
    const db = openSqlite(':memory:');
    const policy = policyFrom({
      targets: { postgres: { database: 'postgres' } },
      // Every disk is over 0%: the rule fires at once.
      alerts: { rules: { any_disk: { metric: 'host_disk_used_ratio', condition: '> 0%', for: '0' } } },
    });
    const sent: string[] = [];
    const log: Channel = {
      name: 'log',
      type: 'log',
      send: async (m) => {
        sent.push(m.subject);
        return { ok: true, detail: 'logged', retryable: false };
      },
    };
    const monitoring = createMonitoring({
      db,
      policy,
      channels: new Map([['log', log]]),
      extraMetrics: () => '# HELP drydock_runs_open Runs.\n# TYPE drydock_runs_open gauge\ndrydock_runs_open 0\n',
    });
    const report = await monitoring.collector.collectOnce();
    expect(report.targets.filter((t) => !t.up)).toEqual([]);
    expect(sent.some((s) => s.startsWith('[FIRING] any_disk: '))).toBe(true);

    const metrics = await (await monitoring.routes.request('/metrics')).text();
    expect(metrics).toContain('# TYPE host_disk_used_ratio gauge');
    expect(metrics).toContain('drydock_runs_open 0');

    const alerts = (await (await monitoring.routes.request('/api/alerts')).json()) as Array<{
      rule: string;
      status: string;
    }>;
    expect(alerts.some((a) => a.rule === 'any_disk' && a.status === 'firing')).toBe(true);
    const history = (await (await monitoring.routes.request('/api/alerts/history?rule=any_disk')).json()) as Array<{
      event: string;
    }>;
    expect(history.map((h) => h.event)).toContain('sent');

    const created = await monitoring.routes.request('/api/silences', {
      method: 'POST',
      body: JSON.stringify({ component: 'redis', reason: 'failover drill', for: '1 hour' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect(monitoring.silences.isSilenced('redis:127.0.0.1:6379', new Date())).toBe(true);
    expect((await monitoring.routes.request(`/api/silences/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(monitoring.silences.isSilenced('redis:127.0.0.1:6379', new Date())).toBe(false);

    const now = Date.now();
    expect(formatSeriesList(monitoring.metrics, now, 'redis_keys')).toMatch(
      /^redis_keys\{target="127.0.0.1:6379"\}\s+\d+/,
    );
    const read = monitoring.metrics.read(
      'redis_keys',
      { target: '127.0.0.1:6379' },
      { since: now - 86_400_000, until: now + 1000 },
    );
    expect(formatPoints(read.points, read.resolution)).toMatch(/^resolution: raw, 1 point/);
    expect(formatAlertStates(monitoring.alerts.states({ status: 'firing' }))).toMatch(/^FIRING\s+any_disk/);
    expect(formatAlertHistory(monitoring.alerts.history({ rule: 'any_disk' }))).toContain('inactive → firing');
    db.close();
  });
});
