// The silence hook. A maintenance run silences the components it works on from its start until
// its validation has passed (the engine calls liftRun then); declared windows (issue 5) plug in
// as a source. Security alerts are never silenced: the evaluator does not ask for them.
import { systemClock, type Clock } from '../clock.js';
import type { Policy } from '../policy/schema.js';
import type { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { componentCovers } from './rules.js';

/** Returns a reason when the source silences the component at that time (e.g. an open maintenance window). */
export type SilenceSource = (component: string, at: Date) => string | null;

export class Silences {
  private readonly sources: SilenceSource[] = [];

  constructor(
    private readonly store: SqliteAlertStore,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Silences a component ("redis:127.0.0.1:6379", "postgres", "host", "*") from now (or startsAt) until lifted or endsAt. */
  begin(component: string, options: { reason: string; runId?: number; startsAt?: Date; endsAt?: Date }): number {
    return this.store.addSilence({
      component,
      reason: options.reason,
      runId: options.runId ?? null,
      startsAt: (options.startsAt ?? this.clock.now()).getTime(),
      endsAt: options.endsAt ? options.endsAt.getTime() : null,
    });
  }

  lift(id: number): boolean {
    return this.store.liftSilence(id, this.clock.now().getTime());
  }

  /** Lifts every silence of a run: call after the run's validation has passed (or the run ended without it). */
  liftRun(runId: number): number {
    return this.store.liftRunSilences(runId, this.clock.now().getTime());
  }

  addSource(source: SilenceSource): void {
    this.sources.push(source);
  }

  /** Why the component is silenced at `at`, or null. */
  reason(component: string, at: Date): string | null {
    for (const s of this.store.activeSilences(at.getTime())) {
      if (componentCovers(s.component, component)) return s.runId === null ? s.reason : `${s.reason} (run ${s.runId})`;
    }
    for (const source of this.sources) {
      const reason = source(component, at);
      if (reason) return reason;
    }
    return null;
  }

  isSilenced(component: string, at: Date): boolean {
    return this.reason(component, at) !== null;
  }
}

/** Components a task's resources touch, for silencing during its run: "redis:h:p" as is, "pg:…" → the PostgreSQL target, "fs:…" → host. */
export function componentsForResources(resources: readonly string[], policy: Policy): string[] {
  const pg = `postgres:${policy.targets.postgres.host}:${policy.targets.postgres.port}/${policy.targets.postgres.database}`;
  const out = new Set<string>();
  for (const r of resources) {
    if (r.startsWith('redis:')) out.add(r);
    else if (r.startsWith('pg:')) out.add(pg);
    else if (r.startsWith('fs:')) out.add('host');
    else out.add(r);
  }
  return [...out];
}

/**
 * For the engine: silence what a run touches from its start; call the returned function once the
 * run's validation has passed (or the run has ended without it) to lift the silence.
 */
export function silenceRun(
  silences: Silences,
  task: { id: string; resources(policy: Policy): string[] },
  policy: Policy,
  runId: number,
): () => number {
  for (const component of componentsForResources(task.resources(policy), policy)) {
    silences.begin(component, { reason: `maintenance run of ${task.id}`, runId });
  }
  return () => silences.liftRun(runId);
}
