import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgCluster } from '../helpers/pg-cluster.js';

describe('throwaway cluster helper', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await PgCluster.create();
  });
  afterAll(() => cluster?.destroy());

  it('runs with data checksums and archives WAL', async () => {
    const [row] = await cluster.query<{ data_checksums: string }>('SHOW data_checksums');
    expect(row!.data_checksums).toBe('on');
    await cluster.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
    const segment = await cluster.switchWalAndWait();
    expect(readdirSync(cluster.archiveDir)).toContain(segment);
  });

  it('can be killed and restarted (crash recovery)', async () => {
    await cluster.kill();
    cluster.start();
    const [row] = await cluster.query<{ n: string }>('SELECT count(*) AS n FROM t');
    expect(Number(row!.n)).toBe(1000);
  });

  it('destroy removes the directory', async () => {
    const other = await PgCluster.create({ archiveMode: 'off' });
    const dir = other.dir;
    other.destroy();
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});
