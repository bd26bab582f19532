import type { SqliteDatabase } from './open.js';
import type {
  ActivityEntry,
  InstanceInfo,
  InstanceRecord,
  LockResult,
  NewRun,
  RetryJob,
  RunFilter,
  RunFinish,
  RunRecord,
  StepRecord,
  Store,
} from '../types.js';
import type { RunStatus, RunTrigger } from '../../engine/types.js';

interface RunRow {
  id: number;
  task_id: string;
  trigger: string;
  slot_at: number | null;
  attempt: number;
  status: string;
  reason: string | null;
  started_at: number;
  ended_at: number | null;
  instance_id: string;
  summary: string;
  figures: string;
  validation: string | null;
  error: string | null;
}

const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    taskId: row.task_id,
    trigger: row.trigger as RunTrigger,
    slotAt: toDate(row.slot_at),
    attempt: row.attempt,
    status: row.status as RunStatus,
    reason: row.reason,
    startedAt: new Date(row.started_at),
    endedAt: toDate(row.ended_at),
    instanceId: row.instance_id,
    summary: JSON.parse(row.summary) as string[],
    figures: JSON.parse(row.figures) as RunRecord['figures'],
    validation: row.validation ? (JSON.parse(row.validation) as RunRecord['validation']) : null,
    error: row.error,
  };
}

