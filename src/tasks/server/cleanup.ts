// server.cleanup (daily): log rotation, old temp files, old deployments. Every rule is checked
// against the configured roots before anything is touched; one bad rule refuses the whole run.
// Each deletion is listed in the run record; dry-run lists what would go and changes nothing.
import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { cleanupRootProblems } from '../../policy/cleanup-roots.js';
import { DrydockError } from '../../errors.js';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import type { Policy } from '../../policy/schema.js';
import { toSchedule } from '../../schedule/frequency.js';
import { guardPath, stillInside } from './cleanup-paths.js';
import { planDeployments, readReleases } from './deployments.js';
import { blockSize, decideRotation, expiredCopies, globToRegExp, readLogState, rotateHead } from './log-rotation.js';
import { cleanTempDir } from './temp-files.js';

export type CleanupCategory = 'log' | 'rotated_log' | 'temp' | 'deployment';

export interface CleanupAction {
  action: 'rotate' | 'delete';
  category: CleanupCategory;
  path: string;
  bytes: number;
  reason: string;
  /** For rotations: the compressed copy written. */
  to?: string;
}

export interface CleanupResult {
  dryRun: boolean;
  actions: CleanupAction[];
  kept: Array<{ path: string; reason: string }>;
  problems: string[];
}

interface CheckedRules {
  logs: Array<{ dir: string; pattern: RegExp; maxSize: number | null; maxAgeMs: number | null; where: string }>;
  temp: Array<{ dir: string; olderThanMs: number }>;
  deployments: { root: string; currentLink: string; marker: string; keep: number } | null;
}

/** Checks every rule against the roots; throws CONFIG_INVALID naming each refused rule. */
async function checkCleanupRules(policy: Policy): Promise<CheckedRules> {
  const cfg = policy.server.cleanup;
  const roots = cfg.roots;
  const wants = new Set(cfg.tasks);
  const problems: string[] = [];
  const guard = async (path: string, where: string) => {
    try {
      return await guardPath(path, roots, where);
    } catch (error) {
      problems.push((error as Error).message);
      return null;
    }
  };
  // The roots themselves first: resolved with realpath, never a system directory, only inside the
  // allowed prefixes (a root that is a link to "/" or a root such as /etc is refused here).
  const ownDirs = isAbsolute(policy.state.path) ? [dirname(policy.state.path)] : [];
  for (const p of cleanupRootProblems(roots, cfg.allowed_prefixes, ownDirs)) problems.push(`${p.path}: ${p.message}`);
  const checked: CheckedRules = { logs: [], temp: [], deployments: null };
  if (wants.has('log_rotation')) {
    for (const [i, rule] of cfg.logs.entries()) {
      const where = `server.cleanup.logs[${i}]`;
      const dir = await guard(dirname(rule.path), where);
      if (dir)
        checked.logs.push({
          dir,
          pattern: globToRegExp(basename(rule.path)),
          maxSize: rule.max_size?.bytes ?? null,
          maxAgeMs: rule.max_age?.ms ?? null,
          where,
        });
    }
  }
  if (wants.has('temp_files')) {
    for (const [i, rule] of cfg.temp.entries()) {
      const dir = await guard(rule.dir, `server.cleanup.temp[${i}].dir`);
      if (dir) checked.temp.push({ dir, olderThanMs: rule.older_than.ms });
    }
  }
  if (wants.has('old_deployments') && cfg.deployments) {
    const root = await guard(cfg.deployments.root, 'server.cleanup.deployments.root');
    if (root)
      checked.deployments = {
        root,
        currentLink: cfg.deployments.current_link,
        marker: cfg.deployments.success_marker,
        keep: cfg.retention.deployments.count,
      };
  }
  if (problems.length > 0) {
    throw new DrydockError('CONFIG_INVALID', `clean-up refused: ${problems.join('; ')}`, {
      hint: 'nothing was deleted',
      details: { problems },
    });
  }
  return checked;
}

