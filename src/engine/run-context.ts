// Builds the TaskContext for one run: steps are written to the store as they start and end, so a
// crash mid-task still leaves a record of what ran.
import type { Logger } from 'pino';
import { describeError, isRetryable } from '../errors.js';
import { redactor } from '../policy/redact.js';
import type { Policy } from '../policy/schema.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../clock.js';
import type { Figure, StepOptions, TaskContext } from './types.js';

export interface StepFailure {
  name: string;
  error: string;
  retryable: boolean;
}

export interface RunContext extends TaskContext {
  readonly figures: Record<string, Figure>;
  readonly summaryLines: string[];
  readonly failures: StepFailure[];
}

const OUTPUT_LIMIT = 256 * 1024;

export function createRunContext(options: {
  runId: number;
  taskId: string;
  policy: Policy;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  store: Store;
}): RunContext {
  const { store, clock } = options;
  const figures: Record<string, Figure> = {};
  const summaryLines: string[] = [];
  const failures: StepFailure[] = [];

  async function step<T>(
    name: string,
    fn: (handle: { output(text: string): void }) => Promise<T>,
    stepOptions: StepOptions = {},
  ): Promise<T | undefined> {
    const seq = await store.startStep(options.runId, name, clock.now());
    let output = '';
    const handle = {
      output(text: string) {
        if (output.length < OUTPUT_LIMIT) output += (output && !output.endsWith('\n') ? '\n' : '') + text;
      },
    };
    try {
      const value = await fn(handle);
      await store.finishStep(options.runId, seq, {
        status: 'succeeded',
        endedAt: clock.now(),
        output: redactor.text(output),
        error: null,
      });
      return value;
    } catch (error) {
      const message = redactor.text(describeError(error));
      await store.finishStep(options.runId, seq, {
        status: 'failed',
        endedAt: clock.now(),
        output: redactor.text(output),
        error: message,
      });
      failures.push({ name, error: message, retryable: isRetryable(error) });
      options.log.warn({ step: name, error: message }, 'step failed');
      if (stepOptions.continueOnError && !options.signal.aborted) return undefined;
      throw error;
    }
  }

  return {
    runId: options.runId,
    taskId: options.taskId,
    policy: options.policy,
    clock,
    log: options.log,
    signal: options.signal,
    store,
    step,
    figure(name, figure) {
      figures[name] = { ...figures[name], ...figure };
    },
    summary(line) {
      summaryLines.push(redactor.text(line));
    },
    figures,
    summaryLines,
    failures,
  };
}
