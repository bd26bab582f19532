// Where clean-up may delete: only inside configured roots, never `/`, never through a link that
// leads out. Every rule path is checked both as written and as resolved on disk.
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { DrydockError } from '../../errors.js';

/** True when `path` is `root` or below it (both already absolute and normalised). */
function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Lexical checks only (pure): returns an error message or null. */
export function lexicalProblem(path: string, roots: readonly string[]): string | null {
  if (roots.length === 0)
    return 'server.cleanup.roots is empty: clean-up only works inside configured root directories';
  for (const root of roots) {
    if (!isAbsolute(root)) return `root ${JSON.stringify(root)} is not an absolute path`;
    if (resolve(root) === sep) return 'root "/" is refused: clean-up never works on the whole file system';
  }
  if (!isAbsolute(path)) return `${JSON.stringify(path)} is not an absolute path`;
  const resolved = resolve(path);
  if (resolved === sep) return `${JSON.stringify(path)} points at "/", which clean-up refuses`;
  if (!roots.some((root) => isInside(resolved, resolve(root))))
    return `${resolved} is outside the configured roots (${roots.join(', ')})`;
  return null;
}

async function real(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/**
 * Checks a rule path and returns its resolved location. `where` names the policy key for the
 * message. A path that does not exist yet passes (nothing to delete there).
 */
export async function guardPath(path: string, roots: readonly string[], where: string): Promise<string> {
  const problem = lexicalProblem(path, roots);
  if (problem)
    throw new DrydockError('CONFIG_INVALID', `${where}: ${problem}`, {
      hint: 'fix server.cleanup in the policy; nothing was deleted',
    });
  const resolved = resolve(path);
  const target = await real(resolved);
  if (target === null) return resolved;
  const realRoots = await Promise.all(roots.map(async (r) => (await real(resolve(r))) ?? resolve(r)));
  if (!realRoots.some((root) => isInside(target, root)) || target === sep) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `${where}: ${resolved} is a link leading out of the configured roots (it resolves to ${target})`,
      {
        hint: 'point the rule at the real directory inside a root; nothing was deleted',
      },
    );
  }
  return target;
}

/** For entries found while walking: is the resolved location still inside one of the roots? */
export async function stillInside(path: string, roots: readonly string[]): Promise<boolean> {
  const target = await real(path);
  if (target === null) return false;
  const realRoots = await Promise.all(roots.map(async (r) => (await real(resolve(r))) ?? resolve(r)));
  return realRoots.some((root) => isInside(target, root));
}
