// Drydock's own run metrics in Prometheus format, computed from the store at scrape time so that
// several instances sharing one state report the same numbers.
import { readFileSync } from 'node:fs';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Registry as TaskRegistry } from '../tasks/registry.js';
import type { Store } from '../store/types.js';

/** Drydock's version, from its package.json. */
const DRYDOCK_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function createRunMetrics(app: { store: Store; registry: TaskRegistry }): Registry {
  const registry = new Registry();
  const tasks = () => app.registry.implemented();
  // The process and runtime series every Node.js exporter has (process_cpu_seconds_total,
  // process_resident_memory_bytes, nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes, ...).
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges "..._total", which Prometheus reserves for counters (promtool
  // check metrics rejects them); the same counts stay available by type in nodejs_active_handles,
  // nodejs_active_requests and nodejs_active_resources.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(name);

  const build = new Gauge({
    name: 'drydock_build_info',
    help: 'Always 1; the labels say which Drydock and which Node.js this process runs.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  });
  build.set({ version: DRYDOCK_VERSION, nodejs_version: process.versions.node }, 1);

  new Gauge({
    name: 'drydock_task_last_run_timestamp_seconds',
    help: 'Start time of the most recent run of each task, by outcome.',
    labelNames: ['task', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const task of tasks()) {
        const last = (await app.store.listRuns({ taskId: task.id, limit: 1 }))[0];
        if (last) this.set({ task: task.id, status: last.status }, last.startedAt.getTime() / 1000);
      }
    },
  });

  new Gauge({
    name: 'drydock_task_last_run_duration_seconds',
    help: 'Duration of the most recent finished run of each task.',
    labelNames: ['task'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const task of tasks()) {
        const last = (await app.store.listRuns({ taskId: task.id, limit: 5 })).find((r) => r.endedAt);
        if (last?.endedAt) this.set({ task: task.id }, (last.endedAt.getTime() - last.startedAt.getTime()) / 1000);
      }
    },
  });

  new Gauge({
    name: 'drydock_task_last_run_success',
    help: '1 when the most recent finished run of the task succeeded, 0 otherwise.',
    labelNames: ['task'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const task of tasks()) {
        const last = (await app.store.listRuns({ taskId: task.id, limit: 5 })).find(
          (r) => r.status !== 'running' && r.status !== 'skipped',
        );
        if (last) this.set({ task: task.id }, last.status === 'succeeded' ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: 'drydock_runs_open',
    help: 'Runs currently in progress.',
    registers: [registry],
    async collect() {
      this.set((await app.store.openRuns()).length);
    },
  });

  return registry;
}
