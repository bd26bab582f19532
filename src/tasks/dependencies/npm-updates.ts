// dependencies.npm (weekly): plans the application's npm updates and carries out the ones the
// policy lets it. Patch and security updates (and minor/major when auto_merge says so) merge on
// their own once the application's tests pass; the others become change records that wait for a
// person's approval (`drydock deps list`, `drydock deps approve`) and are applied by the next run.
// Releases younger than the soak wait; a blackout queues a tested merge and asks the daemon to run
// again when the blackout ends, where the update is re-tested on the head of that moment.
import { resolve } from 'node:path';
import { DrydockError } from '../../errors.js';
import { redactor } from '../../policy/redact.js';
import type { ImplementedTask, TaskContext, ValidationCheck, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { readAdvisories, type Advisory } from '../../dependencies/advisories.js';
import { checkWorkingCopy, git, pruneWorktrees, revParse } from '../../dependencies/git.js';
import { applyNpmUpdate } from '../../dependencies/npm/apply.js';
import { installedPackages, planNpmUpdates, readJson, type PlannedNpmUpdate } from '../../dependencies/npm/plan.js';
import { registryClient } from '../../dependencies/npm/registry.js';
import { dependencyStoreOf, mergeBlockedBy } from '../../dependencies/shared.js';
import type { DependencyUpdate, DependencyStore, UpdateStatus } from '../../dependencies/store.js';

export interface NpmUpdatesResult {
  /** False when the policy names no repository: the run did nothing. */
  configured: boolean;
  repo: string;
  branch: string;
  startHead: string;
  planned: number;
  merged: Array<{ id: number; name: string; to: string; commit: string }>;
  queued: Array<{ id: number; name: string; to: string; until: string }>;
  failed: Array<{ id: number; name: string; to: string; branch: string }>;
  stopped: Array<{ id: number; name: string; to: string; reason: string }>;
  awaitingApproval: number;
  soaking: number;
}

const NOT_CONFIGURED = 'not configured: dependencies.npm.repository is not set, so there is no application to update';

function emptyResult(repo: string, branch: string): NpmUpdatesResult {
  return {
    configured: true,
    repo,
    branch,
    startHead: '',
    planned: 0,
    merged: [],
    queued: [],
    failed: [],
    stopped: [],
    awaitingApproval: 0,
    soaking: 0,
  };
}

export const npmUpdatesTask: ImplementedTask<NpmUpdatesResult> = {
  id: 'dependencies.npm',
  title: 'npm dependency updates',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.dependencies.npm),
  resources: (policy) => [`repo:${policy.dependencies.npm.repository?.path ?? 'unset'}`],
  execute: executeNpmUpdates,
  validate: validateNpmUpdates,
};

function autoMerges(ctx: TaskContext, type: PlannedNpmUpdate['type']): boolean {
  const npm = ctx.policy.dependencies.npm;
  return type === 'security' ? npm.security.auto_merge : npm.auto_merge[type];
}

const toRecord = (u: PlannedNpmUpdate) => ({
  kind: u.kind,
  spec: u.spec,
  releasedAt: u.releasedAt?.toISOString() ?? null,
  advisories: u.advisories,
});

