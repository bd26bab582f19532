// A real TaskContext for running one task in a test: steps run and are recorded in memory.
import pino from 'pino';
import { systemClock, type Clock } from '../../../src/engine/clock.js';
import type { Figure, TaskContext } from '../../../src/engine/types.js';
import { policySchema, type Policy, type PolicyInput } from '../../../src/policy/schema.js';

export interface RecordedRun {
  ctx: TaskContext;
  steps: Array<{ name: string; ok: boolean; output: string; error?: string }>;
  figures: Record<string, Figure>;
  summary: string[];
}

export function policyFrom(input: PolicyInput): Policy {
  return policySchema.parse(input);
}

export function taskContext(policy: Policy, options: { clock?: Clock; taskId?: string; signal?: AbortSignal } = {}): RecordedRun {
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
        const value = await fn({ output: (text) => { output += text; } });
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
