// `drydock start --demo` as a newcomer runs it: its own PostgreSQL cluster, redis-server and
// folders, every row of the tour green (point-in-time restore included), nothing touched that it did
// not create, and its servers stopped when the daemon stops.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { processAlive } from '../../src/adapters/process.js';
import { PG_HOST, PG_PORT } from '../helpers/pg.js';
import { chownTree } from '../helpers/pg-cluster.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'drydock-demo-'));
// PostgreSQL runs as the postgres account under root: it must be able to enter the demo folder.
chownTree(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function machineDatabases(): Promise<string[]> {
  const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

describe('drydock start --demo', () => {
  it('runs every row of the tour green on its own servers, touches nothing else, and stops them when it stops', async () => {
    const before = await machineDatabases();
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/drydock.js'), 'start', '--demo', '--no-http', '--demo-dir', join(dir, 'demo')],
      { cwd: dir, env: { ...process.env, DRYDOCK_POLICY: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      const deadline = Date.now() + 400_000;
      while (!stdout.includes('scheduler running') && Date.now() < deadline && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 250));
      expect(stdout, stderr).toContain('scheduler running');

      const summary = stdout.slice(stdout.indexOf('=== Summary of the tour'), stdout.indexOf('scheduler running'));
      const rows = summary
        .split('\n')
        .slice(3)
        .filter((line) => /^\S+/.test(line) && !line.startsWith('the demo'))
        .map((line) => line.split(/\s{2,}/));
      const outcomes: Record<string, string> = Object.fromEntries(
        rows.map(([task, outcome]): [string, string] => [task ?? '', outcome ?? '']),
      );
      expect(Object.keys(outcomes)).toEqual(
        expect.arrayContaining([
          'database.vacuum',
          'database.index_rebuild',
          'cache.eviction',
          'backup.database.full',
          'backup.validation.restore_test',
          'backup.files.user_uploads',
          'point-in-time restore',
        ]),
      );
      for (const [task, outcome] of Object.entries(outcomes)) {
        if (task === 'backup.files.configuration' || task.startsWith('network.firewall.')) expect(outcome).toBe('-');
        else expect(outcome, `${task}\n${summary}`).toBe('succeeded');
      }
      expect(summary).toMatch(/point-in-time restore\s+succeeded\s+restored to .*the row written before is there/);
      expect(stdout).toMatch(/removed \d+ keys \(.*\) from cache:/);

      // The policy the demo wrote points only at what it created.
      const policy = parse(readFileSync(join(dir, 'demo', 'drydock.yaml'), 'utf8')) as {
        targets: { postgres: { port: number; database: string }; redis: { port: number } };
        backup: { postgres: { restore_command: string; data_directory: string } };
      };
      expect(policy.targets.postgres.database).toBe('drydock_demo');
      expect(policy.targets.postgres.port).not.toBe(5432);
      expect(policy.targets.redis.port).not.toBe(6379);
      expect(policy.backup.postgres.data_directory).toBe(join(dir, 'demo', 'postgres', 'data'));
      expect(policy.backup.postgres.restore_command).toMatch(
        /^\/\S+\/node \/\S+\/bin\/drydock\.js --policy \S+ wal get %f "%p"$/,
      );
      const conf = readFileSync(join(dir, 'demo', 'postgres', 'data', 'postgresql.conf'), 'utf8');
      expect(conf).toMatch(/^archive_command = '\/\S+\/node \/\S+\/bin\/drydock\.js --policy \S+ wal push "%p" %f'$/m);
      const pgPid = Number(
        readFileSync(join(dir, 'demo', 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      const redisPid = Number(readFileSync(join(dir, 'demo', 'redis', 'redis.pid'), 'utf8').trim());
      expect(processAlive(pgPid)).toBe(true);
      expect(processAlive(redisPid)).toBe(true);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain("the demo's PostgreSQL and redis-server are stopped");
      expect(processAlive(pgPid)).toBe(false);
      expect(processAlive(redisPid)).toBe(false);
      expect(existsSync(join(dir, 'demo', 'postgres', 'data', 'postmaster.pid'))).toBe(false);
      // Nothing on the machine's own PostgreSQL was created (no "dokkerr", no demo database there).
      expect((await machineDatabases()).filter((d) => !before.includes(d) && !d.startsWith('drydock_test_'))).toEqual(
        [],
      );
    } finally {
      // On a failed assertion the demo still stops its own servers before the folder goes.
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 480_000);
});
