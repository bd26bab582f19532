// The `drydock` command as a person runs it: a real process, a real policy file, the real
// PostgreSQL, and signals (SIGTERM, kill -9) sent to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { freshDatabase, type FreshDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
// One process (not the tsx wrapper, which forks a child) so that signals reach Drydock itself.
const NODE_ARGS = ['--import', import.meta.resolve('tsx')];
const MAIN = join(ROOT, 'src/cli/main.ts');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [...NODE_ARGS, MAIN, ...args], {
    cwd,
    env: { ...process.env, DRYDOCK_POLICY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<Result>((r) => child.on('close', (code) => r({ code, stdout, stderr })));
  return { child, done };
}

const drydock = (args: string[], cwd: string, env: Record<string, string> = {}) => start(args, cwd, env).done;

let dir: string;
let db: FreshDatabase;

function writePolicy(name: string, policy: Record<string, unknown>): string {
  const path = join(dir, name);
  // No blackouts unless a test sets them, so results do not depend on the time of day the suite runs.
  writeFileSync(
    path,
    stringify({
      state: { path: 'state.sqlite' },
      maintenance_windows: { blackout: { periods: [] } },
      backup: { repository: { path: join(dir, 'repository') } },
      ...policy,
    }),
  );
  return path;
}

function targetFor(database: string, port = 5432) {
  return { host: '127.0.0.1', port, database, user: 'postgres', connect_timeout: '2 seconds' };
}

function openState(): SqliteStore {
  return new SqliteStore(openSqlite(join(dir, 'state.sqlite')));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-cli-'));
  db = await freshDatabase('cli');
  const client = await db.connect();
  await client.query(
    `CREATE TABLE listings (id serial PRIMARY KEY, title text); INSERT INTO listings (title) SELECT 'l' || g FROM generate_series(1, 1000) g; DELETE FROM listings WHERE id % 2 = 0;`,
  );
  await client.end();
});

afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('drydock config', () => {
  it('check exits 2 and lists every problem with its path and line', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'cache:\n  eviction:\n    threshold:\n      memory: eighty\ndatabase:\n  vacum: {}\n');
    const result = await drydock(['--policy', file, 'config', 'check'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('2 problems');
    expect(result.stderr).toContain(
      `${file}:4:15: cache.eviction.threshold.memory: expected a percentage like "80%", got "eighty"`,
    );
    expect(result.stderr).toContain(`${file}:6:3: database.vacum: unknown key "vacum"`);
  });

  it('check passes a valid file, and print --defaults shows the spec', async () => {
    const file = writePolicy('ok.yaml', { database: { vacuum: { time: '04:00 UTC' } } });
    expect(await drydock(['--policy', file, 'config', 'check'], dir)).toMatchObject({
      code: 0,
      stdout: `${file}: ok\n`,
    });
    const defaults = await drydock(['config', 'print', '--defaults'], dir);
    expect(defaults.code).toBe(0);
    expect(defaults.stdout).toContain('time: 03:00 UTC');
    expect(defaults.stdout).toContain('sync_check: every 15 minutes');
  });

  it('a daemon refuses to start on an invalid policy', async () => {
    const file = join(dir, 'bad2.yaml');
    writeFileSync(file, 'engine:\n  retry:\n    attempts: many\n');
    const result = await drydock(['--policy', file, 'start', '--no-http'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('engine.retry.attempts: expected a whole number, got "many"');
  });
});

describe('usage errors', () => {
  it.each([
    [['history', '--bogus'], /unknown option '--bogus'/],
    [['show'], /missing required argument 'run'/],
    [['show', 'abc'], /value 'abc' is invalid for argument 'run'/],
    [['plan', '--days', '0'], /option '--days <n>' argument '0' is invalid\. expected a whole number from 1 to 400/],
    [['history', '--limit', 'abc'], /option '--limit <n>' argument 'abc' is invalid/],
    [['activity', '--since', 'soon'], /option '--since <duration>' argument 'soon' is invalid/],
    [
      ['restore', '--to', '/nonexistent', '--target-time', 'yesterday'],
      /argument 'yesterday' is invalid\. expected a date and time/,
    ],
    [['start', '--port', '99999'], /argument '99999' is invalid/],
    [['run', 'database.vacum'], /unknown task "database\.vacum"\. did you mean database\.vacuum\?/],
    [['run', 'server.health_chek', '--dry-run'], /did you mean server\.health_check\?/],
  ])('drydock %j exits 2 with a message and changes nothing', async (args, message) => {
    const file = writePolicy('usage.yaml', { targets: { postgres: targetFor(db.name) } });
    const result = await drydock(['--policy', file, ...args], dir);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('drydock tasks and plan', () => {
  it('lists every procedure and says plainly which are not implemented', async () => {
    const result = await drydock(['tasks'], dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/database\.vacuum\s+daily at 03:00 UTC\s+\d{4}-\d\d-\d\dT03:00:00Z\s+implemented/);
    expect(result.stdout).toMatch(/network\.dns\.health_check\s+hourly.*implemented/);
    expect(result.stdout).toMatch(/cache\.metrics\s+.*implemented by the daemon's metrics collector/);
    // Every procedure of the spec is carried out now.
    expect(result.stdout).not.toMatch(/not implemented yet/);
  });

  it('plan --days 35 prints the exact upcoming runs in UTC', async () => {
    const result = await drydock(['plan', '--days', '35', '--json'], dir);
    const plan = JSON.parse(result.stdout) as {
      windows: Array<{ start: string; end: string }>;
      runs: Array<{ taskId: string; at: string; gate: { decision: string } }>;
    };
    const runs = plan.runs;
    // The first Sunday of each month, 02:00-06:00 UTC.
    expect(plan.windows.length).toBeGreaterThanOrEqual(1);
    for (const w of plan.windows) {
      const start = new Date(w.start);
      expect([start.getUTCDay(), start.getUTCHours(), start.getUTCDate() <= 7]).toEqual([0, 2, true]);
      expect(new Date(w.end).getTime() - start.getTime()).toBe(4 * 3_600_000);
    }
    const vacuum = runs.filter((r) => r.taskId === 'database.vacuum');
    expect(vacuum.length).toBeGreaterThanOrEqual(34);
    expect(vacuum.length).toBeLessThanOrEqual(35);
    expect(vacuum.every((r) => r.at.endsWith('T03:00:00.000Z'))).toBe(true);
  });
});

describe('drydock run, history and status', () => {
  it('names host and port when PostgreSQL is unreachable, records the run as failed and exits 1', async () => {
    const file = writePolicy('down.yaml', { targets: { postgres: targetFor('dokkerr', 1) } });
    const result = await drydock(['--policy', file, 'run', 'database.vacuum'], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('cannot reach PostgreSQL at 127.0.0.1:1');
    const history = await drydock(['--policy', file, 'history', '--task', 'database.vacuum', '--json'], dir);
    const [run] = JSON.parse(history.stdout) as Array<{
      status: string;
      error: string;
      steps: Array<{ name: string }>;
    }>;
    expect(run!.status).toBe('failed');
    expect(run!.error).toContain('127.0.0.1:1');
    const status = await drydock(['--policy', file, 'status'], dir);
    expect(status.stdout).toMatch(/database\.vacuum\s+#\d+\s+failed/);
  });

  it('runs a real vacuum through the lifecycle and shows it in history', async () => {
    const file = writePolicy('ok-run.yaml', {
      targets: { postgres: targetFor(db.name) },
      database: { vacuum: { tables: ['listings'] } },
    });
    const result = await drydock(['--policy', file, 'run', 'database.vacuum'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/run #\d+ {2}database\.vacuum {2}succeeded/);
    expect(result.stdout).toContain('step 1 notify stakeholders: succeeded');
    expect(result.stdout).toMatch(/listings\.dead_tuples: 500 → 0 rows/);
    const history = await drydock(['--policy', file, 'history'], dir);
    expect(history.stdout).toMatch(/#\d+\s+database\.vacuum\s+succeeded/);
  });
});

describe('drydock run --dry-run', () => {
  it('shows what server.cleanup would delete and deletes nothing; other tasks refuse the flag', async () => {
    const root = join(dir, 'tmp-root');
    const old = join(root, 'old.tmp');
    mkdirSync(root, { recursive: true });
    writeFileSync(old, 'x');
    const past = new Date(Date.now() - 10 * 86_400_000);
    utimesSync(old, past, past);
    const file = writePolicy('cleanup.yaml', {
      server: { cleanup: { roots: [root], temp: [{ dir: root, older_than: '1 day' }] } },
    });
    const result = await drydock(['--policy', file, 'run', 'server.cleanup', '--dry-run'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(old);
    expect(result.stdout).toContain('(dry run: nothing was changed)');
    expect(existsSync(old)).toBe(true);
    const refused = await drydock(['--policy', file, 'run', 'database.vacuum', '--dry-run'], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--dry-run is supported by server.cleanup, not by database.vacuum');
  });
});

describe('the gate', () => {
  it('skips a manual run inside a blackout with the reason (exit 3), and --force runs it and records the override', async () => {
    const allWeek = {
      days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
      time: '00:00-23:59 UTC',
    };
    const file = writePolicy('blackout.yaml', {
      targets: { postgres: targetFor(db.name) },
      database: { vacuum: { tables: ['listings'] } },
      maintenance_windows: { blackout: { periods: ['freeze'], definitions: { freeze: { weekly: [allWeek] } } } },
    });
    const skipped = await drydock(['--policy', file, 'run', 'database.vacuum'], dir);
    expect(skipped.code, skipped.stderr).toBe(3);
    expect(skipped.stdout).toMatch(/database\.vacuum {2}skipped \(maintenance-window: .*freeze/);
    const forced = await drydock(['--policy', file, 'run', 'database.vacuum', '--force'], dir);
    expect(forced.code, forced.stderr).toBe(0);
    const activity = await drydock(['--policy', file, 'activity', '--json'], dir);
    const kinds = (JSON.parse(activity.stdout) as Array<{ kind: string; message: string }>).filter(
      (a) => a.kind === 'run.gate_overridden',
    );
    expect(kinds[0]!.message).toMatch(/runs despite maintenance-window: .*freeze.*forced by manual request/);
  });
});

describe('crashes and signals', () => {
  it('after kill -9 mid-run, the next start marks the run interrupted and never loses its record', async () => {
    const file = writePolicy('kill.yaml', {
      targets: { postgres: targetFor(db.name) },
      database: { vacuum: { tables: ['listings'], lock_timeout: '60 seconds' } },
    });
    const holder = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db.name });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');
    const { child, done } = start(['--policy', file, 'run', 'database.vacuum'], dir);
    const store = openState();
    try {
      const running = await waitFor('the vacuum step to start', async () => {
        const [run] = await store.openRuns('database.vacuum');
        if (!run) return undefined;
        const steps = await store.listSteps(run.id);
        return steps.some((s) => s.name === 'vacuum listings' && s.status === 'running') ? run : undefined;
      });
      child.kill('SIGKILL');
      await done;
      expect((await store.getRun(running.id))!.status).toBe('running');

      const status = await drydock(['--policy', file, 'run', 'drydock.activity_log.prune'], dir);
      expect(status.code, status.stderr).toBe(0);
      const after = (await store.getRun(running.id))!;
      expect(after.status).toBe('interrupted');
      expect(after.reason).toMatch(/died without finishing the run \(killed or crashed\)/);
      expect((await store.listSteps(running.id)).map((s) => s.name)).toContain('vacuum listings');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await store.close();
    }
  });

  it('SIGTERM stops an idle daemon at once, not after the shutdown grace', async () => {
    const file = writePolicy('idle.yaml', {
      targets: { postgres: targetFor(db.name) },
      engine: { shutdown_grace: '60 seconds' },
    });
    const { child, done } = start(['--policy', file, 'start', '--no-http'], dir);
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    await waitFor('the scheduler to run', () => out.includes('scheduler running') || undefined);
    // The slots caught up at start finish first; then the daemon is idle.
    const store = openState();
    await waitFor('the start-up runs to end', async () => ((await store.openRuns()).length === 0 ? true : undefined));
    await store.close();
    const sent = Date.now();
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('SIGTERM: stopping; 0 run(s) in progress');
    // Well inside the 60-second grace: nothing was running, so nothing is waited for.
    expect(Date.now() - sent).toBeLessThan(15_000);
  });

  it('Ctrl-C on a foreground run aborts it cleanly and records it as interrupted', async () => {
    const file = writePolicy('sigint.yaml', {
      targets: { postgres: targetFor(db.name) },
      database: { vacuum: { tables: ['listings'], lock_timeout: '60 seconds' } },
    });
    const holder = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db.name });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');
    const { child, done } = start(['--policy', file, 'run', 'database.vacuum'], dir);
    const store = openState();
    try {
      const running = await waitFor('the vacuum step to block on the lock', async () => {
        const [run] = await store.openRuns('database.vacuum');
        if (!run) return undefined;
        const steps = await store.listSteps(run.id);
        return steps.some((s) => s.name === 'vacuum listings' && s.status === 'running') ? run : undefined;
      });
      child.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('SIGINT: stopping the run');
      expect((await store.getRun(running.id))!.status).toBe('interrupted');
      expect(await store.listInstances()).toEqual([]);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await store.close();
    }
  });

  it('SIGTERM stops the daemon gracefully and records what was running as interrupted', async () => {
    const file = writePolicy('term.yaml', {
      targets: { postgres: targetFor(db.name) },
      database: { vacuum: { tables: ['listings'], lock_timeout: '60 seconds', frequency: 'every 2 seconds' } },
      engine: { shutdown_grace: '60 seconds' },
    });
    const holder = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db.name });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE listings IN ACCESS EXCLUSIVE MODE');
    const { child, done } = start(['--policy', file, 'start', '--no-http'], dir);
    const store = openState();
    try {
      const running = await waitFor('a scheduled vacuum to block on the lock', async () => {
        const [run] = await store.openRuns('database.vacuum');
        if (!run) return undefined;
        return (await store.listSteps(run.id)).some((s) => s.name === 'vacuum listings') ? run : undefined;
      });
      expect(running.trigger).toBe('schedule');
      const sent = Date.now();
      child.kill('SIGTERM');
      const result = await done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('SIGTERM: stopping');
      // The cancelled run is recorded and the daemon exits: it does not sit out the 60-second grace.
      expect(Date.now() - sent).toBeLessThan(20_000);
      const after = (await store.getRun(running.id))!;
      expect(after.status).toBe('interrupted');
      const kinds = (await store.listActivity({ limit: 200 })).map((a) => a.kind);
      expect(kinds).toContain('daemon.stopped');
      // The cancelled VACUUM left no session behind.
      const left = await holder.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'drydock%' AND datname = current_database()",
      );
      expect(left.rows[0].n).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await store.close();
    }
  });
});
