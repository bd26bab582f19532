// Where server.cleanup may work at all: each root is resolved with realpath (a link to "/" is "/"),
// refused when it is or lies inside a system directory, and refused when it lies outside
// server.cleanup.allowed_prefixes (or the policy's own folder). Checked by `config check` and again
// before every run. Synchronous on purpose: a handful of realpath calls, also used by the CLI.
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** Directories whose whole tree clean-up never touches. */
export const SYSTEM_TREES = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/boot',
  '/proc',
  '/sys',
  '/run',
  '/root',
  '/var/lib',
  '/var/spool',
  '/var/cache',
  '/var/backups',
  '/var/mail',
] as const;
/** Directories that are never a root themselves (their children may be). */
export const SYSTEM_EXACT = ['/', '/var', '/home', '/srv', '/opt', '/tmp', '/var/tmp', '/var/log', '/mnt', '/media'];

export const DEFAULT_ALLOWED_PREFIXES = ['/var/log', '/var/tmp', '/tmp', '/srv', '/opt', '/home'];

function real(path: string): string {
  // A root that does not exist yet is judged as written (resolved lexically).
  let p = resolve(path);
  const missing: string[] = [];
  for (;;) {
    try {
      const found = realpathSync(p);
      return missing.length ? resolve(found, ...missing.reverse()) : found;
    } catch {
      if (p === sep) return resolve(path);
      missing.push(p.slice(dirname(p).length + (dirname(p) === sep ? 0 : 1)));
      p = dirname(p);
    }
  }
}

/** /dev is a system tree except for /dev/shm (a tmpfs for scratch files). */
function systemProblem(target: string): string | null {
  if (SYSTEM_EXACT.includes(target)) return 'is a system directory';
  const tree = SYSTEM_TREES.find((t) => isInside(target, t));
  if (tree) return `lies inside the system directory ${tree}`;
  if (isInside(target, '/dev') && !(isInside(target, '/dev/shm') && target !== '/dev/shm'))
    return 'lies inside the system directory /dev';
  return null;
}

/**
 * Every problem with the clean-up roots, each naming the policy key. `ownDirs` are the policy's own
 * folders (its file's directory and the state's), always allowed.
 */
export function cleanupRootProblems(
  roots: readonly string[],
  allowedPrefixes: readonly string[],
  ownDirs: readonly string[] = [],
): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const allowed = [...allowedPrefixes, ...ownDirs].filter((p) => isAbsolute(p)).map(real);
  roots.forEach((root, i) => {
    const where = `server.cleanup.roots[${i}]`;
    if (!isAbsolute(root))
      return problems.push({ path: where, message: `${JSON.stringify(root)} is not an absolute path` });
    const target = real(root);
    const shown = target === resolve(root) ? target : `${resolve(root)} (resolves to ${target})`;
    const system = systemProblem(target);
    if (system) return problems.push({ path: where, message: `${shown} ${system}; clean-up refuses it` });
    if (!allowed.some((prefix) => isInside(target, prefix) && target !== prefix))
      return problems.push({
        path: where,
        message: `${shown} is outside server.cleanup.allowed_prefixes (${allowedPrefixes.join(', ')}) and the policy's own folder`,
      });
    return undefined;
  });
  return problems;
}

/** Whether path is root or inside it (lexically). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
