// A tablespace outside the data directory is refused before pg_backup_start, by name (not by OID
// after the backup has started).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { chownTree } from '../helpers/pg-cluster.js';
import { createFixture, type BackupFixture } from './helpers.js';

describe('tablespaces outside the data directory', () => {
  let fx: BackupFixture | undefined;
  afterAll(() => {
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('are refused by name before pg_backup_start', async () => {
    fx = await createFixture({ settings: { log_statement: "'all'" } });
    const location = join(fx.work, 'ts-archive');
    mkdirSync(location);
    chownTree(location);
    await fx.cluster.query(`CREATE TABLESPACE cold_storage LOCATION '${location}'`);
    await fx.cluster.query(`CREATE TABLE old_bookings (id int) TABLESPACE cold_storage`);
    await expect(runPostgresBackup(fx.backupOptions('full'))).rejects.toThrow(
      `the cluster has tablespaces outside the data directory, which Drydock does not back up yet: cold_storage (${location})`,
    );
    // Statements are logged (log_statement = all): the check ran, and pg_backup_start never did.
    expect(fx.cluster.log()).toMatch(/pg_tablespace_location/);
    expect(fx.cluster.log()).not.toMatch(/pg_backup_start/);
    expect(readdirSync(join(fx.repoPath, 'backups'))).toEqual([]);
  });
});