async function rotateLogs(ctx: TaskContext, rules: CheckedRules['logs'], dryRun: boolean, result: CleanupResult) {
  const now = ctx.clock.now();
  const retentionMs = ctx.policy.server.cleanup.retention.logs.ms;
  for (const rule of rules) {
    const entries = await readdir(rule.dir).catch(() => [] as string[]);
    for (const name of entries.filter((e) => rule.pattern.test(e))) {
      const path = join(rule.dir, name);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) continue;
      if (!(await stillInside(path, ctx.policy.server.cleanup.roots))) {
        result.problems.push(`${path} leads out of the configured roots; skipped`);
        continue;
      }
      const state = await readLogState(path);
      const decision = decideRotation({
        size: state.size,
        lastRotatedAt: state.copies.at(-1)?.at ?? null,
        createdAt: state.createdAt,
        now: now.getTime(),
        maxSize: rule.maxSize,
        maxAgeMs: rule.maxAgeMs,
        blockSize: await blockSize(path),
      });
      if (decision.rotate) {
        const action: CleanupAction = {
          action: 'rotate',
          category: 'log',
          path,
          bytes: decision.cut,
          reason: decision.reason,
        };
        if (!dryRun) action.to = await rotateHead(path, decision.cut, now);
        result.actions.push(action);
      } else result.kept.push({ path, reason: decision.reason });
      for (const copy of expiredCopies(state.copies, now.getTime(), retentionMs)) {
        const copyPath = join(rule.dir, copy.name);
        const size = (await stat(copyPath).catch(() => null))?.size ?? 0;
        if (!dryRun) await unlink(copyPath);
        result.actions.push({
          action: 'delete',
          category: 'rotated_log',
          path: copyPath,
          bytes: size,
          reason: `rotated copy older than ${ctx.policy.server.cleanup.retention.logs.text}`,
        });
      }
    }
  }
}

async function cleanDeployments(
  ctx: TaskContext,
  rule: NonNullable<CheckedRules['deployments']>,
  dryRun: boolean,
  result: CleanupResult,
) {
  const { releases, current } = await readReleases(rule.root, rule.currentLink, rule.marker);
  const plan = planDeployments(releases, current, rule.keep, ctx.clock.now().getTime());
  for (const k of plan.keep) result.kept.push({ path: join(rule.root, k.name), reason: k.reason });
  for (const r of plan.remove) {
    const path = join(rule.root, r.name);
    if (r.name === current || !(await stillInside(path, ctx.policy.server.cleanup.roots))) continue;
    if (!dryRun) await rm(path, { recursive: true, force: true });
    result.actions.push({ action: 'delete', category: 'deployment', path, bytes: 0, reason: r.reason });
  }
}

export interface CleanupTaskOptions {
  dryRun?: boolean;
}

