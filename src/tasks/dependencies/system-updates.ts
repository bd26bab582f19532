// dependencies.system (monthly, staging first): plans the Debian package upgrades of production
// (`apt-get -s dist-upgrade`: current and candidate versions, security archives marked), upgrades
// staging to exactly those versions, runs the staging test command, and only when that passed and a
// maintenance window is open (and no blackout holds maintenance) upgrades production to the same
// versions. Outside a window the upgrade is queued for the next one, and the daemon is asked to run
// again then. A reboot-required flag is reported and a reboot change record is queued for the next
// window, whose run carries it out (`reboot_command`); a reboot never happens outside a window.
import { resolve } from 'node:path';
import { exec, tail } from '../../adapters/exec.js';
import { DrydockError, describeError } from '../../errors.js';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import {
  applyUpgrades,
  installedVersions,
  planUpgrades,
  rebootRequired,
  type AptUpgrade,
} from '../../dependencies/system/apt.js';
import { dependencyStoreOf, mergeBlockedBy } from '../../dependencies/shared.js';
import type { DependencyUpdate } from '../../dependencies/store.js';
import { calendarOf, formatInterval, nextWindow, openWindowAt } from '../../windows/calendar.js';

export interface SystemUpdatesResult {
  production: string;
  staging: string | null;
  planned: AptUpgrade[];
  stagingApplied: boolean;
  stagingTests: 'passed' | 'failed' | 'none' | 'not run';
  productionApplied: boolean;
  /** Why production was not upgraded in this run, if it was not. */
  waiting: string | null;
  reboot: { required: boolean; packages: string[]; scheduledFor: string | null; done: boolean };
}

export const systemUpdatesTask: ImplementedTask<SystemUpdatesResult> = {
  id: 'dependencies.system',
  title: 'OS, runtime and tool package updates (tested in staging)',
  implemented: true,
  // Staging may be upgraded at any time; the production part checks the window itself.
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.dependencies.system),
  resources: (policy) => {
    const s = policy.dependencies.system;
    return [`apt:${resolve(s.production.root)}`, ...(s.staging ? [`apt:${resolve(s.staging.root)}`] : [])];
  },
  execute: executeSystemUpdates,
  validate: validateSystemUpdates,
};

