// Temp files older than a configured age in configured directories. Walks without following
// links (a link is removed as a link, its target is never touched) and removes emptied
// sub-directories that are themselves old.
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface TempDeletion {
  path: string;
  bytes: number;
  kind: 'file' | 'link' | 'dir';
  mtime: number;
}

/** Pure: is an entry with this mtime old enough to go? */
function isExpired(mtimeMs: number, now: number, olderThanMs: number): boolean {
  return now - mtimeMs > olderThanMs;
}

/** Lists (and unless dryRun, deletes) what is older than the cut-off under `dir`. */
export async function cleanTempDir(
  dir: string,
  now: number,
  olderThanMs: number,
  dryRun: boolean,
): Promise<TempDeletion[]> {
  const out: TempDeletion[] = [];
  const walk = async (path: string, top: boolean): Promise<boolean> => {
    let entries: string[];
    try {
      entries = await readdir(path);
    } catch {
      return false;
    }
    let remaining = entries.length;
    for (const name of entries) {
      const child = join(path, name);
      const info = await lstat(child).catch(() => null);
      if (!info) continue;
      if (info.isDirectory()) {
        const emptied = await walk(child, false);
        if (emptied && isExpired(info.mtimeMs, now, olderThanMs)) {
          out.push({ path: child, bytes: 0, kind: 'dir', mtime: info.mtimeMs });
          if (!dryRun) await rmdir(child).catch(() => undefined);
          remaining -= 1;
        }
      } else if (isExpired(info.mtimeMs, now, olderThanMs)) {
        out.push({
          path: child,
          bytes: info.isSymbolicLink() ? 0 : info.size,
          kind: info.isSymbolicLink() ? 'link' : 'file',
          mtime: info.mtimeMs,
        });
        if (!dryRun) await unlink(child).catch(() => undefined);
        remaining -= 1;
      }
    }
    return !top && remaining === 0;
  };
  await walk(dir, true);
  return out;
}
