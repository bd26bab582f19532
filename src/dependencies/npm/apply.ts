// Applies one npm update the way a careful person would: a branch from the current head in a git
// worktree of its own (the working copy is never touched while npm and the tests run), `npm install
// name@version` so npm itself rewrites package.json and the lockfile (or `npm update name` for a
// transitive package), the application's test command, a commit with a readable message, and only
// then a fast-forward merge into the branch, after checking that the branch did not move meanwhile
// and that no blackout is in force. A failure leaves the branch for people to look at.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, tail } from '../../adapters/exec.js';
import { DrydockError, describeError } from '../../errors.js';
import { git, revParse } from '../git.js';
import { installedPackages, readJson, type PlannedNpmUpdate } from './plan.js';
import { isAffected, type Advisory } from '../advisories.js';

export interface NpmApplyOptions {
  repo: string;
  branch: string;
  /** The head the update is built on; the merge happens only if the branch still points there. */
  base: string;
  registry: string;
  token?: string;
  testCommand: readonly string[];
  installTimeoutMs: number;
  testTimeoutMs: number;
  advisories: readonly Advisory[];
  /** Asked right before the merge: a blackout in force returns why and until when. */
  mergeBlockedBy: () => { reason: string; until: Date } | null;
  changeRecord: number;
  signal?: AbortSignal;
  output?: (text: string) => void;
}

export type NpmApplyResult =
  | { outcome: 'merged'; commit: string; branch: string; testOutput: string }
  | { outcome: 'queued'; commit: string; branch: string; reason: string; until: Date }
  | { outcome: 'failed'; branch: string; reason: string; testOutput: string }
  | { outcome: 'stopped'; reason: string };

export function branchName(u: Pick<PlannedNpmUpdate, 'name' | 'to'>): string {
  return `drydock/npm/${u.name.replace(/^@/, '').replace(/[^A-Za-z0-9._-]/g, '-')}-${u.to}`;
}

export function commitMessage(u: PlannedNpmUpdate, changeRecord: number, testCommand: readonly string[]): string {
  const what = u.kind === 'transitive' ? `${u.name} (transitive)` : u.name;
  const lines = [
    `chore(deps): update ${what} from ${u.from} to ${u.to} (${u.type})`,
    '',
    `Package: ${u.name} (${u.kind})`,
    `Update: ${u.from} -> ${u.to} (${u.type})`,
  ];
  if (u.releasedAt) lines.push(`Released: ${u.releasedAt.toISOString()}`);
  for (const a of u.advisories)
    lines.push(`Fixes: ${a.id}${a.severity ? ` (${a.severity})` : ''} ${a.summary}`.trimEnd());
  lines.push(
    `Tests: \`${testCommand.join(' ')}\` passed`,
    `Change record: #${changeRecord} (drydock deps show ${changeRecord})`,
  );
  return lines.join('\n');
}

function npmArgs(u: PlannedNpmUpdate, registry: string, userconfig: string): string[] {
  const common = ['--registry', registry, '--userconfig', userconfig, '--no-audit', '--no-fund', '--ignore-scripts'];
  if (u.kind === 'transitive') return ['update', u.name, ...common];
  const save =
    u.kind === 'devDependencies'
      ? ['--save-dev']
      : u.kind === 'optionalDependencies'
        ? ['--save-optional']
        : ['--save-prod'];
  // Keep the range style package.json already uses: exact, ~ or ^.
  const exact = /^\d/.test(u.spec);
  const prefix = u.spec.startsWith('~') ? ['--save-prefix', '~'] : [];
  return ['install', `${u.name}@${u.to}`, ...common, ...save, ...(exact ? ['--save-exact'] : prefix)];
}

