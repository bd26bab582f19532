// One backup schedule from the two sections of the spec that describe the same backup:
// database.backup (Database Maintenance, daily in the 01:00 UTC window) and backup.database.full
// (Backup & Recovery, daily at 01:00 UTC). One backup at 01:00, hourly incrementals, no double run;
// checked through the planner and through `drydock plan`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { planRuns } from '../../src/schedule/planner.js';
import { createRegistry } from '../../src/tasks/registry.js';

const BACKUPS = ['database.backup', 'backup.database.full', 'backup.database.incremental'];
const from = new Date('2026-11-26T00:00:00Z');
const until = new Date('2026-11-27T00:00:00Z');

function backupRuns(policy: ReturnType<typeof parsePolicy>) {
  return planRuns(createRegistry().all(), policy, from, until).filter((r) => BACKUPS.includes(r.taskId));
}

describe('one backup schedule', () => {
  it('the default policy takes one backup at 01:00 (the full) and hourly incrementals', () => {
    const runs = backupRuns(parsePolicy({}));
    const at1 = runs.filter((r) => r.at.toISOString() === '2026-11-26T01:00:00.000Z');
    expect(at1.map((r) => r.taskId)).toEqual(['backup.database.full']);
    expect(runs.filter((r) => r.taskId === 'database.backup')).toEqual([]);
    expect(runs.filter((r) => r.taskId === 'backup.database.incremental')).toHaveLength(24);
    // Never two backups in the same minute.
    const minutes = runs.map((r) => r.at.toISOString());
    expect(new Set(minutes).size).toBe(minutes.length);
  });

  it('a database.backup window at another time keeps its own slot', () => {
    const runs = backupRuns(parsePolicy({ database: { backup: { window: { start: '03:00 UTC' } } } }));
    expect(runs.filter((r) => r.taskId === 'database.backup').map((r) => r.at.toISOString())).toEqual([
      '2026-11-26T03:00:00.000Z',
    ]);
  });

  it('drydock plan shows one backup at 01:00', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-plan-'));
    try {
      const policy = join(dir, 'policy.yaml');
      writeFileSync(
        policy,
        `state: {path: ${join(dir, 'state.sqlite')}}\nbackup: {repository: {path: ${join(dir, 'repo')}}}\n`,
      );
      const main = resolve(import.meta.dirname, '../../src/cli/main.ts');
      const child = spawn(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), main, '--policy', policy, 'plan', '--days', '2'],
        {
          cwd: dir,
          env: { ...process.env, DRYDOCK_POLICY: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      child.stdout.on('data', (c) => (stdout += c));
      const code = await new Promise((r) => child.on('close', r));
      expect(code).toBe(0);
      const at1 = stdout.split('\n').filter((l) => /T01:00:00Z/.test(l) && /backup/.test(l));
      expect(at1.length).toBeGreaterThan(0);
      expect(at1.every((l) => /backup\.database\.full/.test(l))).toBe(true);
      expect(stdout).not.toMatch(/T01:00:00Z\s+database\.backup/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
