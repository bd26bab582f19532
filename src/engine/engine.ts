// The run lifecycle of the spec: gate → lock → notify stakeholders → execute → validate → record,
// with retries as the policy says. Every transition is written to the store and the activity log.
import type { Logger } from 'pino';
import { DrydockError, describeError, isRetryable } from '../errors.js';
import { redactor } from '../policy/redact.js';
import type { Policy } from '../policy/schema.js';
import { retryDelay } from '../schedule/planner.js';
import type { Registry } from './types.js';
import { describeNoticeReport, type Notifier } from '../notify/notifier.js';
import type { RunRecord, Store } from '../store/types.js';
import type { Clock } from '../clock.js';
import { createRunContext, type RunContext } from './run-context.js';
import { decideFailureNotice, failureSignature } from './failure-notices.js';
import type { Gate, ImplementedTask, RunOutcome, RunTrigger, ValidationResult } from './types.js';

export interface EngineDeps {
  store: Store;
  policy: Policy;
  registry: Registry;
  gates: Gate[];
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  /** How often a run waiting for a busy table looks again. */
  lockPollMs?: number;
  /** Called when a run starts executing; the function it returns is called when the run has ended (alert silences). */
  onRunStart?: (task: ImplementedTask, run: RunRecord) => () => unknown;
}

export interface RunRequest {
  trigger: RunTrigger;
  slotAt?: Date | null;
  attempt?: number;
  signal?: AbortSignal;
  /** Run despite the gates (windows, blackouts); the override is recorded in the activity log. */
  force?: boolean;
}

