// Configuration files versioned on change, on real files: a version only when content changed,
// listing, restoring to another path or in place (the current content saved first), versioning off,
// damage reported by name, and the task.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, listBlobs, openBlobStore } from '../../../src/backup/files/blob-store.js';
import {
  listConfigVersions,
  pendingConfigChanges,
  restoreConfigVersion,
  versionConfigFiles,
} from '../../../src/backup/files/config-versions.js';
import { checkFileBackups } from '../../../src/backup/files/files-integrity.js';
import { openRepository, type Repository } from '../../../src/backup/repository.js';
import { configurationBackupTask } from '../../../src/tasks/backup/files-backup.js';
import { testContext, testPolicy } from '../../helpers/context.js';

let work: string;
let etc: string;

function newRepo(name: string): Repository {
  return openRepository({ path: join(work, name), compression: 'zstd', level: 1, processes: 1 }, { create: true });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'drydock-config-bk-'));
  etc = join(work, 'etc');
  mkdirSync(etc);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('configuration versions', () => {
  it('stores a version only when content changed, lists them, and restores one elsewhere or in place', async () => {
    const repo = newRepo('repo-1');
    const app = join(etc, 'app.yml');
    const nginx = join(etc, 'nginx.conf');
    writeFileSync(app, 'port: 3000\n');
    writeFileSync(nginx, 'worker_processes 2;\n');
    chmodSync(app, 0o640);
    const at = (n: number) => ({ at: new Date(Date.UTC(2026, 10, 27, n)), versioning: true });

    expect((await versionConfigFiles(repo, [app, nginx], at(1))).map((r) => [r.status, r.version])).toEqual([
      ['new', 1],
      ['new', 1],
    ]);
    expect((await versionConfigFiles(repo, [app, nginx], at(2))).map((r) => r.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    expect(await pendingConfigChanges(repo, [app, nginx])).toEqual([]);
    writeFileSync(app, 'port: 4000\n');
    expect(await pendingConfigChanges(repo, [app, nginx])).toEqual([app]);
    expect((await versionConfigFiles(repo, [app, nginx], at(3))).map((r) => [r.status, r.version])).toEqual([
      ['new', 2],
      ['unchanged', 1],
    ]);
    // Back to the first content: a new version (3), sharing version 1's blob.
    const blobsBefore = listBlobs(openBlobStore(repo, 'config')).length;
    writeFileSync(app, 'port: 3000\n');
    expect((await versionConfigFiles(repo, [app], at(4)))[0]).toMatchObject({ status: 'new', version: 3 });
    expect(listBlobs(openBlobStore(repo, 'config'))).toHaveLength(blobsBefore);

    expect(listConfigVersions(repo, app).map((v) => [v.version, v.at, v.size])).toEqual([
      [1, '2026-11-27T01:00:00.000Z', 11],
      [2, '2026-11-27T03:00:00.000Z', 11],
      [3, '2026-11-27T04:00:00.000Z', 11],
    ]);
    expect(listConfigVersions(repo).map((v) => `${v.path}@${v.version}`)).toEqual([
      `${app}@1`,
      `${app}@2`,
      `${app}@3`,
      `${nginx}@1`,
    ]);

    const elsewhere = join(work, 'out', 'app.v2.yml');
    const r1 = await restoreConfigVersion(repo, app, 2, { to: elsewhere });
    expect(readFileSync(elsewhere, 'utf8')).toBe('port: 4000\n');
    expect(statSync(elsewhere).mode & 0o777).toBe(0o640);
    expect(r1.savedCurrentAs).toBeUndefined();

    // In place, over an edit never versioned: the edit is saved as version 4 first.
    writeFileSync(app, 'port: 9999 # hand edit\n');
    const r2 = await restoreConfigVersion(repo, app, 2, { at: new Date(Date.UTC(2026, 10, 27, 5)) });
    expect(r2).toMatchObject({ to: app, version: 2, savedCurrentAs: 4 });
    expect(readFileSync(app, 'utf8')).toBe('port: 4000\n');
    await restoreConfigVersion(repo, app, 4);
    expect(readFileSync(app, 'utf8')).toBe('port: 9999 # hand edit\n');
    await expect(restoreConfigVersion(repo, app, 42)).rejects.toThrow(
      /no version 42 of .*app\.yml \(stored versions: 1, 2, 3, 4, 5\)/,
    );
    expect(checkFileBackups(repo).problems).toEqual([]);
  });

  it('with versioning off keeps only the newest version and drops the old blobs', async () => {
    const repo = newRepo('repo-2');
    const f = join(etc, 'single.conf');
    writeFileSync(f, 'a=1\n');
    await versionConfigFiles(repo, [f], { at: new Date(), versioning: false });
    writeFileSync(f, 'a=2\n');
    await versionConfigFiles(repo, [f], { at: new Date(), versioning: false });
    expect(listConfigVersions(repo, f).map((v) => v.version)).toEqual([2]);
    expect(listBlobs(openBlobStore(repo, 'config'))).toHaveLength(1);
  });

  it('reports a missing file, and a damaged or deleted version by name; restore refuses it and leaves the file alone', async () => {
    const repo = newRepo('repo-3');
    const f = join(etc, 'damaged.conf');
    writeFileSync(f, 'x'.repeat(5000));
    const [missing, ok] = await versionConfigFiles(repo, [join(etc, 'absent.conf'), f], {
      at: new Date(),
      versioning: true,
    });
    expect(missing).toMatchObject({ status: 'missing', error: `${join(etc, 'absent.conf')} does not exist` });
    expect(ok).toMatchObject({ status: 'new', version: 1 });
    const store = openBlobStore(repo, 'config');
    const [blob] = listBlobs(store);
    const bytes = readFileSync(blobPath(store, blob!));
    bytes[5]! ^= 0x01;
    writeFileSync(blobPath(store, blob!), bytes);
    const problems = checkFileBackups(repo).problems;
    expect(problems).toEqual([
      {
        backup: 'files/config',
        file: `blobs/${blob!.slice(0, 2)}/${blob}`,
        problem: expect.stringMatching(new RegExp(`blob ${blob} is damaged.*damaged\\.conf v1`)),
      },
    ]);
    writeFileSync(f, 'current');
    await expect(restoreConfigVersion(repo, f, 1)).rejects.toThrow(/version 1 of .*damaged\.conf: blob .* is damaged/);
    expect(readFileSync(f, 'utf8')).toBe('current');
    rmSync(blobPath(store, blob!));
    expect(checkFileBackups(repo).problems[0]!.problem).toMatch(/is missing/);
  });
});

describe('backup.files.configuration task', () => {
  it('versions the configured files on change and validates them; an empty list fails validation', async () => {
    const a = join(etc, 'task-a.yml');
    writeFileSync(a, 'a: 1\n');
    const policy = testPolicy({
      backup: { repository: { path: join(work, 'repo-task') }, files: { configuration: { paths: [a] } } },
    });
    expect(configurationBackupTask.schedule(policy)).toEqual({ kind: 'event', text: 'on change' });
    const ctx = testContext(policy, 'backup.files.configuration');
    const r1 = await configurationBackupTask.execute(ctx);
    expect(r1.files).toEqual([{ path: a, status: 'new', version: 1 }]);
    expect((await configurationBackupTask.validate(ctx, r1)).ok).toBe(true);
    const ctx2 = testContext(policy);
    const r2 = await configurationBackupTask.execute(ctx2);
    expect(r2.files[0]!.status).toBe('unchanged');
    expect(ctx2.summaries).toContain('no configuration file changed (1 checked)');

    const empty = testPolicy({ backup: { repository: { path: join(work, 'repo-task') } } });
    const ctx3 = testContext(empty);
    const r3 = await configurationBackupTask.execute(ctx3);
    const v = await configurationBackupTask.validate(ctx3, r3);
    expect(v.ok).toBe(false);
    expect(v.checks[0]!.detail).toMatch(/paths is empty/);
  });
});
