import { describe, expect, it } from 'vitest';
import { parsePolicy, parsePolicyText, PolicyError, MAX_POLICY_BYTES } from '../../src/policy/load.js';
import { Duration, Threshold, toPhrases } from '../../src/policy/values.js';
import { policyJsonSchema } from '../../src/cli/commands/config.js';

function problems(text: string): string[] {
  try {
    parsePolicyText(text, 'drydock.yaml');
  } catch (error) {
    if (error instanceof PolicyError) return error.problems.map((p) => `${p.line ?? '?'}:${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('policy', () => {
  it("defaults reproduce the spec's schedules, thresholds, retentions and windows", () => {
    // The resolved policy printed back as phrases (what `config print --defaults` shows).
    const p = toPhrases(parsePolicy({})) as ReturnType<typeof JSON.parse>;
    expect(p.database.vacuum).toMatchObject({
      frequency: 'daily',
      time: '03:00 UTC',
      tables: ['listings', 'bookings', 'messages'],
      options: { full: false, analyze: true, verbose: true },
    });
    expect(p.database.backup).toMatchObject({
      frequency: 'daily',
      retention: '30 days',
      type: 'incremental',
      window: { start: '01:00 UTC', duration: '2 hours' },
    });
    expect(p.database.index_rebuild).toMatchObject({
      frequency: 'weekly',
      concurrent: true,
      tables: { high_priority: ['listings', 'users'], normal: ['reviews', 'notifications'] },
    });
    expect(p.cache.eviction.threshold).toMatchObject({ memory: '80%', keys: 1_000_000 });
    expect(p.cache.replication).toMatchObject({ sync_check: 'every 15 minutes', max_lag: '5 seconds' });
    expect(p.cache.backup).toMatchObject({ frequency: 'daily', time: '02:00 UTC', retention: '7 days' });
    expect(p.cache.metrics).toMatchObject({
      collection: 'every 1 minute',
      retention: '30 days',
      alerts: { hit_rate: '< 80%', memory: '> 90%', latency: '> 100ms' },
    });
    expect(p.security.patches.critical).toEqual({ sla: '24 hours', approval: 'automatic', notification: 'immediate' });
    expect(p.security.patches.high).toEqual({
      sla: '72 hours',
      approval: 'required',
      notification: 'next business day',
    });
    expect(p.security.patches.medium).toEqual({ sla: '1 week', approval: 'required', notification: 'weekly' });
    expect(p.security.scans.vulnerability).toMatchObject({
      frequency: 'daily',
      tool: 'Nessus',
      scope: ['infrastructure', 'applications'],
    });
    expect(p.security.scans.compliance).toMatchObject({ frequency: 'monthly', standards: ['PCI-DSS', 'GDPR', 'SOC2'] });
    expect(p.dependencies.npm).toMatchObject({
      frequency: 'weekly',
      auto_merge: { patch: true, minor: false, major: false },
      security: { auto_merge: true, priority: 'high' },
    });
    expect(p.dependencies.system).toMatchObject({
      frequency: 'monthly',
      packages: ['os', 'runtime', 'tools'],
      testing: { required: true, environment: 'staging' },
    });
    expect(p.dependencies.docker).toMatchObject({
      frequency: 'monthly',
      images: ['node', 'redis', 'postgres'],
      scan: { tool: 'Trivy', threshold: 'high' },
    });
    expect(p.server.health_check.frequency).toBe('every 5 minutes');
    expect(p.server.cleanup).toMatchObject({
      frequency: 'daily',
      tasks: ['log_rotation', 'temp_files', 'old_deployments'],
      retention: { logs: '30 days', deployments: '5 versions' },
    });
    expect(p.server.monitoring).toMatchObject({
      metrics: { collection: 'every 1 minute', retention: '90 days' },
      alerts: { disk: '> 80%', memory: '> 85%', cpu: '> 90%' },
    });
    expect(p.network.firewall).toMatchObject({
      review: 'monthly',
      updates: { emergency: 'immediate', planned: 'weekly' },
    });
    expect(p.network.dns).toMatchObject({
      health_check: 'hourly',
      propagation: { check: 'every 15 minutes', timeout: '24 hours' },
    });
    expect(p.network.ssl).toMatchObject({
      renewal: { threshold: '30 days', automatic: true },
      validation: { frequency: 'daily', alerts: ['expiration', 'configuration'] },
    });
    expect(p.backup.database).toMatchObject({
      full: { frequency: 'daily', time: '01:00 UTC', retention: '30 days' },
      incremental: { frequency: 'hourly', retention: '24 hours' },
    });
    expect(p.backup.validation).toMatchObject({
      restore_test: { frequency: 'weekly' },
      integrity_check: { frequency: 'daily' },
    });
    expect(p.backup.files).toMatchObject({
      user_uploads: { frequency: 'daily', retention: '90 days' },
      configuration: { frequency: 'on change', versioning: true },
    });
    expect(p.backup.monitoring).toMatchObject({
      success_rate: { threshold: '99.9%', window: '30 days' },
      alerts: { failure: 'immediate', size_change: '> 20%' },
    });
    expect(p.maintenance_windows.regular).toMatchObject({
      window: { day: 'Sunday', time: '02:00-06:00 UTC', frequency: 'monthly' },
      notification: { advance: '7 days', reminder: '24 hours' },
    });
    expect(p.maintenance_windows.emergency).toMatchObject({
      approval: ['CTO', 'Head of Operations'],
      notification: { minimum: '1 hour', channels: ['email', 'sms', 'status_page'] },
    });
    expect(p.maintenance_windows.blackout).toMatchObject({
      periods: ['holiday_season', 'major_events', 'business_hours'],
      exceptions: { security: true, critical_bugs: true },
    });
    expect(p.activity_log.retention).toBe('400 days');
    expect(p.channels).toEqual({ log: { type: 'log' } });
  });

  it('needs only what differs', () => {
    const p = parsePolicyText('database:\n  vacuum:\n    time: "04:15 UTC"\n');
    expect(p.database.vacuum.time).toMatchObject({ hour: 4, minute: 15, text: '04:15 UTC' });
    expect(p.database.vacuum.tables).toEqual(['listings', 'bookings', 'messages']);
    expect(p.cache.eviction.threshold.memory.percent).toBe(80);
  });

  it('resolves every phrase once, at load, into typed values', () => {
    const p = parsePolicy({ engine: { lock_wait: '2 minutes' } });
    expect(p.engine.lock_wait).toBeInstanceOf(Duration);
    expect(p.engine.lock_wait.ms).toBe(120_000);
    expect(p.cache.metrics.alerts.memory).toBeInstanceOf(Threshold);
    expect(p.cache.metrics.alerts.memory).toMatchObject({ op: '>', value: 90, unit: 'percent' });
    expect(p.cache.metrics.collection.ms).toBe(60_000);
    expect(p.maintenance_windows.regular.window.time).toMatchObject({ durationMinutes: 240 });
    expect(p.maintenance_windows.blackout.definitions.holiday_season!.yearly[0]!.from).toMatchObject({
      month: 12,
      day: 15,
    });
    expect(p.server.cleanup.retention.deployments.count).toBe(5);
  });

  it('merges named entries over the built-in ones instead of dropping them', () => {
    const p = parsePolicy({
      channels: { ops: { type: 'webhook', url: 'https://hooks.example.org/x' } },
      notify: { failure: ['log', 'ops'] },
      maintenance_windows: {
        blackout: { definitions: { major_events: { dates: [{ from: '2027-03-01', to: '2027-03-03' }] } } },
      },
    });
    expect(Object.keys(p.channels)).toEqual(['log', 'ops']);
    expect(p.channels.log).toEqual({ type: 'log' });
    expect(Object.keys(p.maintenance_windows.blackout.definitions)).toEqual([
      'holiday_season',
      'major_events',
      'business_hours',
    ]);
    expect(p.maintenance_windows.blackout.definitions.major_events!.dates).toHaveLength(1);
    expect(p.maintenance_windows.blackout.definitions.business_hours!.weekly).toHaveLength(1);
    // A list replaces the default list whole.
    expect(parsePolicy({ database: { vacuum: { tables: ['users'] } } }).database.vacuum.tables).toEqual(['users']);
    // A policy can replace a built-in entry by its name.
    expect(
      parsePolicy({ channels: { log: { type: 'webhook', url: 'https://h.example.org/' } } }).channels.log,
    ).toMatchObject({ type: 'webhook' });
  });

  it('rejects at load what would fail at run time', () => {
    expect(problems('backup:\n  repository:\n    compression: lz4\n')).toEqual([
      '3:backup.repository.compression: expected "zstd" (the only compression implemented; lz4 and gzip are not), got "lz4"',
    ]);
    expect(problems('activity_log:\n  retention: 0 days\n')).toEqual([
      '2:activity_log.retention: expected a duration longer than zero, like "30 days"',
    ]);
    expect(problems('server:\n  cleanup:\n    logs:\n      - path: /var/log/app/*.log\n')).toEqual([
      '4:server.cleanup.logs[0]: give max_size, max_age or both',
    ]);
    expect(problems('server:\n  cleanup:\n    logs:\n      - {path: /a.log, max_size: lots}\n')).toEqual([
      '4:server.cleanup.logs[0].max_size: expected a size like "100MB" or a number of bytes, got "lots"',
    ]);
    expect(problems('cache:\n  metrics:\n    collection: daily\n')).toEqual([
      '3:cache.metrics.collection: expected an interval like "every 1 minute" (at least one second), got "daily"',
    ]);
    expect(problems('alerts:\n  channels: [pager]\n')).toEqual([
      '2:alerts.channels[0]: unknown channel "pager" (defined: log)',
    ]);
  });

  it('refuses an oversized policy and a billion-laughs document with the file and the reason', () => {
    const big = `# ${'x'.repeat(MAX_POLICY_BYTES)}\n`;
    expect(() => parsePolicyText(big, '/etc/drydock.yaml')).toThrow(
      /^\/etc\/drydock\.yaml: 1 problem\n {2}\(file\): the policy is \d+ bytes; more than 1048576 bytes is refused/,
    );
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      const prev = 'abcdefgh'[i]!;
      laughs.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    expect(() => parsePolicyText(laughs.join('\n'), '/etc/drydock.yaml')).toThrow(
      /^\/etc\/drydock\.yaml: 1 problem\n {2}\(yaml\): Excessive alias count/,
    );
  });

  it('lists every problem at once, with path, line, expectation and what was found', () => {
    const found = problems(
      [
        'cache:',
        '  eviction:',
        '    threshold:',
        '      memory: eighty',
        '  evction: 1',
        'database:',
        '  vacuum:',
        '    tables: [listings, 3]',
        "    time: '25:00'",
        '    frequency: fortnightly',
      ].join('\n'),
    );
    expect(found).toEqual([
      '4:cache.eviction.threshold.memory: expected a percentage like "80%", got "eighty"',
      '5:cache.evction: unknown key "evction"',
      '8:database.vacuum.tables[1]: expected a table name, got number 3',
      '9:database.vacuum.time: expected a UTC time of day between 00:00 and 23:59, got "25:00"',
      expect.stringMatching(/^10:database\.vacuum\.frequency: expected "hourly", "daily".*got "fortnightly"$/),
    ]);
  });

  it('rejects inline secrets and unknown channels', () => {
    expect(problems('targets:\n  postgres:\n    password: hunter22\n')).toEqual([
      expect.stringContaining('targets.postgres.password'),
    ]);
    expect(problems('notify:\n  failure: [ops]\n')).toEqual([
      expect.stringContaining('notify.failure[0]: unknown channel "ops"'),
    ]);
    expect(problems('targets:\n  postgres:\n    password: {env: PGPASS}\n')).toEqual([]);
    // Cross-checks run even when other parts of the file are invalid: every problem at once.
    expect(problems('cache:\n  eviction:\n    threshold:\n      memory: eighty\nnotify:\n  failure: [ops]\n')).toEqual([
      '4:cache.eviction.threshold.memory: expected a percentage like "80%", got "eighty"',
      '6:notify.failure[0]: unknown channel "ops" (defined: log)',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('database:\n  vacuum: [\n')[0]).toMatch(/^\d+:\(yaml\): /);
  });

  it('publishes a JSON Schema editors can use', () => {
    const schema = policyJsonSchema() as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'database',
        'cache',
        'security',
        'dependencies',
        'server',
        'network',
        'backup',
        'maintenance_windows',
      ]),
    );
    expect(schema.additionalProperties).toBe(false);
    expect(JSON.stringify(schema.properties.database)).toContain('03:00 UTC');
  });
});