const sleep = (delay: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, delay);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Engine {
  /** Runs in progress in this process, by id, so an operator can cancel one (POST /api/runs/:id/cancel). */
  private readonly active = new Map<number, AbortController>();

  constructor(private readonly deps: EngineDeps) {}

  /** Asks a run of this process to stop; it ends as interrupted with the reason. False if it is not running here. */
  cancel(runId: number, reason: string): boolean {
    const controller = this.active.get(runId);
    if (!controller) return false;
    controller.abort(new Error(reason));
    return true;
  }

  get policy(): Policy {
    return this.deps.policy;
  }

  async run(taskId: string, request: RunRequest): Promise<RunRecord> {
    const { store, clock, registry } = this.deps;
    const task = registry.require(taskId);
    if (!task.implemented) {
      if (task.handledBy)
        throw new DrydockError(
          'TASK_NOT_IMPLEMENTED',
          `task "${taskId}" is not a run of its own: it is carried out by ${task.handledBy}`,
        );
      throw new DrydockError(
        'TASK_NOT_IMPLEMENTED',
        `task "${taskId}" is not implemented in this version (planned in ${task.plannedIn})`,
      );
    }
    const own = new AbortController();
    const outer = request.signal;
    if (outer?.aborted) own.abort(outer.reason);
    else outer?.addEventListener('abort', () => own.abort(outer.reason), { once: true });
    const signal = own.signal;
    const run = await store.createRun({
      taskId,
      trigger: request.trigger,
      slotAt: request.slotAt ?? null,
      attempt: request.attempt ?? 1,
      instanceId: this.deps.instanceId,
      startedAt: clock.now(),
    });
    await this.activity(
      'run.started',
      run,
      `run #${run.id} of ${taskId} started (${request.trigger}${run.slotAt ? ` slot ${run.slotAt.toISOString()}` : ''}, attempt ${run.attempt})`,
    );

    this.active.set(run.id, own);
    try {
      const skip = await this.precheck(task, run, request.force ?? false);
      if (skip) return await this.finishSkipped(run, skip);

      const locked = await this.lock(task, run, signal);
      if (locked !== true) return await this.finishSkipped(run, locked);
      try {
        return await this.execute(task, run, signal);
      } finally {
        await store.releaseLocks(run.id);
      }
    } finally {
      this.active.delete(run.id);
    }
  }

  /** Overlap with a previous run of the same task, and the gates. Returns a skip reason or null. */
  private async precheck(task: ImplementedTask, run: RunRecord, force: boolean): Promise<string | null> {
    // Only earlier runs count, so two runs created at once never skip each other.
    const previous = (await this.deps.store.openRuns(task.id)).filter((r) => r.id < run.id);
    if (previous.length > 0) {
      const p = previous[0]!;
      return `previous run #${p.id} of ${task.id} is still running (started ${p.startedAt.toISOString()})`;
    }
    if (this.deps.policy.tasks[task.id]?.enabled === false && run.trigger !== 'manual') {
      return `task ${task.id} is disabled in the policy (tasks.${task.id}.enabled: false)`;
    }
    for (const gate of this.deps.gates) {
      const decision = await gate.check(task, this.deps.clock.now(), this.deps.policy);
      if (force && decision.decision !== 'run') {
        await this.activity(
          'run.gate_overridden',
          run,
          `run #${run.id} of ${task.id} runs despite ${gate.name}: ${decision.reason} (forced by ${run.trigger} request)`,
        );
        continue;
      }
      if (decision.decision === 'skip') return `${gate.name}: ${decision.reason}`;
      if (decision.decision === 'delay') {
        await this.deps.store.enqueueRetry({
          taskId: task.id,
          dueAt: decision.until,
          attempt: run.attempt,
          retryOf: run.id,
        });
        return `${gate.name}: ${decision.reason}; delayed until ${decision.until.toISOString()}`;
      }
    }
    return null;
  }

  /** Takes every resource the task touches, waiting up to engine.lock_wait for another run to let go. */
  private async lock(task: ImplementedTask, run: RunRecord, signal: AbortSignal): Promise<true | string> {
    const { store, clock, policy } = this.deps;
    const resources = task.resources(policy);
    if (resources.length === 0) return true;
    const deadline = Date.now() + policy.engine.lock_wait.ms;
    let announced = false;
    for (;;) {
      const result = await store.acquireLocks(resources, run.id, task.id, this.deps.instanceId, clock.now());
      if (result.ok) return true;
      const reason = `${result.resource} is held by run #${result.heldByRun} of ${result.heldByTask}`;
      if (!announced) {
        await this.activity('run.waiting', run, `run #${run.id} waits: ${reason}`);
        announced = true;
      }
      if (Date.now() >= deadline || signal.aborted) return `${reason} (waited ${policy.engine.lock_wait.text})`;
      await sleep(this.deps.lockPollMs ?? 1000, signal);
    }
  }

  private async execute(task: ImplementedTask, run: RunRecord, signal: AbortSignal): Promise<RunRecord> {
    const { store, clock, policy, notifier } = this.deps;
    const log = this.deps.logger.child({ runId: run.id, taskId: task.id });
    const ctx = createRunContext({ runId: run.id, taskId: task.id, policy, clock, log, signal, store });

    await ctx.step('notify stakeholders', async (step) => {
      const report = await notifier.notify(
        'start',
        this.message(run, 'start', `${task.id} is starting`, `${task.title}. Run #${run.id}.`),
        { taskId: task.id, runId: run.id },
      );
      // What was delivered and what failed, separately: a failed delivery is never reported as sent.
      step.output(describeNoticeReport('start notice', report));
    });

    let outcome: RunOutcome = 'succeeded';
    let error: string | null = null;
    let validation: ValidationResult | null = null;
    const endHook = this.deps.onRunStart?.(task, run);
    try {
      const result = await task.execute(ctx);
      if (signal.aborted) throw new DrydockError('ABORTED', 'stopped while running');
      validation =
        (await ctx.step('validate results', async (step) => {
          const checked = await task.validate(ctx, result);
          for (const check of checked.checks)
            step.output(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
          return checked;
        })) ?? null;
      if (ctx.failures.length > 0) {
        outcome = 'failed';
        error = ctx.failures.map((f) => `${f.name}: ${f.error}`).join('; ');
      } else if (validation && !validation.ok) {
        outcome = 'validation_failed';
        error = validation.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name}: ${c.detail}`)
          .join('; ');
      }
    } catch (caught) {
      outcome = signal.aborted ? 'interrupted' : 'failed';
      error = redactor.text(describeError(caught));
      if (!ctx.failures.some((f) => f.error === error))
        ctx.failures.push({ name: 'execute', error, retryable: isRetryable(caught) });
    }
    if (outcome === 'interrupted') await this.recover(task, ctx, run);
    // Silences end with the run: after its validation passed, or as soon as it failed, so a broken
    // component alerts again at once.
    await endHook?.();

    await store.finishRun(run.id, {
      status: outcome,
      endedAt: clock.now(),
      reason: outcome === 'interrupted' ? 'stopped while running (daemon shutdown or abort)' : null,
      summary: ctx.summaryLines,
      figures: ctx.figures,
      validation,
      error,
    });
    const finished = (await store.getRun(run.id))!;
    await this.activity(
      'run.finished',
      finished,
      `run #${run.id} of ${task.id} ${outcome}${error ? `: ${error}` : ''}`,
      { figures: ctx.figures },
    );

    if (outcome === 'succeeded') {
      await notifier.notify(
        'success',
        this.message(finished, 'success', `${task.id} succeeded`, ctx.summaryLines.join('\n') || 'done'),
        { taskId: task.id, runId: run.id },
      );
    }
    await this.failureNotice(task, finished, outcome, error, failureSignature(ctx.failures, failingChecks(validation)));
    if (outcome === 'failed') await this.maybeRetry(task, finished, ctx);
    return finished;
  }

  /** Failure and recovery notices, grouped and repeated by decideFailureNotice; every decision is recorded. */
  private async failureNotice(
    task: ImplementedTask,
    run: RunRecord,
    outcome: RunOutcome,
    error: string | null,
    signature: string,
  ): Promise<void> {
    const { store, clock, policy, notifier } = this.deps;
    const earlier = await store.listRuns({ taskId: task.id, limit: 20 });
    const previous = earlier.find((r) => r.id < run.id && FINISHED.has(r.status));
    const [last] = await store.listActivity({ taskId: task.id, kind: 'notice.failure', limit: 1 });
    const decision = decideFailureNotice({
      outcome,
      signature,
      previousFailed: previous !== undefined && previous.status !== 'succeeded',
      lastNotice: last
        ? { at: last.at, signature: typeof last.data?.signature === 'string' ? last.data.signature : '' }
        : null,
      now: clock.now(),
      repeatMs: policy.notify.repeat.ms,
    });
    if (decision.send === 'failure') {
      await this.activity('notice.failure', run, `failure notice for run #${run.id}: ${decision.reason}`, {
        signature,
      });
      await notifier.notify(
        'failure',
        this.message(run, 'failure', `${task.id} ${outcome.replace('_', ' ')}`, error ?? ''),
        { taskId: task.id, runId: run.id },
      );
    } else if (decision.send === 'recovered') {
      await this.activity('notice.recovered', run, `recovery notice for run #${run.id}: ${decision.reason}`);
      await notifier.notify(
        'failure',
        this.message(run, 'recovered', `${task.id} recovered`, `Run #${run.id} succeeded after earlier failures.`),
        { taskId: task.id, runId: run.id },
      );
    } else if (outcome === 'failed' || outcome === 'validation_failed') {
      await this.activity('notice.held', run, `no failure notice for run #${run.id}: ${decision.reason}`, {
        signature,
      });
    }
  }

  private async maybeRetry(task: ImplementedTask, run: RunRecord, ctx: RunContext): Promise<void> {
    const { policy, clock, store } = this.deps;
    const override = policy.tasks[task.id]?.retry;
    const attempts = override?.attempts ?? policy.engine.retry.attempts;
    if (run.attempt >= attempts) return;
    if (!ctx.failures.some((f) => f.retryable)) {
      await this.activity(
        'run.not_retried',
        run,
        `run #${run.id} of ${task.id} is not retried: its failures cannot be fixed by trying again`,
      );
      return;
    }
    const delay = retryDelay(
      run.attempt,
      (override?.backoff ?? policy.engine.retry.backoff).ms,
      (override?.max_backoff ?? policy.engine.retry.max_backoff).ms,
    );
    const dueAt = new Date(clock.now().getTime() + delay);
    await store.enqueueRetry({ taskId: task.id, dueAt, attempt: run.attempt + 1, retryOf: run.id });
    await this.activity(
      'run.retry_scheduled',
      run,
      `attempt ${run.attempt + 1} of ${attempts} for ${task.id} at ${dueAt.toISOString()}`,
    );
  }

  /** Runs the task's own clean-up after an interruption, recorded as a step of the interrupted run. */
  async recover(task: ImplementedTask, ctx: RunContext, run: RunRecord): Promise<void> {
    if (!task.recoverInterrupted) return;
    const cleanupSignal = new AbortController().signal;
    const cleanupCtx = { ...ctx, signal: cleanupSignal };
    await ctx.step(
      'recover after interruption',
      async (step) => {
        const lines = await task.recoverInterrupted!(cleanupCtx);
        for (const line of lines) step.output(line);
        if (lines.length === 0) step.output('nothing to clean up');
        await this.activity(
          'run.recovered',
          run,
          `clean-up after interrupted run #${run.id}: ${lines.join('; ') || 'nothing to clean up'}`,
        );
      },
      { continueOnError: true },
    );
  }

  /** Marks a run another instance left open as interrupted and runs the task's clean-up. */
  async recoverOrphan(run: RunRecord, why: string): Promise<void> {
    const { store, clock, policy } = this.deps;
    await store.finishRun(run.id, { status: 'interrupted', endedAt: clock.now(), reason: why });
    await store.releaseLocks(run.id);
    await this.activity('run.interrupted', run, `run #${run.id} of ${run.taskId} marked interrupted: ${why}`);
    const task = this.deps.registry.get(run.taskId);
    if (!task?.implemented) return;
    const log = this.deps.logger.child({ runId: run.id, taskId: run.taskId });
    const ctx = createRunContext({
      runId: run.id,
      taskId: run.taskId,
      policy,
      clock,
      log,
      signal: new AbortController().signal,
      store,
    });
    await this.recover(task, ctx, run);
    const attempts = policy.tasks[task.id]?.retry?.attempts ?? policy.engine.retry.attempts;
    if (run.attempt < attempts) {
      await store.enqueueRetry({ taskId: run.taskId, dueAt: clock.now(), attempt: run.attempt + 1, retryOf: run.id });
      await this.activity(
        'run.retry_scheduled',
        run,
        `attempt ${run.attempt + 1} of ${attempts} for ${run.taskId} after the interruption`,
      );
    }
  }

  private async finishSkipped(run: RunRecord, reason: string): Promise<RunRecord> {
    await this.deps.store.finishRun(run.id, { status: 'skipped', endedAt: this.deps.clock.now(), reason });
    const finished = (await this.deps.store.getRun(run.id))!;
    await this.activity('run.skipped', finished, `run #${run.id} of ${run.taskId} skipped: ${reason}`);
    return finished;
  }

  private message(run: RunRecord, kind: 'start' | 'success' | 'failure' | 'recovered', subject: string, text: string) {
    return {
      id: `run-${run.id}-${kind}`,
      kind: `run.${kind}`,
      subject: `[drydock] ${subject}`,
      text,
      data: { runId: run.id, taskId: run.taskId, status: run.status, attempt: run.attempt, figures: run.figures },
    };
  }

  private async activity(
    kind: string,
    run: RunRecord,
    message: string,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    await this.deps.store.logActivity({
      at: this.deps.clock.now(),
      kind,
      taskId: run.taskId,
      runId: run.id,
      actor: this.deps.instanceId,
      message: redactor.text(message),
      data: redactor.value(data),
    });
  }
}

const FINISHED = new Set(['succeeded', 'failed', 'validation_failed']);

function failingChecks(validation: ValidationResult | null) {
  return validation ? validation.checks.filter((c) => !c.ok) : [];
}
