// Restore: rebuild a data directory from a full backup, its incrementals and archived WAL, with
// every file fsynced, then write the recovery settings so PostgreSQL replays WAL through
// `drydock wal get` up to the target. The whole chain is checked for missing pieces before the
// first byte is written; a damaged object found while writing aborts the restore and removes the
// partial directory, naming the backup and file.
import {
  appendFileSync,
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

const PAGE = 8192;
import cliProgress from 'cli-progress';
import { DrydockError } from '../errors.js';
import { packFileName } from './copy-pool.js';
import { fsyncDir, writeFileAtomic } from './fsync.js';
import { backupForTime, newestBackup, resolveChain } from './chain.js';
import { buildPgManifest } from './pg-manifest.js';
import {
  backupDir,
  openRepository,
  readCatalog,
  readManifest,
  type Repository,
  type RepositorySettings,
} from './repository.js';
import { planRestore, type FilePlan } from './restore-plan.js';
import { runRestoreJobs, type RestoreJob, type RestoreJobObject } from './restore-pool.js';
import { RANGE_BYTES } from './backup-postgres.js';
import { crc32cCombine } from './crc32c.js';
import { promises as fsp } from 'node:fs';
import type { BackupManifest, BackupRecord } from './types.js';
import { isoText, momentNow, pgText, toMoment, type Moment } from './moment.js';
import { planWalRange, type CommitRecord, type WalRangePlan } from './wal-range.js';

export interface RestoreOptions {
  repository: RepositorySettings;
  backupId?: string | undefined;
  /** Point-in-time target (microseconds kept); the newest backup finished before it is used and WAL replayed up to it. */
  targetTime?: Date | string | Moment | undefined;
  /** Without a target: replay as far as the archive goes even when a segment is missing (stops before the gap). */
  toEndOfArchive?: boolean | undefined;
  /** PostgreSQL binaries (pg_waldump reads commit times from the archived WAL). */
  binDirectory?: string | undefined;
  /** Stop replay as soon as the backup is consistent (the restore test). */
  targetImmediate?: boolean;
  to: string;
  /** restore_command template with %f and %p, e.g. `drydock wal get %f "%p"`. */
  restoreCommand: string;
  targetAction?: 'promote' | 'pause' | 'shutdown';
  /** Extra postgresql.auto.conf settings for the restored server (port, archive_mode = off, ...). */
  settings?: Record<string, string>;
  /** Owner of every restored file (PostgreSQL refuses a data directory it does not own). */
  owner?: { uid: number; gid: number } | undefined;
  progress?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface RestoreResult {
  backup: BackupRecord;
  chain: string[];
  files: number;
  bytes: number;
  durationMs: number;
  /** The target, ISO 8601 with microseconds, or null (replay to the end of the archive, or to consistency). */
  targetTime: string | null;
  /** The WAL recovery will replay: timeline followed, first and last segment, each checked present and intact. */
  wal: {
    timeline: number;
    first: string;
    last: string;
    segments: number;
    /** A segment missing from the archive where replay will stop (only with toEndOfArchive). */
    stopsBefore: string | null;
    /** The newest commit in that WAL: the newest moment this restore can reach. */
    newestCommit: { xid: number; at: string } | null;
  };
}

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';

function commitJson(c: CommitRecord | undefined): { xid: number; at: string } | null {
  return c ? { xid: c.xid, at: isoText(c.at) } : null;
}

/**
 * Refuses, before anything is written, a restore whose WAL would end early: a segment missing in
 * the range, or a target time the archived WAL does not reach.
 */
export function checkWalPlan(plan: WalRangePlan, target: Moment | undefined, toEndOfArchive: boolean): void {
  const newest = plan.newestCommit ? pgText(plan.newestCommit.at) : undefined;
  const reach = newest
    ? `the newest moment that can be reached is ${newest} (transaction ${plan.newestCommit!.xid})`
    : 'the archived WAL holds no committed transaction after the backup';
  if (target) {
    if (target.micros > momentNow().micros)
      throw new DrydockError('VALIDATION_FAILED', `target time ${pgText(target)} is in the future; ${reach}`, {
        hint: 'give a moment in the past, or restore without --target-time to replay everything archived',
      });
    if (!plan.newestCommit || target.micros > plan.newestCommit.at.micros) {
      if (plan.damaged)
        throw new DrydockError(
          'VALIDATION_FAILED',
          `${plan.damaged.problem}, so recovery cannot reach ${pgText(target)}; ${reach}`,
          { details: { file: plan.damaged.name }, hint: 'give a target time before that moment' },
        );
      if (plan.gap)
        throw new DrydockError(
          'VALIDATION_FAILED',
          `WAL segment ${plan.gap} is missing from the archive, so recovery cannot reach ${pgText(target)}; ${reach}`,
          { details: { file: plan.gap }, hint: 'give a target time before that moment' },
        );
      throw new DrydockError(
        'VALIDATION_FAILED',
        `target time ${pgText(target)} is after the newest archived WAL (up to ${plan.segments[plan.segments.length - 1]}); ${reach}`,
        { hint: 'give a target time before that moment, or restore without --target-time' },
      );
    }
    return;
  }
  if (plan.gap && !toEndOfArchive)
    throw new DrydockError(
      'VALIDATION_FAILED',
      `WAL segment ${plan.gap} is missing from the archive (newer segments up to ${plan.newestArchived} exist): a restore would silently stop there; ${reach}`,
      {
        details: { file: plan.gap },
        hint: 'put the segment back into the archive, or pass --to-end-of-archive to restore up to that moment',
      },
    );
}

/** Checks, before writing anything, that every pack a plan needs exists and is long enough. */
export function checkChainPieces(repo: Repository, chain: readonly BackupManifest[], plans: FilePlan[]): void {
  const packLength = new Map<string, number>();
  for (const m of chain) {
    for (const p of m.packs) {
      const path = join(backupDir(repo, m.id), packFileName(p.pack));
      packLength.set(path, existsSync(path) ? statSync(path).size : -1);
    }
  }
  for (const plan of plans) {
    for (const step of plan.steps) {
      const id = chain[step.backup]!.id;
      for (const obj of step.entry.objects) {
        const path = join(backupDir(repo, id), packFileName(obj.pack));
        const have = packLength.get(path) ?? -1;
        if (have < 0)
          throw new DrydockError(
            'VALIDATION_FAILED',
            `backup ${id}: ${packFileName(obj.pack)} (holding ${plan.file.path}) is missing`,
            { details: { backup: id, file: plan.file.path } },
          );
        if (have < obj.offset + obj.length) {
          throw new DrydockError(
            'VALIDATION_FAILED',
            `backup ${id}: ${packFileName(obj.pack)} is truncated (it should hold ${plan.file.path})`,
            { details: { backup: id, file: plan.file.path } },
          );
        }
      }
    }
  }
}

function selectBackup(records: BackupRecord[], options: RestoreOptions): BackupRecord {
  if (options.backupId) {
    const r = records.find((b) => b.id === options.backupId);
    if (!r)
      throw new DrydockError('VALIDATION_FAILED', `backup ${options.backupId} is not in the repository`, {
        hint: 'list backups with drydock backup list',
      });
    return r;
  }
  if (options.targetTime) {
    const micros = toMoment(options.targetTime).micros;
    const target = new Date(Number(micros / 1000n));
    const r = backupForTime(records, target);
    if (!r)
      throw new DrydockError(
        'VALIDATION_FAILED',
        `no backup finished before ${target.toISOString()}; the oldest point that can be restored is the end of the oldest backup`,
      );
    return r;
  }
  const r = newestBackup(records);
  if (!r) throw new DrydockError('VALIDATION_FAILED', 'the repository holds no backup');
  return r;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const t0 = Date.now();
  const repo = openRepository(options.repository);
  // Entries that fail their checksum are never used; a chain that needs one is refused naming it.
  const { records, damaged } = readCatalog(repo);
  const damagedEntry = (id: string | undefined) => damaged.find((d) => d.id === id);
  const refuseDamaged = (id: string | undefined) => {
    const d = damagedEntry(id);
    if (d)
      throw new DrydockError('VALIDATION_FAILED', `backup ${d.id} cannot be used: ${d.problem}`, {
        details: { backup: d.id, file: d.file },
        hint: 'run drydock backup verify; restore another backup, or put back a good copy of the entry',
      });
  };
  refuseDamaged(options.backupId);
  const targetMoment = options.targetTime === undefined ? undefined : toMoment(options.targetTime);
  const target = selectBackup(records, options);
  let chainRecords: BackupRecord[];
  try {
    chainRecords = resolveChain(records, target.id);
  } catch (error) {
    if (error instanceof DrydockError) refuseDamaged(error.details.missing as string | undefined);
    throw error;
  }
  const manifests = chainRecords.map((r) => readManifest(repo, r));
  const plans = planRestore(manifests);
  checkChainPieces(repo, manifests, plans);
  // Every WAL segment recovery will need, present and intact, and a target it can reach.
  const walPlan = await planWalRange(
    repo,
    target,
    options.targetImmediate ? 'consistent' : (targetMoment ?? 'end'),
    options.binDirectory ?? DEFAULT_BIN,
  );
  checkWalPlan(walPlan, targetMoment, options.toEndOfArchive ?? false);

  if (existsSync(options.to) && readdirSync(options.to).length > 0) {
    throw new DrydockError('CONFIG_INVALID', `restore target ${options.to} is not empty`, {
      hint: 'restore into a new or empty directory (stop PostgreSQL and move the old data directory aside first)',
    });
  }
  const last = manifests[manifests.length - 1]!;
  const total = plans.reduce((a, p) => a + p.file.size, 0);
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          format: 'restore [{bar}] {percentage}% | {value}/{total} MiB | {file}',
          noTTYOutput: true,
          notTTYSchedule: 5000,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.ceil(total / 1048576), 0, { file: '' });
  let done = 0;
  try {
    mkdirSync(options.to, { recursive: true, mode: 0o700 });
    for (const d of last.dirs) mkdirSync(join(options.to, d.path), { recursive: true, mode: d.mode || 0o700 });
    // Every file is created at its final size; each 64 MiB range of it is one job (the ranges of a
    // big relation file restore in parallel), and a file is finished once all its ranges are in.
    // The grid is the largest range size in the chain; smaller (power-of-two) ranges nest in it.
    const grid = Math.max(...manifests.map((m) => m.rangeBytes ?? RANGE_BYTES));
    const jobs: RestoreJob[] = [];
    const pending = new Map<number, { left: number; parts: Array<{ start: number; crc: number; length: number }> }>();
    const durable: Array<Promise<void>> = [];
    const finish = (index: number) => {
      const plan = plans[index]!;
      const target = join(options.to, plan.file.path);
      const parts = (pending.get(index)?.parts ?? []).sort((x, y) => x.start - y.start);
      let crc = 0;
      let length = 0;
      for (const p of parts) {
        crc = length === 0 ? p.crc : crc32cCombine(crc, p.crc, p.length);
        length += p.length;
      }
      const inline = plan.steps.some((st) => st.entry.inline !== undefined);
      if (!inline && crc >>> 0 !== plan.file.crc >>> 0) {
        throw new DrydockError(
          'VALIDATION_FAILED',
          `restored ${plan.file.path} does not match backup ${last.id} (CRC-32C mismatch)`,
          { details: { backup: last.id, file: plan.file.path } },
        );
      }
      // Truncate (a later range may have written past the end), own, and make durable in the
      // background on the thread pool while the workers go on with other files.
      const made = (async () => {
        const fh = await fsp.open(target, 'r+');
        try {
          await fh.truncate(plan.file.size);
          if (options.owner) await fh.chown(options.owner.uid, options.owner.gid);
          await fh.sync();
        } finally {
          await fh.close();
        }
        done += plan.file.size;
        options.onProgress?.(done, total);
        bar?.update(Math.floor(done / 1048576), { file: plan.file.path });
      })();
      made.catch(() => {}); // awaited below; this only keeps Node from calling it unhandled meanwhile
      durable.push(made);
    };
    plans.forEach((plan, index) => {
      const target = join(options.to, plan.file.path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      const inline = plan.steps.find((st) => st.entry.inline !== undefined);
      if (inline) {
        writeFileSync(target, Buffer.from(inline.entry.inline!, 'base64'), { mode: plan.file.mode || 0o600 });
        pending.set(index, { left: 0, parts: [] });
        return;
      }
      const fd = openSync(target, 'w', plan.file.mode || 0o600);
      closeSync(fd);
      const ranges = Math.ceil(plan.file.size / grid);
      const rangeJobs: RestoreJob[] = [];
      for (let r = 0; r < ranges; r++) {
        const start = r * grid;
        rangeJobs.push({
          id: jobs.length + r,
          file: index,
          path: plan.file.path,
          target,
          start,
          end: start + grid,
          crcEnd: Math.min(start + grid, plan.file.size),
          steps: [],
        });
      }
      for (const step of plan.steps) {
        const id = manifests[step.backup]!.id;
        const byRange = new Map<number, RestoreJobObject[]>();
        for (const o of step.entry.objects) {
          const first = o.blocks?.[0]?.[0];
          const at = o.blocks ? (first ?? 0) * PAGE : (o.rawOffset ?? 0);
          const r = Math.floor(at / grid);
          if (r >= ranges) continue; // past the final size
          const list = byRange.get(r) ?? [];
          list.push({
            packPath: join(backupDir(repo, id), packFileName(o.pack)),
            offset: o.offset,
            length: o.length,
            sha256: o.sha256,
            rawOffset: o.rawOffset,
            blocks: o.blocks,
            xorBelow: o.xorBelow,
          });
          byRange.set(r, list);
        }
        for (const [r, objects] of byRange) rangeJobs[r]!.steps.push({ backup: id, kind: step.entry.kind, objects });
      }
      jobs.push(...rangeJobs);
      pending.set(index, { left: rangeJobs.length, parts: [] });
    });
    for (const [index, p] of pending) if (p.left === 0) finish(index);
    let mismatch: Error | undefined;
    await runRestoreJobs(jobs, {
      workers: Math.max(1, options.repository.processes),
      keyHex: repo.key?.toString('hex'),
      onDone: (job, crc, length) => {
        const p = pending.get(job.file)!;
        p.parts.push({ start: job.start, crc, length });
        if (--p.left === 0) {
          try {
            finish(job.file);
          } catch (error) {
            mismatch ??= error instanceof Error ? error : new Error(String(error));
          }
        }
      },
    });
    await Promise.all(durable);
    if (mismatch) throw mismatch;
    // PostgreSQL's own manifest of what was restored, so `pg_verifybackup` can check this directory.
    writeFileSync(
      join(options.to, 'backup_manifest'),
      buildPgManifest(last.files, {
        timeline: target.timeline,
        startLsn: chainRecords[chainRecords.length - 1]!.startLsn,
        endLsn: target.stopLsn,
      }),
    );
    writeRecoverySettings(options, target, walPlan.timeline);
    if (options.owner) chownTreeSync(options.to, options.owner);
    // Directories last, deepest first: their entries (the files above) are then durable too.
    for (const d of [...last.dirs].sort((a, b) => b.path.length - a.path.length)) fsyncDir(join(options.to, d.path));
    fsyncDir(options.to);
  } catch (error) {
    rmSync(options.to, { recursive: true, force: true });
    throw error;
  } finally {
    bar?.stop();
  }
  return {
    backup: target,
    chain: chainRecords.map((r) => r.id),
    files: plans.length,
    bytes: total,
    durationMs: Date.now() - t0,
    targetTime: targetMoment ? isoText(targetMoment) : null,
    wal: {
      timeline: walPlan.timeline,
      first: walPlan.segments[0] ?? target.walStart,
      last: walPlan.segments[walPlan.segments.length - 1] ?? target.walStop,
      segments: walPlan.segments.length,
      stopsBefore: walPlan.gap ?? null,
      newestCommit: commitJson(walPlan.newestCommit),
    },
  };
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** recovery.signal plus restore_command and the target in postgresql.auto.conf (PostgreSQL 12+). */
export function writeRecoverySettings(options: RestoreOptions, backup: BackupRecord, timeline?: number): void {
  const lines = [
    '',
    `# Added by drydock restore of backup ${backup.id} (${new Date().toISOString()})`,
    `restore_command = ${quote(options.restoreCommand)}`,
  ];
  // The timeline the WAL check followed (never an unrelated sibling that 'latest' might pick).
  if (options.targetImmediate) lines.push(`recovery_target_timeline = 'current'`);
  else if (timeline !== undefined) lines.push(`recovery_target_timeline = '${timeline}'`);
  if (options.targetTime) {
    lines.push(`recovery_target_time = ${quote(pgText(toMoment(options.targetTime)))}`);
    lines.push(`recovery_target_action = ${quote(options.targetAction ?? 'promote')}`);
  } else if (options.targetImmediate) {
    lines.push(`recovery_target = 'immediate'`, `recovery_target_action = ${quote(options.targetAction ?? 'promote')}`);
  }
  for (const [k, v] of Object.entries(options.settings ?? {})) lines.push(`${k} = ${v}`);
  const auto = join(options.to, 'postgresql.auto.conf');
  // A cluster that was itself restored carries the recovery settings of that restore; PostgreSQL
  // refuses to start with two recovery targets, so the earlier ones are commented out.
  if (existsSync(auto)) {
    const old = readFileSync(auto, 'utf8');
    const cleaned = old.replace(
      /^(\s*(?:restore_command|recovery_target\w*)\s*=.*)$/gm,
      '# superseded by drydock restore: $1',
    );
    if (cleaned !== old) writeFileSync(auto, cleaned);
  }
  appendFileSync(auto, lines.join('\n') + '\n');
  writeFileAtomic(join(options.to, 'recovery.signal'), '');
  fsyncSync_(auto);
}

function fsyncSync_(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function chownTreeSync(root: string, owner: { uid: number; gid: number }): void {
  chownSync(root, owner.uid, owner.gid);
  for (const name of readdirSync(root, { recursive: true }) as string[])
    chownSync(join(root, name), owner.uid, owner.gid);
}
