// What WAL a restore will replay, checked before anything is written: the timeline history it
// follows, every segment from the backup's start to the target present and intact, and the newest
// moment that WAL can reach (commit timestamps read from the archived WAL with pg_waldump).
//
// Timelines follow PostgreSQL's own rules (xlogrecovery.c): a timeline's history file lists, for
// each ancestor, the LSN where it was left; segment N is read from the newest timeline of the
// history that had begun by segment N (so the segment holding a switch point comes from the new
// timeline).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../adapters/exec.js';
import { DrydockError } from '../errors.js';
import { formatLsn, parseLsn, segmentName, segmentNumber, isSegmentName, segmentTimeline } from './lsn.js';
import { parseMomentText, type Moment } from './moment.js';
import type { Repository } from './repository.js';
import type { BackupRecord } from './types.js';
import { findWal, listWal, readWal, type ArchivedWal } from './wal-archive.js';

export interface TimelineEntry {
  tli: number;
  /** First LSN of this timeline (0 for the first one). */
  begin: bigint;
  /** LSN where this timeline was left for the next; null for the newest. */
  end: bigint | null;
}

export function historyFileName(tli: number): string {
  return `${tli.toString(16).toUpperCase().padStart(8, '0')}.history`;
}

/** Parses a timeline history file ("1\t0/3000000\tno recovery target specified" per line). */
export function parseHistory(text: string, tli: number): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  let begin = 0n;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(line);
    if (!m) throw new Error(`not a timeline history line: ${JSON.stringify(line)}`);
    const end = parseLsn(m[2]!);
    entries.push({ tli: Number(m[1]), begin, end });
    begin = end;
  }
  entries.push({ tli, begin, end: null });
  return entries;
}

/** The history of timeline `tli` from the archive, oldest first and ending with `tli` itself. */
export function readHistory(repo: Repository, tli: number): TimelineEntry[] {
  if (tli === 1) return [{ tli: 1, begin: 0n, end: null }];
  const name = historyFileName(tli);
  const [file] = findWal(repo, name);
  if (!file)
    throw new DrydockError('VALIDATION_FAILED', `the history file of timeline ${tli} (${name}) is not in the archive`, {
      details: { file: name },
    });
  try {
    return parseHistory(readWal(repo, file).toString('utf8'), tli);
  } catch (error) {
    if (error instanceof DrydockError) throw error;
    throw new DrydockError('VALIDATION_FAILED', `timeline history ${name} is damaged: ${(error as Error).message}`, {
      details: { file: name },
    });
  }
}

/** Whether `lsn` on timeline `tli` lies on this history (before the point where the history left tli). */
export function onHistory(history: readonly TimelineEntry[], tli: number, lsn: bigint): boolean {
  const e = history.find((h) => h.tli === tli);
  return !!e && (e.end === null || lsn < e.end);
}

/** Timelines with a history file in the archive, plus 1. */
export function archivedTimelines(repo: Repository): number[] {
  const tlis = new Set<number>([1]);
  for (const w of listWal(repo)) {
    const m = /^([0-9A-F]{8})\.history$/.exec(w.name);
    if (m) tlis.add(parseInt(m[1]!, 16));
  }
  return [...tlis].sort((a, b) => a - b);
}

/**
 * The newest timeline whose history passes through `lsn` on timeline `tli` (a restore follows it,
 * as recovery_target_timeline = 'latest' intends, without picking an unrelated sibling).
 */
export function newestDescendant(
  repo: Repository,
  tli: number,
  lsn: bigint,
): { tli: number; history: TimelineEntry[] } {
  let best = { tli, history: readHistory(repo, tli) };
  for (const candidate of archivedTimelines(repo)) {
    if (candidate <= best.tli) continue;
    let history: TimelineEntry[];
    try {
      history = readHistory(repo, candidate);
    } catch {
      continue; // a damaged history file is reported by verify; it is not followed
    }
    if (onHistory(history, tli, lsn)) best = { tli: candidate, history };
  }
  return best;
}

/** The timeline segment `segNo` is read from under `history`. */
export function timelineOfSegment(history: readonly TimelineEntry[], segNo: bigint, segmentSize: number): number {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i]!.begin / BigInt(segmentSize) <= segNo) return history[i]!.tli;
  }
  return history[0]!.tli;
}

export interface CommitRecord {
  xid: number;
  lsn: string;
  at: Moment;
  /** As pg_waldump printed it, e.g. "2026-11-29 10:00:00.123456 UTC". */
  text: string;
}