async function runTests(command: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<string> {
  const r = await exec(command[0]!, command.slice(1), { timeoutMs, signal, what: 'the staging tests' });
  return tail(`${r.stdout}\n${r.stderr}`, 20);
}

/** The open window at `at`, or the next one, and whether a blackout holds maintenance now. */
function windowState(ctx: TaskContext, at: Date): { open: boolean; next: Date; text: string } {
  const cal = calendarOf(ctx.policy);
  const open = openWindowAt(cal, at);
  const black = mergeBlockedBy(ctx.policy, systemUpdatesTask.id, false, at);
  if (open && !black) return { open: true, next: at, text: `inside the maintenance window ${formatInterval(open)}` };
  const after = black ? black.until : at;
  const next = openWindowAt(cal, after) ? after : nextWindow(cal.window, after).start;
  return {
    open: false,
    next,
    text: black
      ? `${black.reason}; next window from ${next.toISOString()}`
      : `no maintenance window is open; the next starts ${next.toISOString()}`,
  };
}

async function executeSystemUpdates(ctx: TaskContext): Promise<SystemUpdatesResult> {
  const cfg = ctx.policy.dependencies.system;
  if (cfg.testing.required && !cfg.staging) {
    // Staging first is the rule: without a staging target nothing is upgraded, and the summary says why.
    ctx.summary(
      'not configured: dependencies.system.testing.required is true and dependencies.system.staging is not set, so nothing was planned or upgraded (give staging.root, or set testing.required: false)',
    );
    return {
      production: resolve(cfg.production.root),
      staging: null,
      planned: [],
      stagingApplied: false,
      stagingTests: 'not run',
      productionApplied: false,
      waiting: 'not configured',
      reboot: { required: false, packages: [], scheduledFor: null, done: false },
    };
  }
  const store = dependencyStoreOf(ctx);
  const production = resolve(cfg.production.root);
  const staging = cfg.staging ? resolve(cfg.staging.root) : null;
  const timeout = cfg.upgrade_timeout.ms;
  const now = ctx.clock.now();
  const result: SystemUpdatesResult = {
    production,
    staging,
    planned: [],
    stagingApplied: false,
    stagingTests: 'not run',
    productionApplied: false,
    waiting: null,
    reboot: { required: false, packages: [], scheduledFor: null, done: false },
  };

  // A reboot queued by an earlier run is done in a window, never outside one.
  await ctx.step('reboot queued by an earlier run', async (step) => {
    const queued = store
      .list({ ecosystem: 'system', target: production, statuses: ['queued'] })
      .filter((r) => r.type === 'reboot');
    if (queued.length === 0) return step.output('none');
    const w = windowState(ctx, now);
    const due = queued.filter((r) => !r.notBefore || r.notBefore <= now);
    if (!w.open || due.length === 0)
      return step.output(`reboot waits: ${w.open ? `queued until ${queued[0]!.notBefore?.toISOString()}` : w.text}`);
    if (!cfg.reboot_command)
      return step.output('reboot required; no reboot_command in the policy, so people reboot by hand');
    await exec(cfg.reboot_command[0]!, cfg.reboot_command.slice(1), {
      timeoutMs: 5 * 60_000,
      signal: ctx.signal,
      what: 'the reboot command',
    });
    for (const r of due) store.update(r.id, { status: 'applied', reason: `rebooted ${w.text}` }, ctx.clock.now());
    result.reboot.done = true;
    step.output(`reboot command run (${cfg.reboot_command.join(' ')}) ${w.text}`);
  });

  const planned = await ctx.step(`plan upgrades of ${production}`, async (step) => {
    const list = await planUpgrades(production, timeout, ctx.signal);
    for (const u of list) step.output(`${u.name} ${u.from} -> ${u.to} (${u.archive})${u.security ? ' SECURITY' : ''}`);
    if (list.length === 0) step.output('nothing to upgrade');
    return list;
  });
  result.planned = planned ?? [];
  ctx.figure('system.upgradable', { value: result.planned.length, unit: 'packages' });
  ctx.figure('system.security', { value: result.planned.filter((u) => u.security).length, unit: 'packages' });
  const records = result.planned.map(
    (u) =>
      store.propose(
        {
          ecosystem: 'system',
          target: production,
          package: u.name,
          fromVersion: u.from,
          toVersion: u.to,
          type: u.security ? 'security' : 'package',
          status: 'approved',
          reason: `monthly system update${u.security ? ' (security archive)' : ''}: staging first`,
          detail: { archive: u.archive },
        },
        now,
      ).update,
  );
  const fail = (reason: string, rs: DependencyUpdate[]) => {
    for (const r of rs) store.update(r.id, { status: 'failed', reason }, ctx.clock.now());
  };

  if (result.planned.length > 0) {
    if (staging) {
      await ctx.step(`upgrade staging ${staging}`, async (step) => {
        const have = await installedVersions(
          staging,
          result.planned.map((u) => u.name),
        );
        const todo = result.planned.filter((u) => have.has(u.name) && have.get(u.name) !== u.to);
        const missing = result.planned.filter((u) => !have.has(u.name));
        if (missing.length > 0)
          step.output(
            `not installed on staging (tested only through the others): ${missing.map((u) => u.name).join(', ')}`,
          );
        if (todo.length === 0) return step.output('staging already has these versions');
        try {
          step.output(tail(await applyUpgrades(staging, todo, timeout, ctx.signal), 30));
        } catch (error) {
          fail(`staging upgrade failed; production untouched: ${describeError(error)}`, records);
          throw new DrydockError(
            'DEPENDENCY_UPDATE_STOPPED',
            `staging upgrade failed, production was not touched: ${describeError(error)}`,
          );
        }
        result.stagingApplied = true;
      });
      if (cfg.staging?.test_command) {
        await ctx.step('staging tests', async (step) => {
          try {
            step.output(await runTests(cfg.staging!.test_command!, cfg.test_timeout.ms, ctx.signal));
            result.stagingTests = 'passed';
          } catch (error) {
            result.stagingTests = 'failed';
            fail(`staging tests failed; production untouched: ${describeError(error)}`, records);
            throw new DrydockError(
              'DEPENDENCY_UPDATE_STOPPED',
              `the staging tests failed, production was not touched: ${describeError(error)}`,
            );
          }
        });
      } else result.stagingTests = 'none';
    }

    const w = windowState(ctx, ctx.clock.now());
    if (!w.open) {
      result.waiting = w.text;
      for (const r of records)
        store.update(
          r.id,
          { status: 'queued', notBefore: w.next, reason: `tested on staging; production waits: ${w.text}` },
          ctx.clock.now(),
        );
      await ctx.store?.enqueueRetry({ taskId: systemUpdatesTask.id, dueAt: w.next, attempt: 1, retryOf: ctx.runId });
      ctx.summary(`production not upgraded: ${w.text}; queued, and a run is asked for then`);
    } else {
      await ctx.step(`upgrade production ${production}`, async (step) => {
        try {
          step.output(tail(await applyUpgrades(production, result.planned, timeout, ctx.signal), 30));
        } catch (error) {
          fail(`production upgrade failed: ${describeError(error)}`, records);
          throw error;
        }
        const have = await installedVersions(
          production,
          result.planned.map((u) => u.name),
        );
        for (const r of records) {
          const ok = have.get(r.package) === r.toVersion;
          store.update(
            r.id,
            ok
              ? { status: 'applied', reason: `upgraded ${w.text}` }
              : {
                  status: 'failed',
                  reason: `after the upgrade ${r.package} is at ${have.get(r.package) ?? 'nothing'}, not ${r.toVersion}`,
                },
            ctx.clock.now(),
          );
        }
        result.productionApplied = true;
        step.output(`${result.planned.length} package(s) upgraded ${w.text}`);
      });
    }
  }

  const reboot = rebootRequired(production);
  result.reboot.required = reboot.required;
  result.reboot.packages = reboot.packages;
  if (reboot.required && !result.reboot.done) {
    const cal = calendarOf(ctx.policy);
    // Never in the window the upgrade ran in: people get the report first, and the reboot has a window of its own.
    const open = openWindowAt(cal, ctx.clock.now());
    const next = nextWindow(cal.window, open ? open.end : ctx.clock.now()).start;
    const { update } = store.propose(
      {
        ecosystem: 'system',
        target: production,
        package: 'reboot',
        fromVersion: 'running',
        toVersion: `after ${reboot.packages.join(', ') || 'upgrade'}`,
        type: 'reboot',
        status: 'queued',
        reason: `reboot required by ${reboot.packages.join(', ') || 'an upgrade'}; scheduled for the window starting ${next.toISOString()}`,
        notBefore: next,
      },
      ctx.clock.now(),
    );
    if (update.status === 'queued') {
      result.reboot.scheduledFor = (update.notBefore ?? next).toISOString();
      await ctx.store?.enqueueRetry({
        taskId: systemUpdatesTask.id,
        dueAt: update.notBefore ?? next,
        attempt: 1,
        retryOf: ctx.runId,
      });
      ctx.summary(
        `reboot required (${reboot.packages.join(', ') || 'no package named'}): scheduled for the window starting ${result.reboot.scheduledFor}`,
      );
    }
  }
  ctx.summary(
    `${result.planned.length} package(s) upgradable (${result.planned.filter((u) => u.security).length} security); staging ${staging ? (result.stagingApplied ? 'upgraded' : 'unchanged') : 'none'}, tests ${result.stagingTests}; production ${result.productionApplied ? 'upgraded' : 'not upgraded'}`,
  );
  return result;
}

async function validateSystemUpdates(ctx: TaskContext, result: SystemUpdatesResult): Promise<ValidationResult> {
  void ctx;
  const checks = [];
  if (result.productionApplied) {
    const have = await installedVersions(
      result.production,
      result.planned.map((u) => u.name),
    );
    for (const u of result.planned)
      checks.push({
        name: `${u.name} on production`,
        ok: have.get(u.name) === u.to,
        detail: `installed ${have.get(u.name) ?? 'nothing'}, planned ${u.to}`,
      });
  }
  return { ok: checks.every((c) => c.ok), checks };
}
