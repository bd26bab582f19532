// A physical backup of a running PostgreSQL cluster through the low-level API: pg_backup_start and
// pg_backup_stop on one dedicated session, the data directory copied by worker threads in between,
// backup_label from pg_backup_stop's result. Incrementals copy, for each relation file, only the
// pages whose LSN is at or after the parent backup's start LSN.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { openPostgres } from '../adapters/postgres.js';
import { DrydockError } from '../errors.js';
import { runCopyTasks, type CopyResult, type CopyTask } from './copy-pool.js';
import { crc32c, crc32cCombine } from './crc32c.js';
import { fsyncDir, writeFileAtomic } from './fsync.js';
import { formatLsn, parseLsn, segmentsBetween } from './lsn.js';
import { historyFileName, parseHistory, readHistory, type TimelineEntry } from './wal-range.js';
import { listDataDirectory } from './pg-files.js';
import { RELSEG_BLOCKS } from './page-checksum.js';
import { buildPgManifest } from './pg-manifest.js';
import {
  backupDir,
  listBackups,
  newBackupId,
  openRepository,
  readManifest,
  writeCatalogEntry,
  type RepositorySettings,
} from './repository.js';
import { sha256Hex } from './object-codec.js';
import { tableFigures } from './table-figures.js';
import type { BackupKind, BackupManifest, BackupRecord, FileObject, HistoryEntry, ManifestFile } from './types.js';
import { findWal, pushWal } from './wal-archive.js';
import { chooseParent, resolveChain } from './chain.js';
import { referenceFor } from './reference.js';
import { acquireLock } from './lock.js';
import { confValue, walCommand } from './wal/command-line.js';
import { recordAttempt } from './history.js';

const DISK_FULL_HINT =
  'free space, expire old backups (drydock backup expire) or move backup.repository.path to a larger disk';

/** Largest range one worker copies in one task; splitting big files keeps both cores busy (notes: 5.38 s → 4.39 s). */
export const RANGE_BYTES = 64 * 1024 * 1024;
const PAGE = 8192;

export interface PostgresBackupOptions {
  kind: BackupKind;
  repository: RepositorySettings;
  connection: pg.ClientConfig;
  dataDirectory: string;
  /** Database whose tables are counted and checksummed for the restore test. */
  database: string;
  verifyTables: string[];
  archiveTimeoutMs: number;
  signal?: AbortSignal | undefined;
  log?: (line: string) => void;
  /** Called with bytes read so far and the total to read, and files finished so far and in all. */
  onProgress?: (done: number, total: number, files: number, totalFiles: number) => void;
  now?: () => Date;
  /** Retention recorded on the backup (overrides the kind's rule at expire time). */
  retentionMs?: number | undefined;
  /** Range size for splitting big files between workers (a power of two; tests use small ones). */
  rangeBytes?: number | undefined;
  /** The archive_command to suggest in messages (the policy's, with absolute paths). */
  archiveCommand?: string | undefined;
}

interface ServerFacts {
  dataDirectory: string;
  archiveMode: string;
  archiveCommand: string;
  walLevel: string;
  segmentSize: number;
  systemIdentifier: string;
  version: number;
  dataChecksums: boolean;
}

async function serverFacts(client: pg.Client): Promise<ServerFacts> {
  const r = await client.query<Record<string, string>>(
    `SELECT current_setting('data_directory') AS data_directory, current_setting('archive_mode') AS archive_mode,
            current_setting('archive_command') AS archive_command, current_setting('wal_level') AS wal_level,
            current_setting('wal_segment_size') AS wal_segment_size, current_setting('server_version_num') AS version,
            (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier, pg_is_in_recovery()::text AS in_recovery, current_setting('data_checksums') AS data_checksums`,
  );
  const row = r.rows[0]!;
  const seg = row.wal_segment_size!;
  const segmentSize = /MB$/.test(seg)
    ? parseInt(seg, 10) * 1024 * 1024
    : /GB$/.test(seg)
      ? parseInt(seg, 10) * 1024 * 1024 * 1024
      : parseInt(seg, 10);
  return {
    dataDirectory: row.data_directory!,
    archiveMode: row.archive_mode!,
    archiveCommand: row.archive_command!,
    walLevel: row.wal_level!,
    segmentSize,
    systemIdentifier: row.system_identifier!,
    version: Number(row.version),
    dataChecksums: row.data_checksums === 'on',
  };
}

