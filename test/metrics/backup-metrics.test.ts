import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordAttempt } from '../../src/backup/history.js';
import { openRepository } from '../../src/backup/repository.js';
import { repositorySettings } from '../../src/backup/settings.js';
import { fixedClock } from '../../src/clock.js';
import { backupMetrics } from '../../src/metrics/collect-backup.js';
import { createMonitoring } from '../../src/monitoring/metrics-and-alerts.js';
import type { Channel } from '../../src/notify/types.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { policyFrom } from '../tasks/cache/task-context.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-backup-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('backupMetrics (pure)', () => {
  it('reports the newest attempt per kind and the absolute size change of the newest backup', () => {
    const values = backupMetrics(
      [
        { at: '2026-11-25T01:00:00Z', kind: 'full', ok: false },
        { at: '2026-11-26T01:00:00Z', kind: 'full', ok: true },
        { at: '2026-11-26T02:00:00Z', kind: 'incremental', ok: false },
      ],
      [
        { id: 'full-20261125', kind: 'full', storedSize: 1000 },
        { id: 'full-20261126', kind: 'full', storedSize: 700 },
      ],
    );
    expect(values).toEqual([
      { name: 'backup_failed', labels: { kind: 'full' }, value: 0 },
      { name: 'backup_failed', labels: { kind: 'incremental' }, value: 1 },
      { name: 'backup_size_change_ratio', labels: { kind: 'full' }, value: 0.3 },
    ]);
  });
});

describe('backup failures reach the alert rules', () => {
  it('fires at once on a failed backup in the repository and resolves when the next one succeeds', async () => {
    const policy = policyFrom({ backup: { repository: { path: join(dir, 'repo') } } });
    const repo = openRepository(repositorySettings(policy), { create: true });
    const db = openSqlite(':memory:');
    const clock = fixedClock(new Date('2026-11-26T03:00:00Z'));
    const subjects: string[] = [];
    const log: Channel = {
      name: 'log',
      type: 'log',
      send: async (m) => {
        subjects.push(`${m.subject} | ${m.text}`);
        return { ok: true, detail: 'logged', retryable: false };
      },
    };
    const monitoring = createMonitoring({
      db,
      policy,
      clock,
      channels: new Map([['log', log]]),
      targets: { host: false, redis: [], postgres: [] },
    });
    recordAttempt(repo, { at: '2026-11-26T01:00:00Z', kind: 'full', ok: false, error: 'disk full' });
    const report = await monitoring.collector.collectOnce();
    expect(report.targets).toEqual([{ kind: 'backup', target: join(dir, 'repo'), up: true }]);
    expect(subjects).toEqual([
      '[FIRING] Backup failed: full | Backup failed: full: the latest attempt failed since 2026-11-26T03:00:00.000Z.',
    ]);
    recordAttempt(repo, { at: '2026-11-26T02:00:00Z', kind: 'full', ok: true });
    clock.advance(60_000);
    await monitoring.collector.collectOnce();
    expect(subjects[1]).toMatch(/^\[RESOLVED\] Backup failed: full/);
    db.close();
  });
});
