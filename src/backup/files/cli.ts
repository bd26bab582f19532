// Commands for the Redis and file backups, added under a parent command the caller owns (e.g.
// `drydock backup`):
//
//   <parent> config versions [path] [--json]        stored versions of the configuration files
//   <parent> config restore <path> <version> [--to FILE]
//   <parent> uploads list [--json]                  upload snapshots, newest last
//   <parent> uploads restore <snapshot> --to DIR [--path P ...]
//   <parent> redis list [--json]                    Redis backups
//   <parent> redis restore <id> --to FILE           the verified RDB, for a manual restore
//   <parent> redis test [id]                        restore test of one backup (the newest by default)
//   <parent> verify-files                           integrity of every Redis and file backup
import type { Command } from 'commander';
import { DrydockError } from '../../errors.js';
import type { Policy } from '../../policy/schema.js';
import { openRepository, type Repository } from '../repository.js';
import { repositorySettings } from '../settings.js';
import { describeComparison } from '../redis/key-counts.js';
import { listRedisBackups, type RedisBackupRecord } from '../redis/rdb-store.js';
import { restoreRedisBackupToFile, restoreTestRedisBackup } from '../redis/rdb-restore-test.js';
import { openBlobStore } from './blob-store.js';
import { listConfigVersions, restoreConfigVersion } from './config-versions.js';
import { checkRedisAndFileBackups } from './files-integrity.js';
import { listSnapshotIds, readSnapshot, restoreSnapshot } from './snapshot.js';

export interface FilesCliIo {
  out(text: string): void;
}

const defaultIo: FilesCliIo = { out: (text) => void process.stdout.write(`${text}\n`) };

function repository(policy: Policy): Repository {
  return openRepository(repositorySettings(policy));
}

/** Upload snapshots with their figures, oldest first. */
export function listUploadsSnapshots(
  policy: Policy,
): Array<{ id: string; startedAt: string; files: number; bytes: number; newStoredBytes: number }> {
  const store = openBlobStore(repository(policy), 'uploads');
  return listSnapshotIds(store).map((id) => {
    const m = readSnapshot(store, id);
    return {
      id,
      startedAt: m.startedAt,
      files: m.stats.files,
      bytes: m.stats.bytes,
      newStoredBytes: m.stats.newStoredBytes,
    };
  });
}

export function restoreUploadsSnapshot(policy: Policy, snapshot: string, to: string, paths?: string[]) {
  return restoreSnapshot(repository(policy), snapshot, to, paths && paths.length ? { paths } : {});
}

export function listConfigFileVersions(policy: Policy, path?: string) {
  return listConfigVersions(repository(policy), path);
}

export function restoreConfigFileVersion(policy: Policy, path: string, version: number, to?: string) {
  return restoreConfigVersion(repository(policy), path, version, {
    versioning: policy.backup.files.configuration.versioning,
    ...(to ? { to } : {}),
  });
}

function findRedisBackup(repo: Repository, id: string | undefined): RedisBackupRecord {
  const all = listRedisBackups(repo);
  const record = id ? all.find((r) => r.id === id) : all.at(-1);
  if (!record)
    throw new DrydockError('CONFIG_INVALID', id ? `no Redis backup ${id}` : 'no Redis backup in the repository', {
      hint: 'list them with `redis list`',
    });
  return record;
}

