// `drydock backup run` on a terminal (a real pseudo-terminal, through script(1)) shows a progress
// bar with bytes and files done, the rate and the time left; with --json it prints JSON only.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PG_BIN } from '../helpers/pg-cluster.js';
import { createFixture, type BackupFixture } from './helpers.js';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
let fx: BackupFixture;
let policyFile: string;

function underTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const tsx = import.meta.resolve('tsx');
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, '--import', tsx, MAIN, '--policy', policyFile, ...args].map(quote).join(' ');
  // script(1) runs the command on a new pseudo-terminal, so stderr.isTTY is true in drydock.
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    cwd: fx.work,
    env: { ...process.env, DRYDOCK_POLICY: '', COLUMNS: '160' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  return new Promise((r) => child.on('close', (code) => r({ code, output })));
}

beforeAll(async () => {
  fx = await createFixture();
  await fx.cluster.query(
    `CREATE TABLE listings AS SELECT g AS id, md5(g::text) AS title FROM generate_series(1, 50000) g`,
  );
  policyFile = join(fx.work, 'policy.yaml');
  writeFileSync(
    policyFile,
    stringify({
      state: { path: join(fx.work, 'state.sqlite') },
      maintenance_windows: { blackout: { periods: [] } },
      targets: { postgres: { host: '127.0.0.1', port: fx.cluster.port, database: 'postgres', user: 'postgres' } },
      backup: {
        repository: { path: fx.repoPath, level: 1, processes: 2 },
        postgres: { data_directory: fx.cluster.dataDir, bin_directory: PG_BIN, restore_command: fx.restoreCommand },
      },
    }),
  );
}, 120_000);

afterAll(() => {
  fx?.cluster.destroy();
  if (fx) rmSync(fx.work, { recursive: true, force: true });
});

describe('backup run on a terminal', () => {
  it('shows bytes, files, rate and time left', { timeout: 300_000 }, async () => {
    const r = await underTerminal(['backup', 'run']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/backup \[.*\] 100% \| [\d.]+\/[\d.]+ MiB \| (\d+)\/\1 files \| [\d.]+ MiB\/s \| 0s left/);
    const json = await underTerminal(['backup', 'run', '--incremental', '--json']);
    expect(json.code, json.output).toBe(0);
    expect(json.output).not.toMatch(/MiB\/s/);
  });
});