/** The default store: one SQLite file, WAL mode, safe for several processes on one host. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;

  constructor(readonly db: SqliteDatabase) {}

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async registerInstance(info: InstanceInfo): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO instances (id, host, pid, kind, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(info.id, info.host, info.pid, info.kind, info.startedAt.getTime(), info.startedAt.getTime());
  }

  async heartbeat(instanceId: string, at: Date): Promise<void> {
    this.db.prepare('UPDATE instances SET heartbeat_at = ? WHERE id = ?').run(at.getTime(), instanceId);
  }

  async removeInstance(instanceId: string): Promise<void> {
    this.db.prepare('DELETE FROM instances WHERE id = ?').run(instanceId);
  }

  async listInstances(): Promise<InstanceRecord[]> {
    const rows = this.db.prepare('SELECT * FROM instances ORDER BY started_at').all() as Array<{
      id: string;
      host: string;
      pid: number;
      kind: string;
      started_at: number;
      heartbeat_at: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      kind: r.kind as InstanceRecord['kind'],
      startedAt: new Date(r.started_at),
      heartbeatAt: new Date(r.heartbeat_at),
    }));
  }

  async claimSlot(taskId: string, slotAt: Date, instanceId: string, claimedAt: Date): Promise<boolean> {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO slots (task_id, slot_at, instance_id, claimed_at) VALUES (?, ?, ?, ?)')
      .run(taskId, slotAt.getTime(), instanceId, claimedAt.getTime());
    return result.changes === 1;
  }

  async lastClaimedSlot(taskId: string): Promise<Date | null> {
    const row = this.db.prepare('SELECT MAX(slot_at) AS at FROM slots WHERE task_id = ?').get(taskId) as {
      at: number | null;
    };
    return toDate(row.at);
  }

  async enqueueRetry(job: Omit<RetryJob, 'id'>): Promise<void> {
    this.db
      .prepare('INSERT INTO retries (task_id, due_at, attempt, retry_of) VALUES (?, ?, ?, ?)')
      .run(job.taskId, job.dueAt.getTime(), job.attempt, job.retryOf);
  }

  async claimDueRetries(now: Date, instanceId: string): Promise<RetryJob[]> {
    const claim = this.db.transaction(() => {
      const rows = this.db
        .prepare(
          'SELECT id, task_id, due_at, attempt, retry_of FROM retries WHERE claimed_by IS NULL AND due_at <= ? ORDER BY due_at',
        )
        .all(now.getTime()) as Array<{
        id: number;
        task_id: string;
        due_at: number;
        attempt: number;
        retry_of: number;
      }>;
      const mark = this.db.prepare(
        'UPDATE retries SET claimed_by = ?, claimed_at = ? WHERE id = ? AND claimed_by IS NULL',
      );
      return rows
        .filter((r) => mark.run(instanceId, now.getTime(), r.id).changes === 1)
        .map((r) => ({
          id: r.id,
          taskId: r.task_id,
          dueAt: new Date(r.due_at),
          attempt: r.attempt,
          retryOf: r.retry_of,
        }));
    });
    return claim.immediate();
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    const result = this.db
      .prepare(
        "INSERT INTO runs (task_id, trigger, slot_at, attempt, status, started_at, instance_id) VALUES (?, ?, ?, ?, 'running', ?, ?)",
      )
      .run(
        run.taskId,
        run.trigger,
        run.slotAt?.getTime() ?? null,
        run.attempt,
        run.startedAt.getTime(),
        run.instanceId,
      );
    return (await this.getRun(Number(result.lastInsertRowid)))!;
  }

  async finishRun(runId: number, finish: RunFinish): Promise<void> {
    this.db
      .prepare(
        `UPDATE runs SET status = ?, ended_at = ?, reason = COALESCE(?, reason), summary = COALESCE(?, summary),
         figures = COALESCE(?, figures), validation = COALESCE(?, validation), error = COALESCE(?, error) WHERE id = ?`,
      )
      .run(
        finish.status,
        finish.endedAt.getTime(),
        finish.reason ?? null,
        finish.summary ? JSON.stringify(finish.summary) : null,
        finish.figures ? JSON.stringify(finish.figures) : null,
        finish.validation ? JSON.stringify(finish.validation) : null,
        finish.error ?? null,
        runId,
      );
  }

  async getRun(runId: number): Promise<RunRecord | null> {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.taskId) {
      where.push('task_id = ?');
      args.push(filter.taskId);
    }
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.since) {
      where.push('started_at >= ?');
      args.push(filter.since.getTime());
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit ?? 50) as RunRow[];
    return rows.map(toRun);
  }

  async openRuns(taskId?: string): Promise<RunRecord[]> {
    const rows = (
      taskId
        ? this.db.prepare("SELECT * FROM runs WHERE status = 'running' AND task_id = ? ORDER BY id").all(taskId)
        : this.db.prepare("SELECT * FROM runs WHERE status = 'running' ORDER BY id").all()
    ) as RunRow[];
    return rows.map(toRun);
  }

  async startStep(runId: number, name: string, at: Date): Promise<number> {
    const insert = this.db.transaction(() => {
      const row = this.db
        .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM steps WHERE run_id = ?')
        .get(runId) as { next: number };
      this.db
        .prepare("INSERT INTO steps (run_id, seq, name, status, started_at) VALUES (?, ?, ?, 'running', ?)")
        .run(runId, row.next, name, at.getTime());
      return row.next;
    });
    return insert.immediate();
  }

  async finishStep(
    runId: number,
    seq: number,
    result: { status: 'succeeded' | 'failed'; endedAt: Date; output: string; error: string | null },
  ): Promise<void> {
    this.db
      .prepare('UPDATE steps SET status = ?, ended_at = ?, output = ?, error = ? WHERE run_id = ? AND seq = ?')
      .run(result.status, result.endedAt.getTime(), result.output, result.error, runId, seq);
  }

  async listSteps(runId: number): Promise<StepRecord[]> {
    const rows = this.db.prepare('SELECT * FROM steps WHERE run_id = ? ORDER BY seq').all(runId) as Array<{
      run_id: number;
      seq: number;
      name: string;
      status: string;
      started_at: number;
      ended_at: number | null;
      output: string;
      error: string | null;
    }>;
    return rows.map((r) => ({
      runId: r.run_id,
      seq: r.seq,
      name: r.name,
      status: r.status as StepRecord['status'],
      startedAt: new Date(r.started_at),
      endedAt: toDate(r.ended_at),
      durationMs: r.ended_at === null ? null : r.ended_at - r.started_at,
      output: r.output,
      error: r.error,
    }));
  }

  async acquireLocks(
    resources: string[],
    runId: number,
    taskId: string,
    instanceId: string,
    at: Date,
  ): Promise<LockResult> {
    const take = this.db.transaction((): LockResult => {
      const held = this.db.prepare('SELECT resource, run_id, task_id FROM locks WHERE resource = ?');
      for (const resource of resources) {
        const row = held.get(resource) as { resource: string; run_id: number; task_id: string } | undefined;
        if (row && row.run_id !== runId) return { ok: false, resource, heldByRun: row.run_id, heldByTask: row.task_id };
      }
      const insert = this.db.prepare(
        'INSERT OR REPLACE INTO locks (resource, run_id, task_id, instance_id, acquired_at) VALUES (?, ?, ?, ?, ?)',
      );
      for (const resource of resources) insert.run(resource, runId, taskId, instanceId, at.getTime());
      return { ok: true };
    });
    return take.immediate();
  }

  async releaseLocks(runId: number): Promise<void> {
    this.db.prepare('DELETE FROM locks WHERE run_id = ?').run(runId);
  }

  async logActivity(entry: ActivityEntry): Promise<void> {
    this.db
      .prepare('INSERT INTO activity (at, kind, task_id, run_id, actor, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(
        entry.at.getTime(),
        entry.kind,
        entry.taskId ?? null,
        entry.runId ?? null,
        entry.actor ?? null,
        entry.message,
        JSON.stringify(entry.data ?? {}),
      );
  }

  async listActivity(
    filter: { since?: Date; taskId?: string; kind?: string; limit?: number } = {},
  ): Promise<ActivityEntry[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.since) {
      where.push('at >= ?');
      args.push(filter.since.getTime());
    }
    if (filter.taskId) {
      where.push('task_id = ?');
      args.push(filter.taskId);
    }
    if (filter.kind) {
      where.push('kind LIKE ?');
      args.push(`${filter.kind}%`);
    }
    const sql = `SELECT * FROM activity ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit ?? 100) as Array<{
      id: number;
      at: number;
      kind: string;
      task_id: string | null;
      run_id: number | null;
      actor: string | null;
      message: string;
      data: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at),
      kind: r.kind,
      taskId: r.task_id,
      runId: r.run_id,
      actor: r.actor,
      message: r.message,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  async pruneActivity(before: Date): Promise<number> {
    return this.db.prepare('DELETE FROM activity WHERE at < ?').run(before.getTime()).changes;
  }
}
