// Log rotation without losing a line. logrotate's copytruncate loses what the writer appends
// between the copy and the truncate. Here the head of the log (whole file-system blocks) is copied
// and gzip-compressed, then removed from the live file with `fallocate --collapse-range`, which the
// kernel applies atomically against concurrent O_APPEND writes: every byte ends up either in a
// rotated file or still in the live log. Needs ext4 or XFS; elsewhere rotation is refused, never lossy.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, rename, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { exec } from '../../adapters/exec.js';
import { DrydockError } from '../../errors.js';

export interface RotationInput {
  size: number;
  /** When the log was last rotated (newest rotated copy), or null. */
  lastRotatedAt: number | null;
  /** The log's creation (birth) time, used when it was never rotated. */
  createdAt: number;
  now: number;
  maxSize: number | null;
  maxAgeMs: number | null;
  blockSize: number;
}

export interface RotationDecision {
  rotate: boolean;
  reason: string;
  /** Bytes moved to the rotated copy: whole blocks, strictly less than the size. */
  cut: number;
}

export function decideRotation(input: RotationInput): RotationDecision {
  const bySize = input.maxSize !== null && input.size > input.maxSize;
  const since = input.lastRotatedAt ?? input.createdAt;
  const byAge = input.maxAgeMs !== null && input.size > 0 && input.now - since >= input.maxAgeMs;
  if (!bySize && !byAge) return { rotate: false, reason: 'under max_size and max_age', cut: 0 };
  const cut = Math.floor((input.size - 1) / input.blockSize) * input.blockSize;
  const why = bySize
    ? `larger than ${input.maxSize} bytes (${input.size})`
    : `older than max_age since ${new Date(since).toISOString()}`;
  if (cut <= 0)
    return {
      rotate: false,
      reason: `${why}, but smaller than one file-system block (${input.blockSize} bytes); kept until it grows`,
      cut: 0,
    };
  return { rotate: true, reason: why, cut };
}

/** 2026-11-26T23:28:07.123Z → 20261126T232807123Z (sorts like time). */
export function rotationStamp(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

function parseRotationStamp(stamp: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

export interface RotatedCopy {
  name: string;
  at: number;
}

/** Rotated copies of `logName` among directory entries, oldest first. */
export function rotatedCopies(logName: string, entries: readonly string[]): RotatedCopy[] {
  const prefix = `${logName}.`;
  const out: RotatedCopy[] = [];
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith('.gz')) continue;
    const at = parseRotationStamp(entry.slice(prefix.length, -3));
    if (at !== null) out.push({ name: entry, at });
  }
  return out.sort((a, b) => a.at - b.at || (a.name < b.name ? -1 : 1));
}

export function expiredCopies(copies: readonly RotatedCopy[], now: number, retentionMs: number): RotatedCopy[] {
  return copies.filter((c) => now - c.at > retentionMs);
}

/** "*.log" style pattern on a base name. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

export async function blockSize(path: string): Promise<number> {
  return (await statfs(dirname(path))).bsize;
}

export interface LogState {
  path: string;
  size: number;
  createdAt: number;
  copies: RotatedCopy[];
}

export async function readLogState(path: string): Promise<LogState> {
  const s = await stat(path, { bigint: false });
  const created = s.birthtimeMs > 0 ? s.birthtimeMs : s.ctimeMs;
  return {
    path,
    size: s.size,
    createdAt: created,
    copies: rotatedCopies(basename(path), await readdir(dirname(path))),
  };
}

/** Copies the first `cut` bytes gzip-compressed, then removes them from the live file in place. Returns the rotated file. */
export async function rotateHead(path: string, cut: number, at: Date): Promise<string> {
  const dir = dirname(path);
  let stampAt = at.getTime();
  let target: string;
  const existing = new Set(await readdir(dir));
  do {
    target = join(dir, `${basename(path)}.${rotationStamp(new Date(stampAt))}.gz`);
    stampAt += 1;
  } while (existing.has(basename(target)));
  const part = `${target}.part`;
  await pipeline(
    createReadStream(path, { start: 0, end: cut - 1 }),
    createGzip(),
    createWriteStream(part, { flags: 'wx' }),
  );
  const handle = await open(part, 'r');
  await handle.sync();
  await handle.close();
  await rename(part, target);
  try {
    await exec('fallocate', ['--collapse-range', '--offset', '0', '--length', String(cut), path], {
      timeoutMs: 60_000,
    });
  } catch (error) {
    await unlink(target).catch(() => undefined);
    const stderr = error instanceof DrydockError ? error.details.stderr : undefined;
    const detail = (typeof stderr === 'string' && stderr.trim() ? stderr : (error as Error).message).trim();
    throw new DrydockError(
      'EXEC_FAILED',
      `${path}: cannot rotate without losing lines: fallocate --collapse-range failed (${detail})`,
      {
        hint: 'lossless rotation needs ext4 or XFS; the log was left untouched',
      },
    );
  }
  return target;
}