async function executeNpmUpdates(ctx: TaskContext): Promise<NpmUpdatesResult> {
  const cfg = ctx.policy.dependencies.npm;
  if (!cfg.repository) {
    // The spec schedules this task for everyone; a policy that names no application has nothing to update.
    ctx.summary(`${NOT_CONFIGURED}; nothing was checked`);
    return { ...emptyResult('', ''), configured: false };
  }
  const store = dependencyStoreOf(ctx);
  const repo = resolve(cfg.repository.path);
  const branch = cfg.repository.branch;
  const token = cfg.registry_token_env ? process.env[cfg.registry_token_env] : undefined;
  // Never in logs, notices or the activity log, whatever npm or the registry prints.
  if (token) redactor.register(token);
  if (cfg.registry_token_env && !token)
    throw new DrydockError(
      'CONFIG_INVALID',
      `the environment variable ${cfg.registry_token_env} (dependencies.npm.registry_token_env) is not set`,
    );

  const state = await ctx.step(`check working copy ${repo}`, async (step) => {
    const s = await checkWorkingCopy(repo, branch);
    // Worktrees of an interrupted run are removed, so this run starts clean.
    for (const left of await pruneWorktrees(repo))
      step.output(`removed the worktree ${left} left by an interrupted run`);
    step.output(`on ${branch} at ${s.head.slice(0, 12)}, clean`);
    return s;
  });
  const result: NpmUpdatesResult = { ...emptyResult(repo, branch), startHead: state!.head };
  const advisories: Advisory[] = cfg.advisories ? readAdvisories(resolve(cfg.advisories)) : [];
  const now = ctx.clock.now();

  const plan = await ctx.step('plan updates', async (step) => {
    const started = Date.now();
    const p = await planNpmUpdates(repo, registryClient(cfg.registry, token), {
      now,
      soakMs: cfg.soak.ms,
      securitySoakMs: cfg.security.soak.ms,
      advisories,
      signal: ctx.signal,
    });
    step.output(`${p.checked} packages checked against ${cfg.registry} in ${Date.now() - started} ms`);
    for (const u of p.updates)
      step.output(
        `${u.name} ${u.from} -> ${u.to} (${u.type}${u.kind === 'transitive' ? ', transitive' : ''})${u.soakingUntil ? ` soaking until ${u.soakingUntil.toISOString()}` : ''}`,
      );
    for (const s of p.skipped) step.output(`skipped ${s.name}: ${s.reason}`);
    for (const v of p.unfixed)
      step.output(`vulnerable, no fix released yet: ${v.name}@${v.version} (${v.advisories.join(', ')})`);
    ctx.figure('npm.plan_ms', { value: Date.now() - started, unit: 'ms' });
    return p;
  });
  if (!plan) throw new DrydockError('INTERNAL', 'the plan step returned nothing');
  result.planned = plan.updates.length;

  // Record every planned update as a change record, or bring an existing one up to date.
  for (const u of plan.updates) {
    const initial: UpdateStatus = autoMerges(ctx, u.type) ? 'approved' : 'pending_approval';
    const { update, created } = store.propose(
      {
        ecosystem: 'npm',
        target: repo,
        package: u.name,
        fromVersion: u.from,
        toVersion: u.to,
        type: u.type,
        status: u.soakingUntil ? 'soaking' : initial,
        reason: u.soakingUntil
          ? `released ${u.releasedAt?.toISOString() ?? '?'}; soaks until ${u.soakingUntil.toISOString()}`
          : initial === 'approved'
            ? `automerge (${u.type}) by policy`
            : `${u.type} update: needs approval by ${cfg.approvers.join(' or ')}`,
        detail: { ...toRecord(u), approvedBy: initial === 'approved' ? 'policy' : null },
        notBefore: u.soakingUntil,
      },
      now,
    );
    if (!created && update.status === 'soaking' && !u.soakingUntil)
      store.update(
        update.id,
        {
          status: initial,
          notBefore: null,
          reason:
            initial === 'approved'
              ? `soaked; automerge (${u.type}) by policy`
              : `soaked; needs approval by ${cfg.approvers.join(' or ')}`,
          detail: { approvedBy: initial === 'approved' ? 'policy' : null },
        },
        now,
      );
  }

  const lock = readJson<Parameters<typeof installedPackages>[0]>(`${repo}/package-lock.json`, 'package-lock.json');
  const installed = installedPackages(lock);
  const work = store
    .list({ ecosystem: 'npm', target: repo, statuses: ['approved', 'queued', 'stopped'] })
    .filter((r) => !r.notBefore || r.notBefore <= now);
  const stale = work.filter((r) => !installed.some((p) => p.name === r.package && p.version === r.fromVersion));
  for (const r of stale)
    store.update(
      r.id,
      { status: 'superseded', reason: `${r.package} is no longer at ${r.fromVersion} in the lockfile` },
      now,
    );
  const todo = work
    .filter((r) => !stale.includes(r))
    .sort((a, b) => Number(b.type === 'security') - Number(a.type === 'security') || a.id - b.id);

  for (const record of todo) {
    if (ctx.signal.aborted)
      throw new DrydockError('ABORTED', 'npm updates stopped: the run was cancelled', { retryable: true });
    await ctx.step(
      `update ${record.package} ${record.fromVersion} -> ${record.toVersion} (${record.type})`,
      (step) => applyOne(ctx, store, record, result, advisories, token, step.output.bind(step)),
      { continueOnError: true },
    );
  }

  const open = store.list({ ecosystem: 'npm', target: repo, statuses: ['pending_approval', 'soaking'] });
  result.awaitingApproval = open.filter((r) => r.status === 'pending_approval').length;
  result.soaking = open.filter((r) => r.status === 'soaking').length;
  ctx.summary(
    `${plan.updates.length} update(s) planned: ${result.merged.length} merged, ${result.queued.length} queued by a blackout, ${result.failed.length} failed tests, ${result.stopped.length} stopped, ${result.awaitingApproval} awaiting approval, ${result.soaking} soaking`,
  );
  for (const m of result.merged) ctx.summary(`merged ${m.name} ${m.to} (${m.commit.slice(0, 12)})`);
  for (const q of result.queued) ctx.summary(`queued ${q.name} ${q.to} until ${q.until}`);
  ctx.figure('npm.merged', { value: result.merged.length, unit: 'updates' });
  return result;
}

