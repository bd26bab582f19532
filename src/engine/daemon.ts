// The scheduler loop. Each tick asks the pure planner which slots are due, claims each slot in the
// store (only one instance wins it, and a slot is never run twice), and hands it to the engine.
// It also heartbeats, picks up due retries, and marks runs of dead instances as interrupted.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { processAlive } from '../adapters/process.js';
import { dueSlots, taskEnabled } from '../schedule/planner.js';
import type { Registry } from './types.js';
import type { RunRecord, Store } from '../store/types.js';
import type { Clock } from '../clock.js';
import type { RunTrigger } from './types.js';
import type { Engine } from './engine.js';

export interface DaemonDeps {
  engine: Engine;
  store: Store;
  registry: Registry;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  kind?: 'daemon' | 'cli';
}

export class Daemon {
  private lastTick: Date | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Map<number | string, { promise: Promise<unknown>; controller: AbortController }>();
  private stopping = false;
  private ticks = 0;
  private listener: ((run: RunRecord) => void) | null = null;
  private readonly periodic: Array<{
    name: string;
    everyMs: number;
    run: () => Promise<void>;
    lastAt: number | null;
    busy: Promise<void> | null;
  }> = [];

  constructor(private readonly deps: DaemonDeps) {}

  async register(): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.registerInstance({
      id: this.deps.instanceId,
      host: hostname(),
      pid: process.pid,
      kind: this.deps.kind ?? 'daemon',
      startedAt: now,
    });
    await this.deps.store.logActivity({
      at: now,
      kind: 'daemon.started',
      actor: this.deps.instanceId,
      message: `instance ${this.deps.instanceId} started (pid ${process.pid})`,
      data: {},
    });
  }

  /**
   * Finds runs left open by instances that are gone: the same host with a dead pid, or a heartbeat
   * older than engine.instance_timeout. Marks them interrupted and runs their clean-up.
   */
  async recoverOrphans(): Promise<number> {
    const { store, clock, engine } = this.deps;
    const now = clock.now();
    const timeout = engine.policy.engine.instance_timeout.ms;
    const instances = new Map((await store.listInstances()).map((i) => [i.id, i]));
    let recovered = 0;
    for (const run of await store.openRuns()) {
      if (run.instanceId === this.deps.instanceId) continue;
      const owner = instances.get(run.instanceId);
      let why: string | null = null;
      // On this host the pid says for sure; on another host only a stale heartbeat can tell.
      if (!owner) why = `instance ${run.instanceId} is gone`;
      else if (owner.host === hostname()) {
        if (!processAlive(owner.pid))
          why = `instance ${owner.id} (pid ${owner.pid}) died without finishing the run (killed or crashed)`;
      } else if (now.getTime() - owner.heartbeatAt.getTime() > timeout)
        why = `instance ${owner.id} on ${owner.host} stopped sending heartbeats at ${owner.heartbeatAt.toISOString()}`;
      if (!why) continue;
      await engine.recoverOrphan(run, why);
      recovered++;
    }
    for (const instance of instances.values()) {
      if (instance.id === this.deps.instanceId) continue;
      const dead =
        instance.host === hostname()
          ? !processAlive(instance.pid)
          : now.getTime() - instance.heartbeatAt.getTime() > timeout;
      if (dead) await store.removeInstance(instance.id);
    }
    return recovered;
  }

  /** One scheduling pass. Tests call it directly with a moved clock. */
  async tick(): Promise<void> {
    if (this.stopping) return;
    const { store, clock, registry, engine } = this.deps;
    const now = clock.now();
    const policy = engine.policy;
    const grace = policy.engine.misfire_grace.ms;
    for (const task of registry.implemented()) {
      if (!taskEnabled(task, policy)) continue;
      for (const slot of dueSlots(task.schedule(policy), this.lastTick, now, grace)) {
        if (await store.claimSlot(task.id, slot, this.deps.instanceId, now))
          void this.launch(task.id, { trigger: 'schedule', slotAt: slot, attempt: 1 });
      }
    }
    for (const job of await store.claimDueRetries(now, this.deps.instanceId)) {
      void this.launch(job.taskId, { trigger: 'retry', slotAt: null, attempt: job.attempt });
    }
    await this.runPeriodic(now);
    this.lastTick = now;
    if (++this.ticks % 5 === 0) await store.heartbeat(this.deps.instanceId, now);
    if (this.ticks % 30 === 0) await this.recoverOrphans();
  }

  launch(
    taskId: string,
    request: { trigger: RunTrigger; slotAt: Date | null; attempt: number },
  ): Promise<RunRecord | undefined> {
    const controller = new AbortController();
    const key = `${taskId}@${request.slotAt?.toISOString() ?? Date.now()}#${Math.random()}`;
    const promise = this.deps.engine
      .run(taskId, { ...request, signal: controller.signal })
      .then((run) => {
        this.listener?.(run);
        return run;
      })
      .catch((error: unknown) => {
        this.deps.logger.error({ taskId, err: error }, 'run could not be recorded');
        return undefined;
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, { promise, controller });
    return promise;
  }

  /**
   * Work that is not a task run but must happen on a clock inside the daemon (window reminders,
   * metric collection). A failure is logged and never stops the scheduler.
   */
  every(name: string, everyMs: number, run: () => Promise<void>): void {
    this.periodic.push({ name, everyMs, run, lastAt: null, busy: null });
  }

  /** Starts each due job without waiting for it (a slow metrics target must not hold up the schedule); a job never overlaps itself. */
  private async runPeriodic(now: Date): Promise<void> {
    for (const job of this.periodic) {
      if (job.busy || (job.lastAt !== null && now.getTime() - job.lastAt < job.everyMs)) continue;
      job.lastAt = now.getTime();
      job.busy = job
        .run()
        .catch((error: unknown) => this.deps.logger.error({ err: error, job: job.name }, 'periodic job failed'))
        .finally(() => {
          job.busy = null;
        });
    }
  }

  /** Waits for periodic jobs in progress (tests, shutdown). */
  async settlePeriodic(): Promise<void> {
    await Promise.all(this.periodic.flatMap((job) => (job.busy ? [job.busy] : [])));
  }

  /** Heartbeats on a timer, for a process that runs tasks without ticking (`drydock run`). */
  keepAlive(everyMs = 10_000): () => void {
    const timer = setInterval(() => {
      this.deps.store.heartbeat(this.deps.instanceId, this.deps.clock.now()).catch(() => undefined);
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Called with every finished run (the CLI prints them). */
  onRun(listener: (run: RunRecord) => void): void {
    this.listener = listener;
  }

  /** Starts ticking every `intervalMs`. */
  async start(intervalMs = 1000): Promise<void> {
    await this.register();
    await this.recoverOrphans();
    await this.tick();
    this.timer = setInterval(() => {
      this.tick().catch((error: unknown) => this.deps.logger.error({ err: error }, 'scheduler tick failed'));
    }, intervalMs);
  }

  /** Graceful stop: no new runs, running ones are told to stop, and recorded as interrupted. */
  async stop(reason: string, graceMs = 30_000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.settlePeriodic();
    const open = [...this.running.values()];
    for (const run of open) run.controller.abort(new Error(reason));
    // An idle daemon stops at once; a busy one as soon as its runs are recorded, or after the grace
    // period. The grace timer is cleared either way, so it never holds the process open.
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(open.map((r) => r.promise)),
      new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(graceTimer);
    const now = this.deps.clock.now();
    // Anything that did not finish inside the grace period is still recorded.
    for (const run of await this.deps.store.openRuns()) {
      if (run.instanceId === this.deps.instanceId)
        await this.deps.engine.recoverOrphan(run, `${reason}; the run did not stop within the grace period`);
    }
    await this.deps.store.logActivity({
      at: now,
      kind: 'daemon.stopped',
      actor: this.deps.instanceId,
      message: `instance ${this.deps.instanceId} stopped: ${reason}`,
      data: { interrupted: open.length },
    });
    await this.deps.store.removeInstance(this.deps.instanceId);
  }

  get activeRuns(): number {
    return this.running.size;
  }
}
