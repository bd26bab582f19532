// A real TaskContext for running one task in a test: steps run and are recorded in memory.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { systemClock, type Clock } from '../../../src/clock.js';
import type { Figure, TaskContext } from '../../../src/engine/types.js';
import { policySchema, type Policy, type PolicyInput } from '../../../src/policy/schema.js';

export interface RecordedRun {
  ctx: TaskContext;
  steps: Array<{ name: string; ok: boolean; output: string; error?: string }>;
  figures: Record<string, Figure>;
  summary: string[];
}

/**
 * A policy for tests. Unless the test names one, the backup repository is a path that does not
 * exist, so a repository left on the machine (the default /var/lib/drydock/repository) never leaks
 * backup metrics into a test.
 */
export function policyFrom(input: PolicyInput): Policy {
  const backup = (input.backup ?? {}) as Record<string, unknown>;
  const repository = (backup.repository ?? {}) as Record<string, unknown>;
  const path = repository.path ?? join(tmpdir(), `drydock-test-no-repository-${process.pid}`);
  return policySchema.parse({ ...input, backup: { ...backup, repository: { ...repository, path } } });
}

export function taskContext(
  policy: Policy,
  options: { clock?: Clock; taskId?: string; signal?: AbortSignal } = {},
): RecordedRun {
  const record: RecordedRun = { steps: [], figures: {}, summary: [], ctx: undefined as unknown as TaskContext };
  record.ctx = {
    runId: 1,
    taskId: options.taskId ?? 'test',
    policy,
    clock: options.clock ?? systemClock,
    log: pino({ level: 'silent' }),
    signal: options.signal ?? new AbortController().signal,
    async step(name, fn, stepOptions) {
      let output = '';
      try {
        const value = await fn({
          output: (text) => {
            output += text;
          },
        });
        record.steps.push({ name, ok: true, output });
        return value;
      } catch (error) {
        record.steps.push({ name, ok: false, output, error: String((error as Error).message ?? error) });
        if (stepOptions?.continueOnError) return undefined;
        throw error;
      }
    },
    figure(name, figure) {
      record.figures[name] = figure;
    },
    summary(line) {
      record.summary.push(line);
    },
  };
  return record;
}
