// Every backup attempt, good or failed, appended to history.jsonl in the repository, so the success
// rate over 30 days (the spec's monitoring) can be computed from the repository alone.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
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

/** Best effort: a full disk must not hide the error that made the backup fail. */
export function recordAttempt(repo: Repository, attempt: Attempt): void {
  try {
    appendFileSync(join(repo.root, 'history.jsonl'), JSON.stringify(attempt) + '\n');
  } catch {
    /* reported by the caller's own error */
  }
}

export function readAttempts(repo: Repository): Attempt[] {
  const path = join(repo.root, 'history.jsonl');
  if (!existsSync(path)) return [];
  const out: Attempt[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Attempt);
    } catch {
      /* a line cut by a crash is ignored */
    }
  }
  return out;
}
