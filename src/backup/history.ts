// Every backup attempt, good or failed, appended to history.jsonl in the repository, so the success
// rate over 30 days (the spec's monitoring) can be computed from the repository alone.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Repository } from './repository.js';

export interface Attempt {
  at: string;
  kind: string;
  ok: boolean;
  id?: string | undefined;
  storedSize?: number | undefined;
  error?: string | undefined;
}

function lineSha(attempt: Attempt): string {
  return createHash('sha256').update(JSON.stringify(attempt)).digest('hex').slice(0, 16);
}

/** One line: the attempt plus `sha256`, the first 16 hex digits of the SHA-256 of the attempt's JSON. */
export function attemptLine(attempt: Attempt): string {
  return JSON.stringify({ ...attempt, sha256: lineSha(attempt) }) + '\n';
}

/** Space kept free for history.jsonl, so a backup that failed on a full disk is still recorded. */
export const HISTORY_RESERVE = 'history.reserve';
const RESERVE_BYTES = 64 * 1024;

/**
 * Appends one attempt. On a full disk the reserve file is given up to make room for the line (the
 * record of what ran must not be lost), and made again once there is space. Otherwise best effort:
 * a failure here must not hide the error that made the backup fail.
 */
export function recordAttempt(repo: Repository, attempt: Attempt): void {
  const file = join(repo.root, 'history.jsonl');
  const reserve = join(repo.root, HISTORY_RESERVE);
  try {
    appendFileSync(file, attemptLine(attempt));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') return;
    try {
      rmSync(reserve, { force: true });
      appendFileSync(file, attemptLine(attempt));
    } catch {
      return; /* reported by the caller's own error */
    }
  }
  try {
    if (!existsSync(reserve)) writeFileSync(reserve, Buffer.alloc(RESERVE_BYTES));
  } catch {
    rmSync(reserve, { force: true }); // no room yet: a partial reserve would only take space
  }
}

export interface HistoryProblem {
  line: number;
  problem: string;
}

/**
 * Every attempt whose line is intact, and the damaged lines by number. A line whose checksum fails
 * is not trusted (it is left out of the success rate); lines from before checksums were written
 * (no sha256 field) are read as they are. The last line cut short by a crash is not damage.
 */
export function checkAttempts(repo: Repository): { attempts: Attempt[]; problems: HistoryProblem[] } {
  const path = join(repo.root, 'history.jsonl');
  if (!existsSync(path)) return { attempts: [], problems: [] };
  const attempts: Attempt[] = [];
  const problems: HistoryProblem[] = [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    const last = index === lines.length - 1; // no newline after it: cut by a crash mid-append
    let parsed: Attempt & { sha256?: string };
    try {
      parsed = JSON.parse(line) as Attempt & { sha256?: string };
    } catch {
      if (!last) problems.push({ line: index + 1, problem: 'damaged: not valid JSON' });
      return;
    }
    const { sha256, ...attempt } = parsed;
    if (sha256 !== undefined && sha256 !== lineSha(attempt)) {
      problems.push({ line: index + 1, problem: 'damaged (checksum mismatch)' });
      return;
    }
    attempts.push(attempt);
  });
  return { attempts, problems };
}

export function readAttempts(repo: Repository): Attempt[] {
  return checkAttempts(repo).attempts;
}
