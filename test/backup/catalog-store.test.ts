import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { BackupCatalogStore } from '../../src/store/sqlite/backups.js';
import type { BackupRecord } from '../../src/backup/types.js';

const record = (id: string, parent: string | null = null): BackupRecord =>
  ({
    id,
    kind: parent ? 'incremental' : 'full',
    parent,
    chain: [id],
    startedAt: '2026-11-26T01:00:00Z',
    stoppedAt: '2026-11-26T01:01:00Z',
    startLsn: '0/2000028',
    stopLsn: '0/2000100',
    timeline: 1,
    size: 100,
    storedSize: 10,
  }) as BackupRecord;

describe('backup catalog in the state file', () => {
  it('mirrors the repository catalog; the repository wins on sync', async () => {
    const store = new BackupCatalogStore(openSqlite(':memory:'));
    await store.upsert('/repo', record('A'));
    await store.upsert('/repo', record('B', 'A'));
    await store.upsert('/other', record('Z'));
    expect((await store.list('/repo')).map((r) => r.id)).toEqual(['A', 'B']);
    const changes = await store.sync('/repo', [record('B', 'A'), record('C', 'B')], new Date());
    expect(changes).toEqual({ added: ['C'], removed: ['A'] });
    expect((await store.list('/repo')).map((r) => r.id)).toEqual(['B', 'C']);
    expect((await store.list('/other')).map((r) => r.id)).toEqual(['Z']);
  });
});