export function createCleanupTask(options: CleanupTaskOptions = {}): ImplementedTask<CleanupResult> {
  const dryRun = options.dryRun ?? false;
  return {
    id: 'server.cleanup',
    title: dryRun ? 'Host clean-up (dry run)' : 'Host clean-up',
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: (policy) => toSchedule(policy.server.cleanup),
    resources: (policy) => policy.server.cleanup.roots.map((root) => `fs:${root}`),
    ...(dryRun ? {} : { dryRun: () => createCleanupTask({ dryRun: true }) }),

    async execute(ctx) {
      const rules = (await ctx.step('check rules against roots', async (step) => {
        const checked = await checkCleanupRules(ctx.policy);
        step.output(`roots: ${ctx.policy.server.cleanup.roots.join(', ')}\n`);
        return checked;
      }))!;
      const result: CleanupResult = { dryRun, actions: [], kept: [], problems: [] };
      const verb = dryRun ? 'would ' : '';
      const list = (category: CleanupCategory) => (step: { output(text: string): void }) => {
        for (const a of result.actions.filter(
          (x) => x.category === category || (category === 'log' && x.category === 'rotated_log'),
        )) {
          step.output(`${verb}${a.action} ${a.path}${a.to ? ` -> ${a.to}` : ''} (${a.bytes} bytes): ${a.reason}\n`);
        }
      };
      if (rules.logs.length > 0) {
        await ctx.step('log rotation', async (step) => {
          await rotateLogs(ctx, rules.logs, dryRun, result);
          list('log')(step);
        });
      }
      if (rules.temp.length > 0) {
        await ctx.step('temp files', async (step) => {
          for (const rule of rules.temp) {
            for (const d of await cleanTempDir(rule.dir, ctx.clock.now().getTime(), rule.olderThanMs, dryRun)) {
              result.actions.push({
                action: 'delete',
                category: 'temp',
                path: d.path,
                bytes: d.bytes,
                reason: `${d.kind} last modified ${new Date(d.mtime).toISOString()}`,
              });
            }
          }
          list('temp')(step);
        });
      }
      if (rules.deployments) {
        const rule = rules.deployments;
        await ctx.step('old deployments', async (step) => {
          await cleanDeployments(ctx, rule, dryRun, result);
          list('deployment')(step);
          for (const k of result.kept.filter((x) => x.path.startsWith(rule.root)))
            step.output(`keep ${k.path}: ${k.reason}\n`);
        });
      }
      const deleted = result.actions.filter((a) => a.action === 'delete');
      const rotated = result.actions.filter((a) => a.action === 'rotate');
      ctx.summary(
        `${dryRun ? 'dry run: would rotate' : 'rotated'} ${rotated.length} log(s), ${dryRun ? 'would delete' : 'deleted'} ${deleted.length} item(s) (${deleted.reduce((s, a) => s + a.bytes, 0)} bytes)`,
      );
      for (const a of result.actions) ctx.summary(`${verb}${a.action} ${a.path}${a.to ? ` -> ${basename(a.to)}` : ''}`);
      for (const p of result.problems) ctx.summary(`problem: ${p}`);
      ctx.figure('cleanup.deleted', { value: deleted.length, unit: 'items' });
      ctx.figure('cleanup.rotated', { value: rotated.length, unit: 'logs' });
      return result;
    },

    async validate(ctx, result): Promise<ValidationResult> {
      if (result.dryRun) return { ok: true, checks: [{ name: 'dry run', ok: true, detail: 'nothing was changed' }] };
      const exists = async (p: string) => (await stat(p).catch(() => null)) !== null;
      const checks = [];
      const lingering = [];
      for (const a of result.actions.filter((x) => x.action === 'delete'))
        if (await exists(a.path)) lingering.push(a.path);
      checks.push({
        name: 'deleted items are gone',
        ok: lingering.length === 0,
        detail: lingering.length
          ? `still present: ${lingering.join(', ')}`
          : `${result.actions.filter((x) => x.action === 'delete').length} item(s)`,
      });
      const copies = result.actions.filter((a) => a.action === 'rotate' && a.to);
      const missing = [];
      for (const a of copies) if (!(await exists(a.to!))) missing.push(a.to!);
      checks.push({
        name: 'rotated copies written',
        ok: missing.length === 0,
        detail: missing.length ? `missing: ${missing.join(', ')}` : `${copies.length} copy(ies)`,
      });
      const d = ctx.policy.server.cleanup.deployments;
      if (d) {
        const current = join(d.root, d.current_link);
        const ok =
          !(await exists(d.root)) || (await exists(current)) || !(await readdir(d.root)).includes(d.current_link);
        checks.push({
          name: 'current release intact',
          ok,
          detail: ok ? `${current} resolves` : `${current} no longer resolves`,
        });
      }
      return { ok: checks.every((c) => c.ok), checks };
    },
  };
}

export const serverCleanupTask = createCleanupTask();