async function applyOne(
  ctx: TaskContext,
  store: DependencyStore,
  record: DependencyUpdate,
  result: NpmUpdatesResult,
  advisories: readonly Advisory[],
  token: string | undefined,
  output: (text: string) => void,
): Promise<void> {
  const cfg = ctx.policy.dependencies.npm;
  const repo = result.repo;
  const base = await revParse(repo, `refs/heads/${result.branch}`);
  if (!base) throw new DrydockError('DEPENDENCY_UPDATE_STOPPED', `branch ${result.branch} is gone from ${repo}`);
  const detail = record.detail as ReturnType<typeof toRecord>;
  const update: PlannedNpmUpdate = {
    name: record.package,
    kind: detail.kind,
    spec: detail.spec,
    from: record.fromVersion,
    to: record.toVersion,
    type: record.type as PlannedNpmUpdate['type'],
    releasedAt: detail.releasedAt ? new Date(detail.releasedAt) : null,
    soakingUntil: null,
    advisories: detail.advisories ?? [],
  };
  const started = Date.now();
  const r = await applyNpmUpdate(update, {
    repo,
    branch: result.branch,
    base,
    registry: cfg.registry,
    ...(token ? { token } : {}),
    testCommand: cfg.repository!.test_command,
    installTimeoutMs: cfg.install_timeout.ms,
    testTimeoutMs: cfg.test_timeout.ms,
    advisories,
    mergeBlockedBy: () => mergeBlockedBy(ctx.policy, 'dependencies.npm', update.type === 'security', ctx.clock.now()),
    changeRecord: record.id,
    signal: ctx.signal,
    output,
  });
  const at = ctx.clock.now();
  const short = { id: record.id, name: record.package, to: record.toVersion };
  switch (r.outcome) {
    case 'merged':
      store.update(
        record.id,
        { status: 'merged', branch: r.branch, reason: `merged into ${result.branch}`, detail: { commit: r.commit } },
        at,
      );
      result.merged.push({ ...short, commit: r.commit });
      ctx.figure(`npm.${record.package}.apply_ms`, { value: Date.now() - started, unit: 'ms' });
      return;
    case 'queued':
      store.update(
        record.id,
        {
          status: 'queued',
          branch: r.branch,
          notBefore: r.until,
          reason: `tests passed; merge waits: ${r.reason}`,
          detail: { commit: r.commit },
        },
        at,
      );
      result.queued.push({ ...short, until: r.until.toISOString() });
      // Ask the daemon for a run when the blackout ends: the update is re-tested on that head and merged.
      await ctx.store?.enqueueRetry({ taskId: npmUpdatesTask.id, dueAt: r.until, attempt: 1, retryOf: ctx.runId });
      output(`merge queued until ${r.until.toISOString()} (${r.reason})`);
      return;
    case 'failed':
      store.update(
        record.id,
        { status: 'failed', branch: r.branch, reason: r.reason, detail: { testOutput: r.testOutput } },
        at,
      );
      result.failed.push({ ...short, branch: r.branch });
      throw new DrydockError(
        'DEPENDENCY_UPDATE_STOPPED',
        `${record.package} ${record.toVersion}: the application tests failed; ${result.branch} is untouched and branch ${r.branch} is kept:\n${r.testOutput}`,
      );
    case 'stopped':
      store.update(record.id, { status: 'stopped', reason: r.reason }, at);
      result.stopped.push({ ...short, reason: r.reason });
      throw new DrydockError('DEPENDENCY_UPDATE_STOPPED', `${record.package} ${record.toVersion}: ${r.reason}`);
  }
}

async function validateNpmUpdates(ctx: TaskContext, result: NpmUpdatesResult): Promise<ValidationResult> {
  const checks: ValidationCheck[] = [];
  if (!result.configured) return { ok: true, checks: [{ name: 'configured', ok: true, detail: NOT_CONFIGURED }] };
  const status = await git(result.repo, ['status', '--porcelain=v1']);
  checks.push({
    name: 'working copy clean',
    ok: status.stdout.trim() === '',
    detail:
      status.stdout.trim() === ''
        ? `${result.repo} has no uncommitted change`
        : status.stdout.trim().split('\n').slice(0, 5).join(', '),
  });
  for (const m of result.merged) {
    const r = await git(result.repo, ['merge-base', '--is-ancestor', m.commit, `refs/heads/${result.branch}`], {
      okCodes: [0, 1],
    });
    checks.push({
      name: `${m.name} ${m.to} on ${result.branch}`,
      ok: r.code === 0,
      detail:
        r.code === 0
          ? `commit ${m.commit.slice(0, 12)} is on ${result.branch}`
          : `commit ${m.commit.slice(0, 12)} is not on ${result.branch}`,
    });
  }
  void ctx;
  return { ok: checks.every((c) => c.ok), checks };
}
