// backup.files.user_uploads (daily, kept 90 days): a snapshot of the uploads directory,
// deduplicated by content, then expiry and blob collection.
// backup.files.configuration (on change, versioned): a new version of each configuration file whose
// content changed since its newest version.
import type { ImplementedTask, TaskContext, ValidationCheck, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { recordAttempt } from '../../backup/history.js';
import { openRepository, type Repository } from '../../backup/repository.js';
import { repositorySettings } from '../../backup/settings.js';
import { hasBlob, openBlobStore } from '../../backup/files/blob-store.js';
import { listConfigVersions, versionConfigFiles, type ConfigFileResult } from '../../backup/files/config-versions.js';
import {
  expireSnapshots,
  listSnapshotIds,
  readSnapshot,
  restoreSnapshot,
  takeSnapshot,
  type SnapshotManifest,
} from '../../backup/files/snapshot.js';
import { restoreSample } from '../../backup/files/snapshot-plan.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeUsage } from '../../backup/files/usage.js';

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

async function attempt<T extends { id?: string | undefined }>(
  repo: Repository,
  kind: string,
  at: () => Date,
  work: () => Promise<T>,
  size: (r: T) => number,
): Promise<T> {
  try {
    const r = await work();
    recordAttempt(repo, { at: at().toISOString(), kind, ok: true, id: r.id, storedSize: size(r) });
    return r;
  } catch (error) {
    recordAttempt(repo, { at: at().toISOString(), kind, ok: false, error: (error as Error)?.message ?? String(error) });
    throw error;
  }
}

async function executeUploads(ctx: TaskContext): Promise<SnapshotManifest> {
  const cfg = ctx.policy.backup.files.user_uploads;
  const repo = openRepository(repositorySettings(ctx.policy), { create: true });
  const manifest = (await ctx.step(`snapshot of ${cfg.path}`, (step) =>
    attempt(
      repo,
      'files.user_uploads',
      () => ctx.clock.now(),
      () =>
        takeSnapshot(repo, {
          source: cfg.path,
          at: ctx.clock.now(),
          rehash: cfg.rehash,
          signal: ctx.signal,
          log: (line) => step.output(line),
        }),
      (m) => m.stats.newStoredBytes,
    ),
  ))!;
  const s = manifest.stats;
  ctx.figure('uploads_backup.files', { value: s.files, unit: 'files' });
  ctx.figure('uploads_backup.bytes', { value: s.bytes, unit: 'bytes' });
  ctx.figure('uploads_backup.read_bytes', { value: s.readBytes, unit: 'bytes' });
  ctx.figure('uploads_backup.new_stored_bytes', { value: s.newStoredBytes, unit: 'bytes' });
  ctx.summary(
    `snapshot ${manifest.id} of ${cfg.path}: ${s.files} file(s), ${mib(s.bytes)}; ${s.readFiles} read, ${s.reusedFiles} unchanged; ${s.newBlobs} new blob(s), ${mib(s.newStoredBytes)} added to the repository` +
      (s.skipped.length ? `; ${s.skipped.length} special file(s) skipped` : ''),
  );
  await ctx.step(
    `expire upload snapshots older than ${cfg.retention.text}`,
    async (step) => {
      const r = expireSnapshots(repo, ctx.clock.now(), cfg.retention.ms);
      step.output(
        `kept ${r.plan.keep.length} snapshot(s), removed ${r.removedSnapshots.length} [${r.removedSnapshots.join(', ')}], ${r.removedBlobs} unreferenced blob(s) (${r.freedBytes} bytes)`,
      );
      const usage = storeUsage(openBlobStore(repo, 'uploads'), r.plan.keep);
      ctx.figure('uploads_backup.stored_total', { value: usage.storedBytes, unit: 'bytes' });
      ctx.figure('uploads_backup.dedup_ratio', { value: usage.ratio, unit: 'x' });
      step.output(
        `${r.plan.keep.length} snapshot(s) hold ${usage.logicalBytes} bytes of files in ${usage.storedBytes} stored bytes (${usage.ratio.toFixed(2)}x)`,
      );
    },
    { continueOnError: true },
  );
  return manifest;
}

async function validateUploads(ctx: TaskContext, manifest: SnapshotManifest): Promise<ValidationResult> {
  const repo = openRepository(repositorySettings(ctx.policy));
  const store = openBlobStore(repo, 'uploads');
  const checks: ValidationCheck[] = [];
  const listed = listSnapshotIds(store).includes(manifest.id);
  checks.push({
    name: 'listed in the repository',
    ok: listed,
    detail: listed ? manifest.id : `${manifest.id} is not in files/uploads/snapshots`,
  });
  try {
    const back = readSnapshot(store, manifest.id);
    const missing = back.entries.flatMap((e) =>
      (e.chunks ?? []).filter((c) => !hasBlob(store, c)).map((c) => `${e.path} (blob ${c})`),
    );
    checks.push({
      name: 'manifest reads back',
      ok: back.entries.length === manifest.entries.length,
      detail: `${back.entries.length} entries`,
    });
    const sample = restoreSample(back.entries, new Set(manifest.stats.readPaths ?? []), 32, 64 * 1048576);
    if (sample.length) {
      const scratch = mkdtempSync(join(tmpdir(), 'drydock-uploads-check-'));
      try {
        const r = await restoreSnapshot(repo, manifest.id, join(scratch, 'out'), { paths: sample });
        checks.push({
          name: 'sample restore',
          ok: r.files === sample.length,
          detail: `${r.files} file(s), ${r.bytes} bytes restored and matched their SHA-256`,
        });
      } catch (error) {
        checks.push({ name: 'sample restore', ok: false, detail: (error as Error).message });
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }
    checks.push({
      name: 'every blob present',
      ok: missing.length === 0,
      detail: missing.length
        ? `missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`
        : `${new Set(back.entries.flatMap((e) => e.chunks ?? [])).size} blob(s)`,
    });
  } catch (error) {
    checks.push({ name: 'manifest reads back', ok: false, detail: (error as Error).message });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

export const userUploadsBackupTask: ImplementedTask<SnapshotManifest> = {
  id: 'backup.files.user_uploads',
  title: 'Deduplicated backup of user uploads',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.backup.files.user_uploads),
  resources: (policy) => [`files-backup:${policy.backup.repository.path}:uploads`],
  execute: executeUploads,
  validate: validateUploads,
};

export interface ConfigurationBackupResult {
  id?: string;
  files: ConfigFileResult[];
}

async function executeConfiguration(ctx: TaskContext): Promise<ConfigurationBackupResult> {
  const cfg = ctx.policy.backup.files.configuration;
  const repo = openRepository(repositorySettings(ctx.policy), { create: true });
  if (cfg.paths.length === 0) {
    ctx.summary('no configuration files listed in backup.files.configuration.paths');
    return { files: [] };
  }
  const files = (await ctx.step(`version ${cfg.paths.length} configuration file(s)`, async (step) => {
    const r = await attempt<ConfigurationBackupResult>(
      repo,
      'files.configuration',
      () => ctx.clock.now(),
      async () => ({
        files: await versionConfigFiles(repo, cfg.paths, { at: ctx.clock.now(), versioning: cfg.versioning }),
      }),
      () => 0,
    );
    for (const f of r.files)
      step.output(`${f.path}: ${f.status}${f.version === undefined ? '' : ` (version ${f.version})`}`);
    return r.files;
  }))!;
  const changed = files.filter((f) => f.status === 'new');
  ctx.figure('config_backup.new_versions', { value: changed.length, unit: 'files' });
  ctx.summary(
    changed.length
      ? `new version of ${changed.map((f) => `${f.path} (v${f.version})`).join(', ')}; ${files.length - changed.length} other file(s) unchanged or missing`
      : `no configuration file changed (${files.length} checked)`,
  );
  for (const f of files.filter((x) => x.status === 'missing')) ctx.summary(`missing: ${f.error}`);
  return { files };
}

async function validateConfiguration(ctx: TaskContext, result: ConfigurationBackupResult): Promise<ValidationResult> {
  if (ctx.policy.backup.files.configuration.paths.length === 0) {
    return {
      ok: false,
      checks: [
        {
          name: 'files configured',
          ok: false,
          detail: 'backup.files.configuration.paths is empty: nothing is backed up',
        },
      ],
    };
  }
  const repo = openRepository(repositorySettings(ctx.policy));
  const checks: ValidationCheck[] = result.files.map((f) => {
    if (f.status === 'missing') return { name: f.path, ok: false, detail: f.error ?? 'missing' };
    const versions = listConfigVersions(repo, f.path);
    const ok = versions.some((v) => v.version === f.version);
    return {
      name: f.path,
      ok,
      detail: ok ? `version ${f.version} of ${versions.length} stored` : `version ${f.version} is not listed`,
    };
  });
  return { ok: checks.every((c) => c.ok), checks };
}

export const configurationBackupTask: ImplementedTask<ConfigurationBackupResult> = {
  id: 'backup.files.configuration',
  title: 'Versioned backup of configuration files on change',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.backup.files.configuration),
  resources: (policy) => [`files-backup:${policy.backup.repository.path}:config`],
  execute: executeConfiguration,
  validate: validateConfiguration,
};
