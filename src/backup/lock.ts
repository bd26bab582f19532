// One backup or expire at a time per repository. The lock file holds the owner's pid; a lock whose
// process is gone (kill -9) is stale and taken over, which is also how an interrupted backup's
// unlisted folder is known to be safe to delete.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../adapters/process.js';
import { DrydockError } from '../errors.js';
import type { Repository } from './repository.js';

function lockPath(repo: Repository): string {
  return join(repo.root, 'repository.lock');
}

/** The pid holding the lock, if that process is alive. */
export function lockHolder(repo: Repository): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath(repo), 'utf8').trim());
    return pid > 0 && processAlive(pid) && pid !== process.pid ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function acquireLock(repo: Repository, what: string): () => void {
  const path = lockPath(repo);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o640);
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (error) {
        // A full disk: no empty lock file is left behind to look like a stale one.
        closeSync(fd);
        rmSync(path, { force: true });
        throw error;
      }
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(repo);
      if (holder !== undefined) {
        throw new DrydockError(
          'LOCK_TIMEOUT',
          `cannot start ${what}: process ${holder} is using the repository ${repo.root}`,
          { retryable: true },
        );
      }
      rmSync(path, { force: true }); // stale: its owner died
    }
  }
  throw new DrydockError('LOCK_TIMEOUT', `cannot lock the repository ${repo.root}`, { retryable: true });
}
