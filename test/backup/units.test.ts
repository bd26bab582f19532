import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupForTime, chooseParent, resolveChain } from '../../src/backup/chain.js';
import { crc32c, crc32cCombine, manifestCrcHex } from '../../src/backup/crc32c.js';
import { formatLsn, parseLsn, segmentsBetween, walFileName } from '../../src/backup/lsn.js';
import { buildPgManifest } from '../../src/backup/pg-manifest.js';
import { openRepository } from '../../src/backup/repository.js';
import { planRestore } from '../../src/backup/restore-plan.js';
import type { BackupManifest, BackupRecord, ManifestFile } from '../../src/backup/types.js';
import { findWal, getWal, pushWal } from '../../src/backup/wal-archive.js';

const tmp = mkdtempSync(join(tmpdir(), 'drydock-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('LSNs and WAL names', () => {
  it('parses, formats and names segments like PostgreSQL', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(walFileName(1, parseLsn('0/A000028'))).toBe('00000001000000000000000A');
    expect(walFileName(2, parseLsn('1/FF000000'))).toBe('0000000200000001000000FF');
    expect(segmentsBetween(1, parseLsn('0/2000028'), parseLsn('0/4000100'))).toEqual([
      '000000010000000000000002',
      '000000010000000000000003',
      '000000010000000000000004',
    ]);
    // An end exactly on a boundary does not need the next segment.
    expect(segmentsBetween(1, parseLsn('0/2000028'), parseLsn('0/3000000'))).toEqual(['000000010000000000000002']);
    expect(() => parseLsn('nope')).toThrow(/not an LSN/);
  });
});

