// Every command of the PostgreSQL backup area, run as a person runs it (a real `drydock` process,
// a policy file, a throwaway cluster archiving into the repository) with --json: each prints one
// JSON document (no BigInt crash, no progress bar mixed in) and exits 0; the readable forms print
// summaries, not raw JSON.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PG_BIN } from '../helpers/pg-cluster.js';
import { createFixture, type BackupFixture } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let fx: BackupFixture;
let policyFile: string;

function drydock(...args: string[]): Promise<Result> {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), MAIN, '--policy', policyFile, ...args],
    {
      cwd: fx.work,
      env: { ...process.env, DRYDOCK_POLICY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await drydock(...args, '--json');
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  fx = await createFixture();
  await fx.cluster.query(`CREATE TABLE listings (id int primary key, title text)`);
  await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 3000) g`);
  policyFile = join(fx.work, 'policy.yaml');
  writeFileSync(
    policyFile,
    stringify({
      state: { path: join(fx.work, 'state.sqlite') },
      maintenance_windows: { blackout: { periods: [] } },
      targets: {
        postgres: { host: '127.0.0.1', port: fx.cluster.port, database: 'postgres', user: 'postgres' },
      },
      backup: {
        repository: { path: fx.repoPath, compression: 'zstd', level: 1, processes: 2 },
        postgres: {
          data_directory: fx.cluster.dataDir,
          bin_directory: PG_BIN,
          restore_command: fx.restoreCommand,
          verify_tables: ['listings'],
        },
      },
    }),
  );
}, 120_000);

afterAll(() => {
  fx?.cluster.destroy();
  if (fx) rmSync(fx.work, { recursive: true, force: true });
});

describe('backup commands with --json', () => {
  let list: Array<{ id: string; kind: string; walStart: string }> = [];
  it('backup run (full and --incremental) and backup list', { timeout: 300_000 }, async () => {
    const full = await json<{ status: string; steps: unknown[] }>('backup', 'run');
    expect(full.status).toBe('succeeded');
    await fx.cluster.query(`UPDATE listings SET title = 'x' WHERE id <= 100`);
    const inc = await json<{ status: string }>('backup', 'run', '--incremental');
    expect(inc.status).toBe('succeeded');
    list = await json<Array<{ id: string; kind: string; walStart: string }>>('backup', 'list');
    expect(list.map((b) => b.kind)).toEqual(['full', 'incremental']);
  });

  it('backup verify, as JSON and as a readable summary', { timeout: 120_000 }, async () => {
    const verify = await json<{ backups: number; problems: unknown[] }>('backup', 'verify');
    expect(verify).toMatchObject({ backups: 2, problems: [] });
    const readable = await drydock('backup', 'verify');
    expect(readable.stdout).toMatch(/2 backup\(s\), .* checked: .*\nno problems found/);
  });

  it(
    'backup expire and expire --dry-run (the retention plan holds a bigint inside)',
    { timeout: 120_000 },
    async () => {
      const dry = await json<{ dryRun: boolean; plan: { walKeepFrom: string } }>('backup', 'expire', '--dry-run');
      expect(dry.dryRun).toBe(true);
      expect(dry.plan.walKeepFrom).toBe(list[0]!.walStart);
      const expired = await json<{ dryRun: boolean; removedBackups: string[] }>('backup', 'expire');
      expect(expired).toMatchObject({ dryRun: false, removedBackups: [] });
    },
  );

  it('backup restore-test', { timeout: 300_000 }, async () => {
    const test = await json<{ status: string }>('backup', 'restore-test');
    expect(test.status).toBe('succeeded');
  });

  it('restore --wait, as JSON and as a readable summary', { timeout: 300_000 }, async () => {
    // A transaction after the last backup: replaying the archive must reach it.
    await fx.cluster.query(`INSERT INTO listings VALUES (1000000, 'after the backups')`);
    await fx.cluster.switchWalAndWait();
    const to = join(fx.work, 'restored');
    const restored = await json<{
      chain: string[];
      wal: { timeline: number; segments: number; newestCommit: { xid: number; at: string } };
      recovery: {
        timeline: number;
        recoveredTo: string | null;
        lastTransaction: { at: string; xid: number | null } | null;
      };
    }>('restore', '--to', to, '--wait');
    expect(restored.chain).toEqual(list.map((b) => b.id));
    expect(restored.wal.segments).toBeGreaterThan(0);
    expect(restored.recovery.timeline).toBe(2);
    // The last transaction replayed is the newest one archived (its id read from the WAL).
    expect(restored.recovery.lastTransaction).toEqual(restored.wal.newestCommit);
    expect(restored.recovery.recoveredTo).toBe(restored.wal.newestCommit.at);
    expect(existsSync(join(to, 'PG_VERSION'))).toBe(true);
    const again = await drydock('restore', '--to', join(fx.work, 'restored-2'), '--no-progress');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^restored backup .* \(chain .*\): \d+ files/m);
    expect(again.stdout).toMatch(/WAL checked present and intact: \d+ segment\(s\)/);
  });
});