export async function applyNpmUpdate(u: PlannedNpmUpdate, o: NpmApplyOptions): Promise<NpmApplyResult> {
  const say = o.output ?? (() => undefined);
  const branch = branchName(u);
  const scratch = mkdtempSync(join(tmpdir(), 'drydock-npm-'));
  const tree = join(scratch, 'tree');
  // The registry token goes to npm through a config file of its own, never an argument (ps) or the repo.
  const userconfig = join(scratch, 'npmrc');
  const auth = o.token
    ? `//${new URL(o.registry).host}${new URL(o.registry).pathname.replace(/\/?$/, '/')}:_authToken=${o.token}\n`
    : '';
  writeFileSync(userconfig, auth, { mode: 0o600 });
  let worktreeAdded = false;
  let keepBranch = false;
  try {
    await git(o.repo, ['worktree', 'add', '--force', '-B', branch, tree, o.base], o.signal ? { signal: o.signal } : {});
    worktreeAdded = true;
    say(`branch ${branch} from ${o.base.slice(0, 12)} in a worktree`);

    const args = npmArgs(u, o.registry, userconfig);
    say(`npm ${args.filter((a) => a !== userconfig).join(' ')}`);
    try {
      await exec('npm', args, {
        cwd: tree,
        timeoutMs: o.installTimeoutMs,
        what: `npm ${args[0]}`,
        env: { npm_config_update_notifier: 'false' },
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (error) {
      const stderr = error instanceof DrydockError ? String((error.details as { stderr?: string }).stderr ?? '') : '';
      const code = /npm error code (E[A-Z0-9]+)/.exec(stderr)?.[1];
      const why =
        code === 'ERESOLVE' ? ' (ERESOLVE: npm cannot resolve the dependency tree)' : code ? ` (${code})` : '';
      return { outcome: 'stopped', reason: `npm could not apply ${u.name}@${u.to}${why}: ${describeError(error)}` };
    }
    const lock = readJson<Parameters<typeof installedPackages>[0]>(
      join(tree, 'package-lock.json'),
      'package-lock.json',
    );
    const now = installedPackages(lock).filter((p) => p.name === u.name);
    if (u.kind !== 'transitive' && !now.some((p) => p.path === `node_modules/${u.name}` && p.version === u.to))
      return { outcome: 'stopped', reason: `after npm install, the lockfile does not pin ${u.name}@${u.to}` };
    if (u.type === 'security' && now.some((p) => isAffected(o.advisories, p.name, p.version)))
      return {
        outcome: 'stopped',
        reason: `after npm ${u.kind === 'transitive' ? 'update' : 'install'}, ${u.name} is still at a vulnerable version (${now.map((p) => p.version).join(', ')}): the ranges of the packages that depend on it do not allow ${u.to}; an override or a parent update is needed`,
      };
    const changed = (
      await git(tree, ['status', '--porcelain=v1', '--', 'package.json', 'package-lock.json'])
    ).stdout.trim();
    if (!changed) return { outcome: 'stopped', reason: `npm changed nothing for ${u.name}@${u.to}` };

    const [program, ...testArgs] = o.testCommand;
    say(`tests: ${o.testCommand.join(' ')}`);
    let testOutput = '';
    try {
      const r = await exec(program!, testArgs, {
        cwd: tree,
        timeoutMs: o.testTimeoutMs,
        what: 'the application tests',
        inheritEnv: ['NODE_OPTIONS'],
        ...(o.signal ? { signal: o.signal } : {}),
      });
      testOutput = tail(`${r.stdout}\n${r.stderr}`, 40);
    } catch (error) {
      keepBranch = true;
      const details = error instanceof DrydockError ? (error.details as { stderr?: string } | undefined) : undefined;
      const out = tail(`${describeError(error)}\n${details?.stderr ?? ''}`, 40);
      // Commit what was tested, so people can check out the branch and see the failure themselves.
      await git(tree, ['add', '--', 'package.json', 'package-lock.json']);
      await git(tree, [
        'commit',
        '--no-verify',
        '-m',
        `${commitMessage(u, o.changeRecord, o.testCommand).split('\n')[0]} [tests failed]`,
      ]);
      return { outcome: 'failed', branch, reason: `tests failed on ${branch}`, testOutput: out };
    }
    await git(tree, ['add', '--', 'package.json', 'package-lock.json']);
    await git(tree, ['commit', '--no-verify', '-m', commitMessage(u, o.changeRecord, o.testCommand)]);
    const commit = (await revParse(tree, 'HEAD'))!;
    say(`committed ${commit.slice(0, 12)}`);

    const blocked = o.mergeBlockedBy();
    if (blocked) {
      keepBranch = true;
      return { outcome: 'queued', commit, branch, reason: blocked.reason, until: blocked.until };
    }
    // The branch must still be where the update started: someone may have pushed meanwhile.
    const head = await revParse(o.repo, `refs/heads/${o.branch}`);
    if (head !== o.base)
      return {
        outcome: 'stopped',
        reason: `${o.branch} moved from ${o.base.slice(0, 12)} to ${head?.slice(0, 12) ?? 'nothing'} while ${u.name}@${u.to} was tested; not merged (the next run starts from the new head)`,
      };
    await git(o.repo, ['worktree', 'remove', '--force', tree]);
    worktreeAdded = false;
    await git(o.repo, ['merge', '--ff-only', '--quiet', branch]);
    say(`merged into ${o.branch}`);
    return { outcome: 'merged', commit, branch, testOutput };
  } finally {
    if (worktreeAdded) await git(o.repo, ['worktree', 'remove', '--force', tree]).catch(() => undefined);
    if (!keepBranch) await git(o.repo, ['branch', '-D', branch], { okCodes: [0, 1] }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