/** The archive_command for this repository, for messages. */
function suggestedArchiveCommand(options: PostgresBackupOptions): string {
  return options.archiveCommand ?? walCommand('push', { repository: options.repository.path });
}

/** The checks that turn a misconfiguration into a message saying what to set, before any copying. */
export function checkServerFacts(facts: ServerFacts, configuredDataDir: string, archiveCommand: string): void {
  const setting = `archive_command = ${confValue(archiveCommand)}`;
  if (facts.walLevel === 'minimal') {
    throw new DrydockError('CONFIG_INVALID', 'wal_level is minimal, so WAL cannot rebuild a backup', {
      hint: 'set wal_level = replica in postgresql.conf and restart PostgreSQL',
    });
  }
  if (facts.archiveMode === 'off') {
    throw new DrydockError(
      'CONFIG_INVALID',
      'WAL archiving is off (archive_mode = off), so a backup could not be made consistent or recovered to a point in time',
      {
        hint: `set archive_mode = on and ${setting} in postgresql.conf (\`drydock wal settings\` prints both), then restart PostgreSQL`,
      },
    );
  }
  if (!facts.archiveCommand || facts.archiveCommand === '(disabled)') {
    throw new DrydockError('CONFIG_INVALID', 'archive_command is empty, so no WAL reaches the repository', {
      hint: `set ${setting} in postgresql.conf and reload`,
    });
  }
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  if (!existsSync(join(configuredDataDir, 'PG_VERSION'))) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `backup.postgres.data_directory ${configuredDataDir} is not a PostgreSQL data directory (no PG_VERSION)`,
      {
        hint: `the server says its data_directory is ${facts.dataDirectory}; set backup.postgres.data_directory to that`,
      },
    );
  }
  if (real(configuredDataDir) !== real(facts.dataDirectory)) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `backup.postgres.data_directory is ${configuredDataDir} but the server's data_directory is ${facts.dataDirectory}`,
      {
        hint: `set backup.postgres.data_directory to ${facts.dataDirectory} (physical backups run on the database host)`,
      },
    );
  }
}

function splitTasks(
  abs: string,
  size: number,
  since: number | null,
  alwaysFromBlock: number,
  nextId: () => number,
  range: number,
): CopyTask[] {
  const segment = /\.(\d+)$/.exec(abs);
  const blockBase = segment ? Number(segment[1]) * RELSEG_BLOCKS : 0;
  if (size <= range) return [{ id: nextId(), abs, offset: 0, length: -1, since, alwaysFromBlock, blockBase }];
  const tasks: CopyTask[] = [];
  for (let offset = 0; offset < size; offset += range) {
    const last = offset + range >= size;
    tasks.push({ id: nextId(), abs, offset, length: last ? -1 : range, since, alwaysFromBlock, blockBase });
  }
  return tasks;
}

/**
 * Waits until every named segment is in the repository. Drydock runs on the database host, so a
 * segment PostgreSQL has finished (archive_status/<name>.ready) is pushed by the backup itself
 * rather than waiting for the archiver to start a process for it; the archiver's own push of the
 * same file is then a no-op (identical content).
 */
