// The repository checks itself: catalog entries, the repository file, PostgreSQL's backup_manifest
// and history.jsonl carry checksums; verify names a damaged one (never a raw JSON parse error), and
// restore and expire never trust it. A valid-looking flip in a full backup's walStart must not make
// expire delete the WAL that backup needs.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPostgresBackup } from '../../src/backup/backup-postgres.js';
import { verifyRepository } from '../../src/backup/commands.js';
import { expireRepository } from '../../src/backup/pg-expire.js';
import { readAttempts } from '../../src/backup/history.js';
import { checkIntegrity } from '../../src/backup/pg-integrity.js';
import { backupDir, catalogPath, listBackups, openRepository, REPOSITORY_FILE } from '../../src/backup/repository.js';
import { restoreBackup } from '../../src/backup/restore.js';
import type { BackupRecord } from '../../src/backup/types.js';
import { listWal } from '../../src/backup/wal-archive.js';
import { PG_BIN } from '../helpers/pg-cluster.js';
import { testPolicy } from '../helpers/context.js';
import { createFixture, type BackupFixture } from './helpers.js';

const keepAll = { fullMs: 365 * 86_400_000, incrementalMs: 365 * 86_400_000 };

describe('catalog, repository file, backup_manifest and history checksums', () => {
  let fx: BackupFixture;
  let full: BackupRecord;
  let inc: BackupRecord;
  beforeAll(async () => {
    fx = await createFixture();
    await fx.cluster.query(`CREATE TABLE listings (id int primary key, title text)`);
    await fx.cluster.query(`INSERT INTO listings SELECT g, md5(g::text) FROM generate_series(1, 5000) g`);
    full = await runPostgresBackup(fx.backupOptions('full'));
    for (let i = 0; i < 3; i++) {
      await fx.cluster.query(`UPDATE listings SET title = 'round ${i}' WHERE id % 10 = ${i}`);
      await fx.cluster.switchWalAndWait();
    }
    inc = await runPostgresBackup(fx.backupOptions('incremental'));
    // WAL from before the full backup is legitimately deletable: clear it first.
    expireRepository(openRepository(fx.repository), new Date(), keepAll);
  });
  afterAll(() => {
    fx?.cluster.destroy();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it('a valid-looking flip in walStart is named by verify and makes expire delete nothing', () => {
    const repo = openRepository(fx.repository);
    expect(checkIntegrity(repo).problems).toEqual([]);
    const path = catalogPath(repo, full.id);
    const original = readFileSync(path, 'utf8');
    // Still valid JSON, still a segment name: only the checksum tells.
    expect(original).toContain(`"walStart": "${full.walStart}"`);
    writeFileSync(path, original.replace(`"walStart": "${full.walStart}"`, `"walStart": "${inc.walStart}"`));
    try {
      const walBefore = listWal(repo).map((w) => w.name);
      expect(() => expireRepository(repo, new Date(), keepAll)).toThrow(
        new RegExp(
          `expire deletes nothing while a catalog entry is damaged: catalog/${full.id}\\.json is damaged \\(checksum mismatch\\)`,
        ),
      );
      expect(() => expireRepository(repo, new Date(), keepAll, { dryRun: true })).toThrow(/damaged/);
      expect(listWal(repo).map((w) => w.name)).toEqual(walBefore);
      expect(walBefore).toContain(full.walStart);
      // Not trusted by listing, verify or restore either.
      expect(listBackups(repo).map((b) => b.id)).toEqual([inc.id]);
      expect(checkIntegrity(repo).problems).toContainEqual({
        backup: full.id,
        file: `catalog/${full.id}.json`,
        problem: `catalog/${full.id}.json is damaged (checksum mismatch)`,
      });
      return expect(
        restoreBackup({
          repository: fx.repository,
          to: join(fx.work, 'never'),
          restoreCommand: fx.restoreCommand,
          binDirectory: PG_BIN,
        }),
      ).rejects.toThrow(new RegExp(`backup ${full.id} cannot be used: catalog/${full.id}\\.json is damaged`));
    } finally {
      writeFileSync(path, original);
    }
  });

  it('an entry cut short is named, not a raw JSON parse error, and its backup folder is kept', () => {
    const repo = openRepository(fx.repository);
    const path = catalogPath(repo, inc.id);
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.slice(0, original.length / 2));
    try {
      expect(listBackups(repo).map((b) => b.id)).toEqual([full.id]);
      const problems = checkIntegrity(repo).problems;
      expect(problems).toContainEqual({
        backup: inc.id,
        file: `catalog/${inc.id}.json`,
        problem: `catalog/${inc.id}.json is damaged: not valid JSON`,
      });
      expect(() => expireRepository(repo, new Date(), keepAll)).toThrow(/damaged: not valid JSON/);
      expect(readFileSync(join(backupDir(repo, inc.id), 'manifest.json')).length).toBeGreaterThan(0);
    } finally {
      writeFileSync(path, original);
    }
  });

  it("PostgreSQL's backup_manifest and history.jsonl lines are checked", () => {
    const repo = openRepository(fx.repository);
    const manifest = join(backupDir(repo, full.id), 'backup_manifest');
    const original = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, original.replace('"Size": ', '"Size": 1'));
    const historyPath = join(fx.repoPath, 'history.jsonl');
    const history = readFileSync(historyPath, 'utf8');
    expect(readAttempts(repo)).toHaveLength(2);
    writeFileSync(historyPath, history.replace('"ok":true', '"ok":false'));
    try {
      const problems = checkIntegrity(repo).problems;
      expect(problems).toContainEqual({
        backup: full.id,
        file: 'backup_manifest',
        problem: 'backup_manifest is damaged (checksum mismatch)',
      });
      expect(problems).toContainEqual({
        backup: 'history',
        file: 'history.jsonl line 1',
        problem: 'damaged (checksum mismatch)',
      });
      // The damaged attempt is not counted (as a failure or otherwise).
      expect(readAttempts(repo).map((a) => a.id)).toEqual([inc.id]);
    } finally {
      writeFileSync(manifest, original);
      writeFileSync(historyPath, history);
    }
    expect(checkIntegrity(repo).problems).toEqual([]);
  });

  it('a damaged repository file is refused by name, and verify reports it', async () => {
    const path = join(fx.repoPath, REPOSITORY_FILE);
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.replace('"version": 1', '"version": 2'));
    try {
      expect(() => openRepository(fx.repository)).toThrow(
        new RegExp(`${REPOSITORY_FILE.replace('.', '\\.')} is damaged \\(checksum mismatch\\)`),
      );
      const report = await verifyRepository(testPolicy({ backup: { repository: { path: fx.repoPath } } }));
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]!.file).toBe(REPOSITORY_FILE);
      expect(report.problems[0]!.problem).toMatch(/is damaged \(checksum mismatch\)/);
    } finally {
      writeFileSync(path, original);
    }
  });
});
