// A small but real TaskContext for running one task outside the engine: steps, figures and summary
// lines are kept in memory, continueOnError behaves as the engine's does. The engine runs the same
// tasks through the full lifecycle (notify, record, retry); this is only for task-level tests.
import pino from 'pino';
import { systemClock } from '../../src/clock.js';
import type { Figure, StepHandle, StepOptions, TaskContext } from '../../src/engine/types.js';
import { policySchema, type Policy, type PolicyInput } from '../../src/policy/schema.js';

export interface RecordedStep {
  name: string;
  ok: boolean;
  output: string;
  error?: unknown;
  durationMs: number;
}

export interface TestContext extends TaskContext {
  readonly steps: RecordedStep[];
  readonly figures: Record<string, Figure>;
  readonly summaries: string[];
  /** Aborts ctx.signal, as the engine does on SIGTERM. */
  abort(): void;
  /** The recorded step whose name starts with `prefix`. */
  findStep(prefix: string): RecordedStep | undefined;
}

export function testContext(policy: Policy, taskId = 'test'): TestContext {
  const controller = new AbortController();
  const steps: RecordedStep[] = [];
  const figures: Record<string, Figure> = {};
  const summaries: string[] = [];

  async function step<T>(
    name: string,
    fn: (handle: StepHandle) => Promise<T>,
    options: StepOptions = {},
  ): Promise<T | undefined> {
    const record: RecordedStep = { name, ok: false, output: '', durationMs: 0 };
    steps.push(record);
    const started = Date.now();
    const handle: StepHandle = {
      output: (text) => {
        record.output += record.output ? `\n${text}` : text;
      },
    };
    try {
      const value = await fn(handle);
      record.ok = true;
      return value;
    } catch (error) {
      record.error = error;
      if (!options.continueOnError) throw error;
      return undefined;
    } finally {
      record.durationMs = Date.now() - started;
    }
  }

  return {
    runId: 1,
    taskId,
    policy,
    clock: systemClock,
    log: pino({ level: process.env.DRYDOCK_TEST_LOG ?? 'silent' }),
    signal: controller.signal,
    steps,
    figures,
    summaries,
    abort: () => controller.abort(),
    findStep: (prefix) => steps.find((s) => s.name.startsWith(prefix)),
    step,
    figure: (name, figure) => {
      figures[name] = figure;
    },
    summary: (line) => {
      summaries.push(line);
    },
  };
}

/** The default policy with `input` merged in (parsed by the real schema, so defaults apply). */
export function testPolicy(input: PolicyInput): Policy {
  return policySchema.parse(input);
}
