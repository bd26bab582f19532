import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerAlertCommands } from '../../src/cli/commands/alerts.js';
import { registerMetricsCommands } from '../../src/cli/commands/metrics.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { tokenFor } from '../helpers/access.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-cli-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const policyFile = join(dir, 'drydock.yaml');
writeFileSync(
  policyFile,
  [
    'state:',
    '  path: state.sqlite',
    'targets:',
    '  postgres:',
    '    database: postgres',
    'alerts:',
    '  rules:',
    '    any_disk:',
    '      metric: host_disk_used_ratio',
    '      condition: "> 0%"',
    '      for: "0"',
    'stakeholders:',
    '  - { name: Olga, roles: [SRE], access: operator }',
    '',
  ].join('\n'),
);

async function drydock(...args: string[]): Promise<string> {
  const program = new Command('drydock').option('-p, --policy <file>').exitOverride();
  registerMetricsCommands(program);
  registerAlertCommands(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  };
  try {
    await program.parseAsync(['node', 'drydock', '-p', policyFile, ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('drydock metrics / alerts commands', () => {
  it('collects a round, lists series, prints one series, shows and silences alerts', async () => {
    const collected = await drydock('metrics', 'collect');
    expect(collected).toMatch(/^up {3}redis 127\.0\.0\.1:6379$/m);
    expect(collected).toMatch(/^up {3}postgres 127\.0\.0\.1:5432\/postgres$/m);
    expect(await drydock('metrics')).toMatch(/^redis_keys\{target="127.0.0.1:6379"\}/m);
    expect(await drydock('metrics', 'pg_connections', '--since', '1 hour')).toMatch(/^resolution: raw, 1 point/);
    expect(await drydock('alerts')).toMatch(/^FIRING\s+any_disk/m);
    expect(await drydock('alerts', '--history', '--rule', 'any_disk')).toContain('inactive → firing');
    // Silencing is an operator's act: it needs their token, and records their name.
    await expect(drydock('alerts', 'silence', 'redis', '--for', '1 hour', '--reason', 'drill')).rejects.toThrow(
      /silencing alerts needs your API token in DRYDOCK_TOKEN/,
    );
    const db = openSqlite(join(dir, 'state.sqlite'));
    process.env.DRYDOCK_TOKEN = await tokenFor(db, 'Olga');
    db.close();
    try {
      expect(await drydock('alerts', 'silence', 'redis', '--for', '1 hour', '--reason', 'drill')).toMatch(
        /^silence #1 on redis/,
      );
      expect(await drydock('alerts')).toContain('silenced: redis (#1, drill (by Olga), until');
      expect(await drydock('alerts', 'unsilence', '1')).toContain('silence #1 lifted');
    } finally {
      delete process.env.DRYDOCK_TOKEN;
    }
  }, 30_000);
});
