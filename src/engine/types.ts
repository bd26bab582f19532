// The shapes every task, gate and channel shares. A task is a small typed unit (graphile-worker's
// `(payload, helpers)` idea): a definition object plus execute/validate functions that receive a
// context carrying a scoped logger, the clock, the policy, an abort signal and a place to record
// steps and figures.
import type { Logger } from 'pino';
import type { Policy } from '../policy/schema.js';
import type { Schedule } from '../schedule/frequency.js';
import type { Clock } from '../clock.js';
import type { Figure, Store } from '../store/types.js';

export type TaskClass = 'maintenance' | 'security' | 'critical_bug';

// The run records' vocabulary is the store's (the store sits below the engine); re-exported for tasks.
export type { Figure, RunOutcome, RunStatus, RunTrigger } from '../store/types.js';

export interface StepHandle {
  /** Appends text to the step's recorded output. */
  output(text: string): void;
}

export interface StepOptions {
  /** When true, a failure is recorded on the step and the run goes on; `step` then resolves to undefined. */
  continueOnError?: boolean;
}

export interface ValidationCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ValidationResult {
  ok: boolean;
  checks: ValidationCheck[];
}

export interface TaskContext {
  readonly runId: number;
  readonly taskId: string;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Drydock's own state, for tasks that keep catalogs or prune history. */
  readonly store?: Store;
  /** Runs one recorded step: name, output, duration, error. */
  step<T>(name: string, fn: (step: StepHandle) => Promise<T>, options?: StepOptions): Promise<T | undefined>;
  /** Records a measured figure, e.g. figure('listings.dead_tuples', {before: 5000, after: 0, unit: 'rows'}). */
  figure(name: string, figure: Figure): void;
  /** Adds a line to the run's summary. */
  summary(line: string): void;
}

export interface ImplementedTask<R = unknown> {
  readonly id: string;
  readonly title: string;
  readonly implemented: true;
  /**
   * Disruptive tasks run only inside an open maintenance window (the window gate). May depend on
   * the policy: a non-concurrent REINDEX or a VACUUM FULL blocks writes, the default ones do not.
   */
  readonly disruptive: boolean | ((policy: Policy) => boolean);
  readonly class: TaskClass;
  schedule(policy: Policy): Schedule;
  /** Resources the run holds exclusively, e.g. "pg:dokkerr.listings". */
  resources(policy: Policy): string[];
  execute(ctx: TaskContext): Promise<R>;
  validate(ctx: TaskContext, result: R): Promise<ValidationResult>;
  /** Clean-up after a run of this task was interrupted (crash, kill -9, SIGTERM). Returns what it did. */
  recoverInterrupted?(ctx: TaskContext): Promise<string[]>;
  /** A variant that shows what it would do and changes nothing (`drydock run ID --dry-run`). */
  readonly dryRun?: () => ImplementedTask<R>;
}

/** A procedure of the spec that this version does not carry out yet. Never reported as run. */
export interface PlannedTask {
  readonly id: string;
  readonly title: string;
  readonly implemented: false;
  readonly disruptive: boolean;
  readonly class: TaskClass;
  /** Where the work is tracked, e.g. "issue 3". */
  readonly plannedIn: string;
  /**
   * Set when the procedure is carried out, but not as a run of its own: e.g. metrics collection
   * happens every minute inside the daemon's collector. Says where, for `drydock tasks`.
   */
  readonly handledBy?: string;
  schedule(policy: Policy): Schedule;
}

export function isDisruptive(task: { disruptive: boolean | ((policy: Policy) => boolean) }, policy: Policy): boolean {
  return typeof task.disruptive === 'function' ? task.disruptive(policy) : task.disruptive;
}

// `any` keeps a registry of tasks with different result types assignable; each task is typed inside.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskDefinition = ImplementedTask<any> | PlannedTask;

export type GateDecision =
  { decision: 'run' } | { decision: 'skip'; reason: string } | { decision: 'delay'; until: Date; reason: string };

/** Asked before every run whether it may start now. Windows and blackouts (issue 5) plug in here. */
export interface Gate {
  readonly name: string;
  check(task: TaskDefinition, at: Date, policy: Policy): Promise<GateDecision> | GateDecision;
}

export type NoticeKind = 'start' | 'success' | 'failure';

export interface Notice {
  kind: NoticeKind;
  taskId: string;
  runId: number;
  title: string;
  body: string;
  at: Date;
}

/** The tasks the engine and daemon know: implemented ones and the spec's planned procedures. */
export interface Registry {
  all(): TaskDefinition[];
  get(id: string): TaskDefinition | undefined;
  require(id: string): TaskDefinition;
  implemented(): ImplementedTask[];
}
