import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { checkIntegrity } from '../../src/backup/pg-integrity.js';
import { backupDir, openRepository, readManifest } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { tableFigures } from '../../src/backup/table-figures.js';
import { PgCluster } from '../helpers/pg-cluster.js';
import { createFixture, owner, type BackupFixture } from './helpers.js';

const KEY = '0f'.repeat(32);

describe('encrypted repository (AES-256-GCM)', () => {
  let fx: BackupFixture;
  let restored: PgCluster | undefined;
  beforeAll(async () => {
    fx = await createFixture({ encryptionKey: KEY });
    await fx.cluster.query(`CREATE TABLE listings (id int primary key, title text)`);
    await fx.cluster.query(`INSERT INTO listings SELECT g, 'secret-title-' || g FROM generate_series(1, 20000) g`);
    await fx.cluster.query('VACUUM (FREEZE, ANALYZE)');
  });
  afterAll(() => {
    restored?.destroy();
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('stores no plaintext and no zstd frame, and restores a full + incremental chain', async () => {
    const full = await runPostgresBackup(fx.backupOptions('full'));
    await fx.cluster.query(`UPDATE listings SET title = 'changed-' || id WHERE id % 50 = 0`);
    const inc = await runPostgresBackup(fx.backupOptions('incremental'));
    expect(inc.encrypted).toBe(true);
    const repo = openRepository(fx.repository);
    for (const record of [full, inc]) {
      const manifest = readManifest(repo, record);
      const pack = readFileSync(join(backupDir(repo, record.id), 'pack-0.dat'));
      expect(pack.includes(Buffer.from('secret-title-'))).toBe(false);
      const obj = manifest.files.flatMap((f) => f.objects).find((o) => o.pack === 0)!;
      expect(pack.subarray(obj.offset, obj.offset + 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe(false);
    }
    expect(checkIntegrity(repo).problems).toEqual([]);
    expect(() => openRepository({ ...fx.repository, encryptionKey: '1f'.repeat(32) })).toThrow(/does not match/);

    const to = join(fx.work, 'restored');
    await restoreBackup({
      repository: fx.repository,
      to,
      restoreCommand: fx.restoreCommand,
      owner: owner(),
      targetImmediate: true,
      settings: { archive_mode: 'off' },
    });
    restored = await PgCluster.adopt(to, fx.work);
    restored.start();
    await restored.waitForPromotion();
    const a = await fx.cluster.client();
    const b = await restored.client();
    expect(await tableFigures(b, ['listings'])).toEqual(await tableFigures(a, ['listings']));
    await a.end();
    await b.end();
  });
});
