import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupLogical,
  listLogicalBackups,
  restoreLogical,
  verifyLogicalBackup,
} from '../../src/backup/logical-dump.js';
import { openRepository } from '../../src/backup/repository.js';
import { checkRepository } from '../../src/backup/pg-integrity.js';
import { tableFigures } from '../../src/backup/table-figures.js';
import { makeTempDir, PG_BIN, PgCluster } from '../helpers/pg-cluster.js';
import { testContext, testPolicy } from '../helpers/context.js';
import { backupFullTask, backupIncrementalTask } from '../../src/tasks/backup/postgres-backup.js';

describe('logical backups with pg_dump (a database reached only over the network)', () => {
  let cluster: PgCluster;
  let work: string;
  beforeAll(async () => {
    work = makeTempDir('drydock-logical-');
    cluster = await PgCluster.create({ archiveMode: 'off' });
    await cluster.query('CREATE DATABASE dokkerr');
    await cluster.query(`CREATE TABLE listings (id int primary key, title text)`, [], 'dokkerr');
    await cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 20000) g`, [], 'dokkerr');
  });
  afterAll(() => {
    cluster?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  for (const encrypted of [false, true]) {
    it(`dumps, verifies and restores to identical content${encrypted ? ' (encrypted repository)' : ''}`, async () => {
      const repo = openRepository(
        {
          path: join(work, encrypted ? 'enc' : 'plain'),
          compression: 'zstd',
          level: 1,
          processes: 1,
          encryptionKey: encrypted ? 'a'.repeat(64) : undefined,
        },
        { create: true },
      );
      const source = {
        host: '127.0.0.1',
        port: cluster.port,
        user: 'postgres',
        database: 'dokkerr',
        binDirectory: PG_BIN,
      };
      const record = await backupLogical(repo, source);
      expect(record.tocEntries).toBeGreaterThan(2);
      expect(record.storedBytes).toBeLessThan(record.dumpBytes);
      expect(await verifyLogicalBackup(repo, record, PG_BIN)).toMatchObject({ ok: true });
      expect(listLogicalBackups(repo).map((r) => r.id)).toEqual([record.id]);

      const target = `restored_${encrypted ? 'enc' : 'plain'}`;
      await cluster.query(`CREATE DATABASE ${target}`);
      await restoreLogical(repo, record, { ...source, database: target });
      const a = await cluster.client('dokkerr');
      const b = await cluster.client(target);
      expect(await tableFigures(b, ['listings'])).toEqual(await tableFigures(a, ['listings']));
      await a.end();
      await b.end();

      const path = join(repo.root, 'logical', `${record.id}.dump.zst`);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 4;
      writeFileSync(path, bytes);
      expect(await verifyLogicalBackup(repo, record, PG_BIN)).toEqual({
        ok: false,
        problem: `${record.id}.dump.zst is damaged (checksum mismatch)`,
      });
    });
  }

  it('backup.postgres.method = logical: the full backup task dumps, the incremental task does nothing', async () => {
    const policy = testPolicy({
      targets: { postgres: { host: '127.0.0.1', port: cluster.port, database: 'dokkerr', user: 'postgres' } },
      backup: { repository: { path: join(work, 'task-repo') }, postgres: { method: 'logical', bin_directory: PG_BIN } },
    });
    const ctx = testContext(policy, backupFullTask.id);
    const r = await backupFullTask.execute(ctx);
    expect(r.kind).toBe('logical');
    expect((await backupFullTask.validate(ctx, r)).ok).toBe(true);
    const integrity = await checkRepository(
      openRepository({ path: join(work, 'task-repo'), compression: 'zstd', level: 1, processes: 1 }),
      { binDirectory: PG_BIN },
    );
    expect(integrity).toMatchObject({ backups: 0, logicalBackups: 1, problems: [] });
    const ictx = testContext(policy, backupIncrementalTask.id);
    const skipped = await backupIncrementalTask.execute(ictx);
    expect(skipped).toMatchObject({ kind: 'logical-skipped' });
    expect(ictx.summaries[0]).toMatch(/pg_dump has no incrementals/);
  });

  it('a database that does not exist is a clear error', async () => {
    const repo = openRepository(
      { path: join(work, 'plain'), compression: 'zstd', level: 1, processes: 1 },
      { create: true },
    );
    await expect(
      backupLogical(repo, {
        host: '127.0.0.1',
        port: cluster.port,
        user: 'postgres',
        database: 'nope',
        binDirectory: PG_BIN,
      }),
    ).rejects.toThrow(/pg_dump of nope .* failed: .*database "nope" does not exist/);
  });
});