/** COMMIT records of one WAL segment, read with pg_waldump (TZ=UTC). */
export async function commitsIn(content: Buffer, name: string, binDirectory: string): Promise<CommitRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-waldump-'));
  try {
    writeFileSync(join(dir, name), content);
    // Exit 1 is normal: the dump ends with "could not find file" (the next segment) or an invalid
    // record at the end of the WAL written so far.
    const r = await exec(join(binDirectory, 'pg_waldump'), ['-r', 'Transaction', '-p', dir, name], {
      env: { TZ: 'UTC' },
      okCodes: [0, 1],
      timeoutMs: 120_000,
      what: 'pg_waldump',
    });
    const out: CommitRecord[] = [];
    for (const line of r.stdout.split('\n')) {
      const m =
        /tx:\s+(\d+), lsn: ([0-9A-F]+\/[0-9A-F]+),.*desc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/.exec(
          line,
        );
      if (!m) continue;
      const at = parseMomentText(`${m[3]!} UTC`);
      if (at) out.push({ xid: Number(m[1]), lsn: m[2]!, at, text: `${m[3]!} UTC` });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface WalRangePlan {
  /** The timeline recovery follows, and its history. */
  timeline: number;
  history: TimelineEntry[];
  /** Segments the restore will replay, in order, each checked present and intact. */
  segments: string[];
  /** The first segment missing from the middle of the range (later segments exist), if any. */
  gap?: string | undefined;
  /** With a target time: a damaged segment that ended the range (refused unless the target lies before it). */
  damaged?: { name: string; problem: string } | undefined;
  /** The newest archived segment on this history. */
  newestArchived: string;
  /** The newest commit in the segments above (the newest moment recovery can reach). */
  newestCommit?: CommitRecord | undefined;
  /** The commits of the segment that holds the newest commit. */
  commits: CommitRecord[];
}

/** Segment names on `history` that recovery would read, newest archived first found by scanning. */
function newestSegmentOnHistory(
  archived: readonly ArchivedWal[],
  history: readonly TimelineEntry[],
  segmentSize: number,
): bigint {
  let newest = -1n;
  for (const w of archived) {
    if (!isSegmentName(w.name)) continue;
    const tli = segmentTimeline(w.name);
    const e = history.find((h) => h.tli === tli);
    if (!e) continue;
    const seg = segmentNumber(w.name, segmentSize);
    const size = BigInt(segmentSize);
    if (seg < e.begin / size) continue;
    if (e.end !== null && seg > (e.end - 1n) / size) continue;
    if (timelineOfSegment(history, seg, segmentSize) !== tli) continue;
    if (seg > newest) newest = seg;
  }
  return newest;
}

/**
 * Checks the WAL a restore of `backup` needs. `to` is 'consistent' (replay just to the end of the
 * backup), 'end' (all archived WAL) or a moment. Every needed segment is decoded and checked against
 * its SHA-256; a damaged one throws naming it. Missing segments are reported as `gap` (the caller
 * decides); missing ones the backup itself needs throw.
 */
export async function planWalRange(
  repo: Repository,
  backup: BackupRecord,
  to: 'consistent' | 'end' | Moment,
  binDirectory: string,
): Promise<WalRangePlan> {
  const size = backup.segmentSize;
  const startLsn = parseLsn(backup.startLsn);
  const { tli, history } =
    to === 'consistent'
      ? { tli: backup.timeline, history: readHistory(repo, backup.timeline) }
      : newestDescendant(repo, backup.timeline, startLsn);
  const archived = listWal(repo);
  const byName = new Map(archived.map((w) => [w.name, w]));
  const first = segmentNumber(backup.walStart, size);
  const stop = segmentNumber(backup.walStop, size);
  const newest = newestSegmentOnHistory(archived, history, size);
  const last = to === 'consistent' ? stop : newest > stop ? newest : stop;
  const segments: string[] = [];
  const contents = new Map<string, Buffer>();
  let gap: string | undefined;
  let damaged: { name: string; problem: string } | undefined;
  for (let s = first; s <= last; s++) {
    const name = segmentName(timelineOfSegment(history, s, size), s, size);
    const wal = byName.get(name);
    if (!wal) {
      if (s <= stop)
        throw new DrydockError(
          'VALIDATION_FAILED',
          `WAL segment ${name}, needed to make backup ${backup.id} consistent, is missing from the archive`,
          { details: { backup: backup.id, file: name } },
        );
      gap = name;
      break;
    }
    // A damaged segment (checksum or decompression) is refused by name; with a target time it ends
    // the range instead (the target may lie before it; checkWalPlan decides).
    let content: Buffer;
    try {
      content = readWal(repo, wal);
    } catch (error) {
      if (typeof to !== 'object' || s <= stop) throw error;
      damaged = { name, problem: (error as Error).message };
      break;
    }
    segments.push(name);
    // Only the newest few are kept, for pg_waldump.
    contents.set(name, content);
    if (contents.size > 4) contents.delete(contents.keys().next().value!);
  }
  const plan: WalRangePlan = {
    timeline: tli,
    history,
    segments,
    gap,
    damaged,
    newestArchived: newest >= 0n ? segmentName(timelineOfSegment(history, newest, size), newest, size) : backup.walStop,
    commits: [],
  };
  if (to === 'consistent') return plan;
  // The newest commit: scan back from the last replayable segment until one holds a commit.
  for (let i = segments.length - 1; i >= 0 && i >= segments.length - 64; i--) {
    const name = segments[i]!;
    const content = contents.get(name) ?? readWal(repo, byName.get(name)!);
    const commits = await commitsIn(content, name, binDirectory);
    if (commits.length > 0) {
      plan.newestCommit = commits[commits.length - 1];
      plan.commits = commits;
      break;
    }
  }
  return plan;
}

export { formatLsn };
