// The few git operations dependency updates need, each one `git -C <repo> ...` through the exec
// wrapper (arguments as a list, never a shell). Commits carry Drydock as author so a person can
// tell them apart in the history.
import { exec, type ExecResult } from '../adapters/exec.js';
import { DrydockError } from '../errors.js';

const GIT_TIMEOUT_MS = 2 * 60_000;
const IDENTITY = {
  GIT_AUTHOR_NAME: 'Drydock',
  GIT_AUTHOR_EMAIL: 'drydock@localhost',
  GIT_COMMITTER_NAME: 'Drydock',
  GIT_COMMITTER_EMAIL: 'drydock@localhost',
};

export function git(
  repo: string,
  args: string[],
  options: { signal?: AbortSignal; okCodes?: number[] } = {},
): Promise<ExecResult> {
  return exec('git', ['-C', repo, ...args], {
    timeoutMs: GIT_TIMEOUT_MS,
    env: { ...IDENTITY, GIT_TERMINAL_PROMPT: '0' },
    what: `git ${args[0] ?? ''}`.trim(),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.okCodes ? { okCodes: options.okCodes } : {}),
  });
}

export async function revParse(repo: string, ref: string): Promise<string | null> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { okCodes: [0, 1] });
  return r.code === 0 ? r.stdout.trim() : null;
}

export interface RepoState {
  head: string;
  branch: string;
}

/**
 * Checks the working copy before any update: a git repository, on the policy's branch, with no
 * uncommitted change (tracked or untracked, ignored files aside). Throws a DrydockError naming what is wrong.
 */
export async function checkWorkingCopy(repo: string, branch: string): Promise<RepoState> {
  const inside = await git(repo, ['rev-parse', '--is-inside-work-tree'], { okCodes: [0, 128] }).catch(() => null);
  if (!inside || inside.code !== 0)
    throw new DrydockError('DEPENDENCY_UPDATE_STOPPED', `${repo} is not a git working copy`, {
      hint: 'dependencies.npm.repository.path must name a git checkout of the application',
    });
  const current = (await git(repo, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [0, 1] })).stdout.trim();
  if (current !== branch)
    throw new DrydockError(
      'DEPENDENCY_UPDATE_STOPPED',
      `${repo} has ${current ? `branch ${current}` : 'a detached HEAD'} checked out, not ${branch}; no update was made`,
      { hint: `check out ${branch} (dependencies.npm.repository.branch) and run again` },
    );
  const status = await git(repo, ['status', '--porcelain=v1']);
  const dirty = status.stdout.split('\n').filter(Boolean);
  if (dirty.length > 0)
    throw new DrydockError(
      'DEPENDENCY_UPDATE_STOPPED',
      `${repo} has uncommitted changes (${dirty
        .slice(0, 5)
        .map((l) => l.trim())
        .join(', ')}${dirty.length > 5 ? ', ...' : ''}); no update was made`,
      { hint: 'commit or stash them; Drydock never updates on top of work in progress' },
    );
  const head = await revParse(repo, 'HEAD');
  if (!head) throw new DrydockError('DEPENDENCY_UPDATE_STOPPED', `${repo} has no commit on ${branch} yet`);
  return { head, branch };
}

/**
 * Removes the worktrees an interrupted run left behind (Drydock's own, under the temp directory's
 * drydock-npm-* folders), so the next run starts clean, then lets git forget vanished ones.
 */
export async function pruneWorktrees(repo: string): Promise<string[]> {
  const list = await git(repo, ['worktree', 'list', '--porcelain']);
  const ours = list.stdout
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .filter((path) => /\/drydock-npm-[^/]+\/tree$/.test(path));
  for (const path of ours) await git(repo, ['worktree', 'remove', '--force', path]).catch(() => undefined);
  await git(repo, ['worktree', 'prune']);
  return ours;
}
