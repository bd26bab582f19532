// The narrow storage interface. Tasks and the engine talk only to this; all SQL lives in store/.
// The SQLite store is the default; a PostgreSQL store can implement the same interface (every
// method is async for that reason) and pass the same test suite (test/store/store-contract.ts).
export type RunOutcome = 'succeeded' | 'failed' | 'validation_failed' | 'skipped' | 'interrupted';
export type RunStatus = 'running' | RunOutcome;
export type RunTrigger = 'schedule' | 'manual' | 'retry' | 'startup' | 'change';

/** A number the task measured, before and/or after the work. */
export interface Figure {
  before?: number;
  after?: number;
  value?: number;
  unit?: string;
}

export interface InstanceInfo {
  id: string;
  host: string;
  pid: number;
  kind: 'daemon' | 'cli';
  startedAt: Date;
}

export interface InstanceRecord extends InstanceInfo {
  heartbeatAt: Date;
}

export interface StepRecord {
  runId: number;
  seq: number;
  name: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: Date;
  endedAt: Date | null;
  durationMs: number | null;
  output: string;
  error: string | null;
}

export interface RunRecord {
  id: number;
  taskId: string;
  trigger: RunTrigger;
  slotAt: Date | null;
  attempt: number;
  status: RunStatus;
  reason: string | null;
  startedAt: Date;
  endedAt: Date | null;
  instanceId: string;
  summary: string[];
  figures: Record<string, Figure>;
  validation: { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> } | null;
  error: string | null;
}

export interface NewRun {
  taskId: string;
  trigger: RunTrigger;
  slotAt: Date | null;
  attempt: number;
  instanceId: string;
  startedAt: Date;
}

export interface RunFinish {
  status: RunOutcome;
  endedAt: Date;
  reason?: string | null;
  summary?: string[];
  figures?: Record<string, Figure>;
  validation?: RunRecord['validation'];
  error?: string | null;
}

export interface RetryJob {
  id: number;
  taskId: string;
  dueAt: Date;
  attempt: number;
  retryOf: number;
}

export interface ActivityEntry {
  id?: number;
  at: Date;
  /** Dotted kind: run.started, run.finished, notify.sent, daemon.started, activity.pruned, ... */
  kind: string;
  taskId?: string | null;
  runId?: number | null;
  actor?: string | null;
  message: string;
  data?: Record<string, unknown>;
}

export type LockResult = { ok: true } | { ok: false; resource: string; heldByRun: number; heldByTask: string };

export interface RunFilter {
  taskId?: string;
  status?: RunStatus;
  limit?: number;
  since?: Date;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  close(): Promise<void>;

  registerInstance(info: InstanceInfo): Promise<void>;
  heartbeat(instanceId: string, at: Date): Promise<void>;
  removeInstance(instanceId: string): Promise<void>;
  listInstances(): Promise<InstanceRecord[]>;

  /** Atomically claims a scheduled slot; true only for the one caller that wins it. */
  claimSlot(taskId: string, slotAt: Date, instanceId: string, claimedAt: Date): Promise<boolean>;
  /** The newest slot claimed for a task, if any. */
  lastClaimedSlot(taskId: string): Promise<Date | null>;

  enqueueRetry(job: Omit<RetryJob, 'id'>): Promise<void>;
  /** Claims every retry due at `now` that nobody has claimed yet. */
  claimDueRetries(now: Date, instanceId: string): Promise<RetryJob[]>;

  createRun(run: NewRun): Promise<RunRecord>;
  finishRun(runId: number, finish: RunFinish): Promise<void>;
  getRun(runId: number): Promise<RunRecord | null>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Runs still marked running, optionally of one task. */
  openRuns(taskId?: string): Promise<RunRecord[]>;

  startStep(runId: number, name: string, at: Date): Promise<number>;
  finishStep(
    runId: number,
    seq: number,
    result: { status: 'succeeded' | 'failed'; endedAt: Date; output: string; error: string | null },
  ): Promise<void>;
  listSteps(runId: number): Promise<StepRecord[]>;

  /** All-or-nothing: takes every resource for the run or none. */
  acquireLocks(resources: string[], runId: number, taskId: string, instanceId: string, at: Date): Promise<LockResult>;
  releaseLocks(runId: number): Promise<void>;

  logActivity(entry: ActivityEntry): Promise<void>;
  listActivity(filter?: { since?: Date; taskId?: string; kind?: string; limit?: number }): Promise<ActivityEntry[]>;
  /** Deletes activity entries older than `before`; returns how many. */
  pruneActivity(before: Date): Promise<number>;
}
