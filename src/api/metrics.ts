// Drydock's own run metrics in Prometheus format, computed from the store at scrape time so that
// several instances sharing one state report the same numbers.
import { Gauge, Registry } from 'prom-client';
import type { Registry as TaskRegistry } from '../tasks/registry.js';
import type { Store } from '../store/types.js';

export function createRunMetrics(app: { store: Store; registry: TaskRegistry }): Registry {
  const registry = new Registry();
  const tasks = () => app.registry.implemented();

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