async function waitForWal(
  repo: ReturnType<typeof openRepository>,
  names: string[],
  timeoutMs: number,
  dataDirectory: string,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = names.filter((n) => findWal(repo, n).length === 0);
    if (missing.length === 0 || Date.now() > deadline) return missing;
    // Everything PostgreSQL has finished up to the last needed segment, in order, so the archive
    // stays contiguous (point-in-time recovery must be able to pass from the previous backup).
    const last = names[names.length - 1]!;
    let ready: string[] = [];
    try {
      ready = readdirSync(join(dataDirectory, 'pg_wal', 'archive_status'))
        .filter((f) => f.endsWith('.ready'))
        .map((f) => f.slice(0, -'.ready'.length))
        .filter((n) => n.endsWith('.history') || n.slice(0, 24) <= last)
        .sort();
    } catch {
      /* no access to pg_wal: the archiver does it all */
    }
    for (const name of ready) {
      try {
        pushWal(repo, join(dataDirectory, 'pg_wal', name), name);
      } catch {
        /* the archiver may have just taken it (and recycled the file); the next round looks again */
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The server's current timeline and its history, or undefined when the history file cannot be found. */
async function currentHistory(
  client: pg.Client,
  repo: ReturnType<typeof openRepository>,
  dataDirectory: string,
): Promise<HistoryEntry[] | undefined> {
  const r = await client.query<{ walfile: string }>(`SELECT pg_walfile_name(pg_current_wal_lsn()) AS walfile`);
  const tli = parseInt(r.rows[0]!.walfile.slice(0, 8), 16);
  let entries: TimelineEntry[] | undefined;
  if (tli === 1) entries = [{ tli: 1, begin: 0n, end: null }];
  else {
    try {
      entries = parseHistory(readFileSync(join(dataDirectory, 'pg_wal', historyFileName(tli)), 'utf8'), tli);
    } catch {
      try {
        entries = readHistory(repo, tli);
      } catch {
        entries = undefined;
      }
    }
  }
  return entries?.map((e) => ({
    tli: e.tli,
    begin: formatLsn(e.begin),
    end: e.end === null ? null : formatLsn(e.end),
  }));
}

/** Takes a full or incremental backup and returns its catalog record (written last, atomically). */
export async function runPostgresBackup(options: PostgresBackupOptions): Promise<BackupRecord> {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const t0 = Date.now();
  const repo = openRepository(options.repository, { create: true });
  let release: () => void;
  try {
    release = acquireLock(repo, 'a backup');
  } catch (error) {
    // The same clean failure as a full disk later in the backup: recorded, named, nothing left
    // behind. (Another backup holding the lock is not a failed attempt.)
    if (!(error instanceof DrydockError && error.code === 'LOCK_TIMEOUT'))
      recordAttempt(repo, {
        at: new Date().toISOString(),
        kind: options.kind,
        ok: false,
        error: (error as Error).message,
      });
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new DrydockError(
        'EXEC_FAILED',
        `the backup repository ${repo.root} is out of disk space; no backup was started and earlier backups are untouched`,
        { hint: DISK_FULL_HINT, cause: error },
      );
    throw error;
  }
  let client: pg.Client;
  try {
    client = await openPostgres(options.connection, { applicationName: 'drydock backup' });
  } catch (error) {
    release();
    recordAttempt(repo, {
      at: new Date().toISOString(),
      kind: options.kind,
      ok: false,
      error: (error as Error).message,
    });
    throw error;
  }
  let started = false;
  let dir: string | undefined;
  try {
    const facts = await serverFacts(client);
    checkServerFacts(facts, options.dataDirectory, suggestedArchiveCommand(options));
    // Tablespaces outside the data directory are refused before pg_backup_start, by name.
    const outside = await client.query<{ name: string; location: string }>(
      `SELECT spcname AS name, pg_tablespace_location(oid) AS location FROM pg_tablespace
        WHERE pg_tablespace_location(oid) <> '' AND pg_tablespace_location(oid) LIKE '/%' ORDER BY 1`,
    );
    if (outside.rows.length > 0) {
      throw new DrydockError(
        'CONFIG_INVALID',
        `the cluster has tablespaces outside the data directory, which Drydock does not back up yet: ${outside.rows.map((r) => `${r.name} (${r.location})`).join(', ')}`,
        { hint: 'move their tables to pg_default (ALTER TABLE ... SET TABLESPACE pg_default) and drop the tablespace' },
      );
    }

    // The timeline the server writes on now and its history (pg_wal/<tli>.history, else the archive).
    const history = await currentHistory(client, repo, options.dataDirectory);

    // Incrementals need a good parent from the same cluster on this timeline history; without one
    // this becomes a full backup, and says why.
    let kind = options.kind;
    const skipped: string[] = [];
    let parentRecord =
      kind === 'incremental'
        ? chooseParent(listBackups(repo), facts.systemIdentifier, history, (why) => skipped.push(why))
        : undefined;
    if (kind === 'incremental' && skipped.length > 0)
      log(`not building on ${skipped.length} newer backup(s) off this timeline history: ${skipped.join('; ')}`);
    if (kind === 'incremental' && !history) log('the timeline history of this cluster cannot be read');
    // The parent's whole chain: an incremental compares each page with the parent's version of it.
    // A chain that cannot be read (a missing or damaged piece) is not built upon: a full is taken.
    let parentChain: BackupManifest[] = [];
    if (parentRecord) {
      try {
        parentChain = resolveChain(listBackups(repo), parentRecord.id).map((r) => readManifest(repo, r));
      } catch (error) {
        log(
          `the chain of ${parentRecord.id} cannot be used (${(error as Error).message}): taking a full backup instead`,
        );
        parentRecord = undefined;
      }
    }
    let fullReason: string | undefined;
    if (kind === 'incremental' && !parentRecord) {
      fullReason =
        skipped.length > 0
          ? `no earlier backup of this cluster is on its timeline history (${skipped[0]})`
          : !history
            ? 'the timeline history of this cluster cannot be read'
            : 'no usable earlier backup of this cluster in the repository';
      log(`${fullReason}: taking a full backup instead`);
      kind = 'full';
    }
    const parentFiles = new Map<string, ManifestFile>();
    const parentMaps = parentChain.map((m) => new Map(m.files.map((f) => [f.path, f])));
    for (const f of parentChain[parentChain.length - 1]?.files ?? []) parentFiles.set(f.path, f);
    const since = parentRecord ? Number(parseLsn(parentRecord.startLsn)) : null;

    const rangeBytes = options.rangeBytes ?? RANGE_BYTES;
    if (rangeBytes < PAGE || (rangeBytes & (rangeBytes - 1)) !== 0)
      throw new DrydockError('CONFIG_INVALID', `range size ${rangeBytes} must be a power of two of at least 8192`);
    const startedAt = now();
    const id = newBackupId(repo, kind, startedAt);
    dir = backupDir(repo, id);
    mkdirSync(dir, { recursive: true });

    // A fast checkpoint: the backup starts now instead of at the next scheduled checkpoint.
    const start = await client.query<{ lsn: string; walfile: string }>(
      `SELECT lsn::text, pg_walfile_name(lsn) AS walfile FROM pg_backup_start($1, true) AS lsn`,
      [`drydock ${id}`],
    );
    started = true;
    const startLsn = start.rows[0]!.lsn;
    const timeline = parseInt(start.rows[0]!.walfile.slice(0, 8), 16);
    log(`pg_backup_start: ${startLsn} on timeline ${timeline} (${Date.now() - t0} ms)`);
    const tCopy = Date.now();

    const listing = listDataDirectory(options.dataDirectory);
    if (listing.tablespaces.length > 0) {
      throw new DrydockError(
        'CONFIG_INVALID',
        `the cluster has tablespaces outside the data directory (${listing.tablespaces.join(', ')}), which Drydock does not back up yet`,
      );
    }
    let idCounter = 0;
    const nextId = () => idCounter++;
    const tasks: CopyTask[] = [];
    const tasksByFile = new Map<string, CopyTask[]>();
    let total = 0;
    for (const f of listing.files) {
      const parent = parentFiles.get(f.path);
      // Relation files that the parent holds are compared page by page with the parent's version
      // (exact, whatever changed the page, checksums on or off); the rest is copied whole.
      const paged = since !== null && f.relation && parent !== undefined;
      let fileTasks = splitTasks(
        join(options.dataDirectory, f.path),
        f.size,
        paged ? since : null,
        paged ? Math.floor(parent.size / PAGE) : 0,
        nextId,
        rangeBytes,
      );
      if (paged) {
        const shortcut = facts.dataChecksums && !/_(fsm|vm|init)(\.\d+)?$/.test(f.path);
        for (const t of fileTasks) {
          t.ref = referenceFor(
            parentChain,
            parentMaps,
            (bid) => backupDir(repo, bid),
            f.path,
            t.offset,
            t.length >= 0 ? t.offset + t.length : Number.MAX_SAFE_INTEGER,
          );
          t.lsnShortcut = shortcut;
        }
        if (fileTasks.some((t) => !t.ref))
          fileTasks = splitTasks(join(options.dataDirectory, f.path), f.size, null, 0, nextId, rangeBytes);
      }
      if (!paged && facts.dataChecksums && f.relation) {
        for (const t of fileTasks) {
          t.checkPages = true;
          t.startLsn = Number(parseLsn(startLsn));
        }
      }
      tasksByFile.set(f.path, fileTasks);
      tasks.push(...fileTasks);
      total += f.size;
    }
    // Largest first, so the last task to finish is a small one.
    const sizeByAbs = new Map(listing.files.map((f) => [join(options.dataDirectory, f.path), f.size]));
    const sizeOf = (t: CopyTask) => (t.length >= 0 ? t.length : Math.max(0, (sizeByAbs.get(t.abs) ?? 0) - t.offset));
    const order = tasks
      .map((t) => ({ t, s: sizeOf(t) }))
      .sort((a, b) => b.s - a.s)
      .map((x) => x.t);

    let done = 0;
    let filesDone = 0;
    const tasksLeft = new Map<string, number>();
    for (const t of tasks) tasksLeft.set(t.abs, (tasksLeft.get(t.abs) ?? 0) + 1);
    options.onProgress?.(0, total, 0, listing.files.length);
    let torn = 0;
    const corrupt: Array<{ path: string; block: number }> = [];
    const pathByAbs = new Map(listing.files.map((f) => [join(options.dataDirectory, f.path), f.path]));
    const { results, packSizes } = await runCopyTasks(order, {
      workers: options.repository.processes,
      level: options.repository.level,
      dir,
      keyHex: repo.key?.toString('hex'),
      signal: options.signal,
      onResult: (r: CopyResult, task: CopyTask) => {
        done += r.size;
        torn += r.torn ?? 0;
        for (const block of r.badPages ?? []) corrupt.push({ path: pathByAbs.get(task.abs) ?? task.abs, block });
        const left = (tasksLeft.get(task.abs) ?? 1) - 1;
        tasksLeft.set(task.abs, left);
        if (left === 0) filesDone++;
        options.onProgress?.(done, total, filesDone, listing.files.length);
      },
    });

    log(`copied ${done} bytes in ${Date.now() - tCopy} ms`);
    const tStop = Date.now();
    // pg_backup_stop(false): PostgreSQL's own wait for archiving polls once a second, which costs
    // a whole second per backup; Drydock instead watches its repository for the segments (below).
    const stop = await client.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>(
      'SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)',
    );
    started = false;
    const stopLsn = stop.rows[0]!.lsn;
    const labelFile = Buffer.from(stop.rows[0]!.labelfile);
    const spcmap = stop.rows[0]!.spcmapfile ? Buffer.from(stop.rows[0]!.spcmapfile) : undefined;
    const stoppedAt = now();
    log(`pg_backup_stop: ${stopLsn} (${Date.now() - tStop} ms)`);

    // Assemble the manifest from the workers' results; a file that vanished mid-backup is left out
    // (WAL replay recreates or drops it).
    const files: ManifestFile[] = [];
    let readBytes = 0;
    let changedFiles = 0;
    for (const f of listing.files) {
      const fileTasks = tasksByFile.get(f.path)!;
      const parts = fileTasks.map((t) => ({ t, r: results.get(t.id)! }));
      if (parts.some((p) => p.r.missing)) continue;
      let crc = 0;
      let size = 0;
      const objects: FileObject[] = [];
      for (const { t, r } of parts) {
        crc = size === 0 ? r.crc : crc32cCombine(crc, r.crc, r.size);
        size += r.size;
        readBytes += r.size;
        if (r.object)
          objects.push(
            r.blocks
              ? { ...r.object, blocks: r.blocks, ...(r.xorBelow === undefined ? {} : { xorBelow: r.xorBelow }) }
              : { ...r.object, rawOffset: t.offset },
          );
        // A range that came back short means the file shrank while we read it: later ranges are empty.
        if (t.length >= 0 && r.size < t.length) break;
      }
      const kindOfFile = fileTasks[0]!.since !== null ? 'delta' : 'whole';
      if (kindOfFile === 'whole' || objects.length > 0 || size !== parentFiles.get(f.path)?.size) changedFiles++;
      files.push({ path: f.path, size, mtimeMs: f.mtimeMs, mode: f.mode, crc, kind: kindOfFile, objects });
    }
    const inlineFile = async (path: string, content: Buffer): Promise<ManifestFile> => ({
      path,
      size: content.length,
      mtimeMs: stoppedAt.getTime(),
      mode: 0o600,
      crc: await crc32c(content),
      kind: 'whole',
      objects: [],
      inline: content.toString('base64'),
    });
    files.push(await inlineFile('backup_label', labelFile));
    if (spcmap && spcmap.length > 0) files.push(await inlineFile('tablespace_map', spcmap));
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

    // The backup is consistent once WAL from its start to its stop is replayed; that WAL must be in
    // this repository, or the backup is not restorable.
    const labelStart = /START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/.exec(labelFile.toString())?.[1] ?? startLsn;
    const needed = segmentsBetween(timeline, parseLsn(labelStart), parseLsn(stopLsn), facts.segmentSize);
    // The switch to a new segment happened inside pg_backup_stop; the archiver pushes it now.
    const tWal = Date.now();
    const missing = await waitForWal(repo, needed, options.archiveTimeoutMs, options.dataDirectory);
    log(`WAL ${needed[0]}..${needed[needed.length - 1]} in the repository after ${Date.now() - tWal} ms`);
    if (missing.length > 0) {
      const archiver = await client
        .query<{ failed: string | null; last: string | null }>(
          'SELECT last_failed_wal AS failed, last_archived_wal AS last FROM pg_stat_archiver',
        )
        .catch(() => undefined);
      const a = archiver?.rows[0];
      const ours = a?.last && needed.includes(a.last);
      throw new DrydockError(
        'EXEC_FAILED',
        `WAL segment${missing.length > 1 ? 's' : ''} ${missing.join(', ')} needed by this backup did not reach the repository ${repo.root} within ${Math.round(options.archiveTimeoutMs / 1000)} s (PostgreSQL last archived ${a?.last ?? 'nothing'}, last failed ${a?.failed ?? 'nothing'})`,
        {
          hint: ours
            ? `archive_command ("${facts.archiveCommand}") archives somewhere else; it must be ${confValue(suggestedArchiveCommand(options))}`
            : `check archive_command ("${facts.archiveCommand}") and the PostgreSQL log; it should be ${confValue(suggestedArchiveCommand(options))}`,
        },
      );
    }

    // The figures come from the database the tables live in, which may not be the session's.
    const sameDb = !options.database || options.database === options.connection.database;
    const figuresDb = sameDb
      ? client
      : await openPostgres(
          { ...options.connection, database: options.database },
          { applicationName: 'drydock backup' },
        );
    const tables = await tableFigures(figuresDb, options.verifyTables).finally(() =>
      sameDb ? undefined : figuresDb.end().catch(() => {}),
    );

    const manifest: BackupManifest = {
      format: 'drydock-backup-manifest',
      version: 1,
      id,
      kind,
      parent: parentRecord?.id ?? null,
      files,
      dirs: listing.dirs,
      packs: packSizes.map((size, pack) => ({ pack, size })),
      rangeBytes,
    };
    const manifestJson = JSON.stringify(manifest);
    writeFileAtomic(join(dir, 'manifest.json'), manifestJson);
    let pgManifestSha256: string | undefined;
    if (kind === 'full') {
      const pgManifest = buildPgManifest(files, { timeline, startLsn: labelStart, endLsn: stopLsn });
      writeFileAtomic(join(dir, 'backup_manifest'), pgManifest);
      pgManifestSha256 = sha256Hex(Buffer.from(pgManifest));
    }
    fsyncDir(dir);

    const storedSize = packSizes.reduce((a, b) => a + b, 0);
    const record: BackupRecord = {
      id,
      kind,
      parent: parentRecord?.id ?? null,
      chain: [...(parentRecord?.chain ?? []), id],
      startedAt: startedAt.toISOString(),
      stoppedAt: stoppedAt.toISOString(),
      startLsn: labelStart,
      stopLsn,
      timeline,
      ...(history && history[history.length - 1]!.tli === timeline ? { timelineHistory: history } : {}),
      segmentSize: facts.segmentSize,
      walStart: needed[0]!,
      walStop: needed[needed.length - 1]!,
      systemIdentifier: facts.systemIdentifier,
      pgVersion: facts.version,
      size: total,
      readBytes,
      storedSize,
      fileCount: files.length,
      changedFiles,
      manifestSha256: sha256Hex(Buffer.from(manifestJson)),
      ...(pgManifestSha256 ? { pgManifestSha256 } : {}),
      compression: { type: 'zstd', level: options.repository.level },
      encrypted: repo.key !== undefined,
      durationMs: Date.now() - t0,
      ...(fullReason && options.kind === 'incremental' ? { fullReason } : {}),
      tables,
      database: options.database,
      ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
      ...(facts.dataChecksums && kind === 'full'
        ? { pageChecksums: { verified: true, corrupt: corrupt.slice(0, 100), corruptCount: corrupt.length } }
        : {}),
    };
    // The catalog entry is the commit point: written last, fsynced, renamed into place.
    writeCatalogEntry(repo, record);
    recordAttempt(repo, { at: record.stoppedAt, kind, ok: true, id, storedSize });
    for (const c of corrupt.slice(0, 20))
      log(`page checksum failure: ${c.path} block ${c.block} (copied as is; the database itself holds a damaged page)`);
    if (torn > 0) log(`${torn} page(s) were being written while read; kept as read, WAL replay repairs them`);
    log(`backup ${id} (${kind}) done: ${files.length} files, ${readBytes} bytes read, ${storedSize} stored`);
    return record;
  } catch (error) {
    if (started) await client.query('SELECT pg_backup_stop(false)').catch(() => {});
    // A failed backup leaves nothing behind; a killed one leaves an unlisted folder for expire.
    if (dir) rmSync(dir, { recursive: true, force: true });
    recordAttempt(repo, {
      at: new Date().toISOString(),
      kind: options.kind,
      ok: false,
      error: (error as Error).message,
    });
    if (
      (error as NodeJS.ErrnoException).code === 'ENOSPC' ||
      (error instanceof DrydockError && error.details.code === 'ENOSPC')
    ) {
      throw new DrydockError(
        'EXEC_FAILED',
        `the backup repository ${repo.root} is out of disk space; the partial backup was removed and earlier backups are untouched`,
        {
          hint: DISK_FULL_HINT,
          cause: error,
        },
      );
    }
    throw error;
  } finally {
    release();
    await client.end().catch(() => {});
  }
}