export function registerFilesBackupCommands(
  parent: Command,
  open: () => Policy | Promise<Policy>,
  io: FilesCliIo = defaultIo,
): void {
  const config = parent
    .command('config')
    .description('versions of the configuration files (backup.files.configuration)');
  config
    .command('versions')
    .description('stored versions, of one file or of all')
    .argument('[path]')
    .option('--json', 'print JSON')
    .action(async (path: string | undefined, options: { json?: boolean }) => {
      const rows = listConfigFileVersions(await open(), path);
      if (options.json) return io.out(JSON.stringify(rows, null, 2));
      if (!rows.length) return io.out('no stored versions');
      for (const v of rows) io.out(`${v.path}  v${v.version}  ${v.at}  ${v.size} bytes  ${v.sha256.slice(0, 12)}`);
    });
  config
    .command('restore')
    .description('write a stored version back in place (the current content is versioned first) or to --to')
    .argument('<path>')
    .argument('<version>')
    .option('--to <file>', 'write here instead of over the file')
    .option('--json', 'print JSON')
    .action(async (path: string, version: string, options: { to?: string; json?: boolean }) => {
      const r = await restoreConfigFileVersion(await open(), path, Number(version), options.to);
      if (options.json) return io.out(JSON.stringify(r, null, 2));
      io.out(
        `restored ${r.path} version ${r.version} to ${r.to} (${r.bytes} bytes)${r.savedCurrentAs ? `; the replaced content is version ${r.savedCurrentAs}` : ''}`,
      );
    });

  const uploads = parent.command('uploads').description('snapshots of the user uploads (backup.files.user_uploads)');
  uploads
    .command('list')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const rows = listUploadsSnapshots(await open());
      if (options.json) return io.out(JSON.stringify(rows, null, 2));
      if (!rows.length) return io.out('no snapshots');
      for (const s of rows)
        io.out(`${s.id}  ${s.startedAt}  ${s.files} file(s)  ${s.bytes} bytes  +${s.newStoredBytes} stored`);
    });
  uploads
    .command('restore')
    .description('restore a snapshot into a new or empty directory')
    .argument('<snapshot>')
    .requiredOption('--to <dir>', 'target directory (new or empty)')
    .option('--path <path...>', 'only these files or folders of the snapshot')
    .option('--json', 'print JSON')
    .action(async (snapshot: string, options: { to: string; path?: string[]; json?: boolean }) => {
      const r = await restoreUploadsSnapshot(await open(), snapshot, options.to, options.path);
      if (options.json) return io.out(JSON.stringify(r, null, 2));
      io.out(
        `restored ${r.files} file(s), ${r.bytes} bytes of snapshot ${r.snapshot} to ${r.to} in ${(r.durationMs / 1000).toFixed(1)} s`,
      );
    });

  const redis = parent.command('redis').description('Redis RDB backups (cache.backup)');
  redis
    .command('list')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const rows = listRedisBackups(repository(await open()));
      if (options.json)
        return io.out(
          JSON.stringify(
            rows.map(({ parts: _parts, ...r }) => r),
            null,
            2,
          ),
        );
      if (!rows.length) return io.out('no Redis backups');
      for (const r of rows) {
        const keys = Object.entries(r.keyspaceAfter)
          .map(([db, c]) => `db${db}=${c.keys}`)
          .join(' ');
        io.out(`${r.id}  ${r.target}  ${r.rdbBytes} bytes RDB, ${r.storedSize} stored  ${keys || 'empty'}`);
      }
    });
  redis
    .command('restore')
    .description(
      'write the verified RDB of a backup to a new file (stop Redis, put it in place as its dbfilename, start Redis)',
    )
    .argument('<id>')
    .requiredOption('--to <file>')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { to: string; json?: boolean }) => {
      const repo = repository(await open());
      const r = restoreRedisBackupToFile(repo, findRedisBackup(repo, id), options.to);
      if (options.json) return io.out(JSON.stringify({ id, to: options.to, ...r }, null, 2));
      io.out(`wrote ${r.bytes} bytes to ${options.to}`);
    });
  redis
    .command('test')
    .description('load a backup (the newest by default) into a throwaway redis-server and compare key counts')
    .argument('[id]')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const repo = repository(await open());
      const record = findRedisBackup(repo, id);
      const r = await restoreTestRedisBackup(repo, record);
      if (!r.ok) process.exitCode = 1;
      if (options.json) return io.out(JSON.stringify({ ...r, backup: record.id }, null, 2));
      for (const db of r.databases) io.out(`${db.ok ? 'ok  ' : 'FAIL'} ${describeComparison(db)}`);
      io.out(`${r.ok ? 'restore test passed' : 'restore test FAILED'}: ${record.id}, loaded in ${r.loadMs} ms`);
      if (!r.ok) process.exitCode = 1;
    });

  parent
    .command('verify-files')
    .description('re-read every Redis backup part and every file-backup blob and check it against its checksum')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const repo = repository(await open());
      const report = checkRedisAndFileBackups(repo);
      const { redis: redisReport, files: filesReport, problems } = report;
      if (options.json) {
        if (problems.length) process.exitCode = 1;
        return io.out(JSON.stringify(report, null, 2));
      }
      for (const p of problems) io.out(`DAMAGED ${p.backup} ${p.file}: ${p.problem}`);
      io.out(
        `${redisReport.backups} Redis backup(s), ${filesReport.snapshots} upload snapshot(s), ${filesReport.histories} configuration file history(ies), ${filesReport.blobs} blob(s): ${problems.length ? `${problems.length} problem(s)` : 'all good'}`,
      );
      if (problems.length) process.exitCode = 1;
    });
}