describe('CRC-32C', () => {
  it('matches the standard check value and combines ranges', async () => {
    expect(await crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const a = randomBytes(100_003);
    const b = randomBytes(65_536);
    const whole = await crc32c(Buffer.concat([a, b]));
    expect(crc32cCombine(await crc32c(a), await crc32c(b), b.length)).toBe(whole);
    expect(manifestCrcHex(0xe3069283)).toBe('839206e3');
  });
});

describe('PostgreSQL manifest', () => {
  it('ends with the SHA-256 of everything before the checksum line', () => {
    const text = buildPgManifest(
      [{ path: 'base/1/1259', size: 8192, mtimeMs: Date.UTC(2026, 10, 26, 23, 12, 19, 500), crc: 0xe3069283 }],
      { timeline: 1, startLsn: '0/2000028', endLsn: '0/2000100' },
    );
    const parsed = JSON.parse(text);
    expect(parsed.Files[0]['Last-Modified']).toBe('2026-11-26 23:12:19 GMT');
    expect(parsed.Files[0].Checksum).toBe('839206e3');
    const cut = text.lastIndexOf('\n', text.length - 2) + 1;
    expect(parsed['Manifest-Checksum']).toBe(createHash('sha256').update(text.slice(0, cut)).digest('hex'));
  });
});

const rec = (
  id: string,
  kind: 'full' | 'incremental',
  parent: string | null,
  stoppedAt: string,
  systemIdentifier = 'S1',
) =>
  ({ id, kind, parent, stoppedAt, systemIdentifier, timeline: 1 }) as Pick<
    BackupRecord,
    'id' | 'kind' | 'parent' | 'systemIdentifier' | 'stoppedAt' | 'timeline'
  >;

describe('chain resolution', () => {
  const records = [
    rec('20261101-010000F', 'full', null, '2026-11-01T01:05:00Z'),
    rec('20261101-020000I', 'incremental', '20261101-010000F', '2026-11-01T02:01:00Z'),
    rec('20261101-030000I', 'incremental', '20261101-020000I', '2026-11-01T03:01:00Z'),
    rec('20261101-040000F', 'full', null, '2026-11-01T04:05:00Z', 'OTHER'),
  ];
  it('builds the chain full first', () => {
    expect(resolveChain(records, '20261101-030000I').map((r) => r.id)).toEqual([
      '20261101-010000F',
      '20261101-020000I',
      '20261101-030000I',
    ]);
  });
  it('names the missing piece', () => {
    expect(() =>
      resolveChain(
        records.filter((r) => r.id !== '20261101-020000I'),
        '20261101-030000I',
      ),
    ).toThrow(/20261101-020000I, needed by 20261101-030000I, is missing/);
  });
  it('picks the parent from the same cluster and the backup for a time', () => {
    expect(chooseParent(records, 'S1')!.id).toBe('20261101-030000I');
    expect(chooseParent(records, 'NONE')).toBeUndefined();
    expect(backupForTime(records, new Date('2026-11-01T02:30:00Z'))!.id).toBe('20261101-020000I');
    expect(backupForTime(records, new Date('2026-11-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('restore plan', () => {
  const file = (path: string, kind: 'whole' | 'delta'): ManifestFile => ({
    path,
    size: 8192,
    mtimeMs: 0,
    mode: 0o600,
    crc: 0,
    kind,
    objects: [],
  });
  const manifest = (id: string, files: ManifestFile[]): BackupManifest => ({
    format: 'drydock-backup-manifest',
    version: 1,
    id,
    kind: 'full',
    parent: null,
    files,
    dirs: [],
    packs: [],
  });
  it('starts each file from its newest whole copy and applies later deltas', () => {
    const plans = planRestore([
      manifest('F', [file('a', 'whole'), file('b', 'whole')]),
      manifest('I1', [file('a', 'delta'), file('b', 'whole')]),
      manifest('I2', [file('a', 'delta'), file('b', 'delta'), file('c', 'whole')]),
    ]);
    const steps = Object.fromEntries(plans.map((p) => [p.file.path, p.steps.map((s) => s.backup)]));
    expect(steps).toEqual({ a: [0, 1, 2], b: [1, 2], c: [2] });
  });
  it('refuses a delta with no base, naming the file', () => {
    expect(() => planRestore([manifest('F', [file('x', 'whole')]), manifest('I1', [file('a', 'delta')])])).toThrow(
      /changed pages of a, but F has no copy/,
    );
  });
});

describe('WAL archive', () => {
  const repo = openRepository(
    { path: join(tmp, 'repo'), compression: 'zstd', level: 1, processes: 1 },
    { create: true },
  );
  const name = '000000010000000000000007';
  const seg = join(tmp, 'seg');
  writeFileSync(seg, Buffer.concat([randomBytes(4096), Buffer.alloc(1 << 20)]));

  it('stores compressed, is idempotent, and refuses a different segment under the same name', () => {
    expect(pushWal(repo, seg, name)).toBe('stored');
    expect(pushWal(repo, seg, name)).toBe('duplicate');
    const [stored] = findWal(repo, name);
    expect(readFileSync(stored!.path).length).toBeLessThan(100_000);
    const other = join(tmp, 'other');
    writeFileSync(other, randomBytes(1000));
    expect(() => pushWal(repo, other, name)).toThrow(/already archived with different content/);
  });
  it('gets it back byte for byte, says "not archived" for unknown names, and names a damaged file', () => {
    const dest = join(tmp, 'got');
    expect(getWal(repo, name, dest)).toBe(true);
    expect(readFileSync(dest).equals(readFileSync(seg))).toBe(true);
    expect(getWal(repo, '000000010000000000000099', dest)).toBe(false);
    const [stored] = findWal(repo, name);
    const bytes = readFileSync(stored!.path);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(stored!.path, bytes);
    expect(() => getWal(repo, name, dest)).toThrow(/archived WAL 000000010000000000000007 is damaged/);
  });
  it('encrypts when a key is set and refuses a wrong key', () => {
    const path = join(tmp, 'enc');
    const key = 'k'.repeat(20);
    const enc = openRepository(
      { path, compression: 'zstd', level: 1, processes: 1, encryptionKey: key },
      { create: true },
    );
    pushWal(enc, seg, name);
    const [stored] = findWal(enc, name);
    // Zstd's magic number is not visible in an encrypted object.
    expect(
      readFileSync(stored!.path)
        .subarray(0, 4)
        .equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])),
    ).toBe(false);
    const dest = join(tmp, 'enc-got');
    expect(getWal(enc, name, dest)).toBe(true);
    expect(readFileSync(dest).equals(readFileSync(seg))).toBe(true);
    expect(() => openRepository({ path, compression: 'zstd', level: 1, processes: 1, encryptionKey: 'wrong' })).toThrow(
      /does not match/,
    );
    expect(() => openRepository({ path, compression: 'zstd', level: 1, processes: 1 })).toThrow(/encrypted but no key/);
  });
});
