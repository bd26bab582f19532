// server.health_check (every 5 minutes): disk, memory, CPU load and service status against the
// spec's thresholds (server.monitoring.alerts). A breach fails validation, naming what and how much.
import type { ImplementedTask, ValidationResult } from '../../engine/types.js';
import { processCpuMeter, type CpuMeter } from '../../host/cpu-meter.js';
import { diskUsage, loadAverage1m, memoryUsage } from '../../host/sample.js';
import { serviceStatus } from '../../host/services.js';
import { toSchedule } from '../../schedule/frequency.js';
import { evaluateHealth, type HealthCheck, type HostReadings } from './health-evaluate.js';

export interface HealthCheckResult {
  readings: HostReadings;
  checks: HealthCheck[];
}

export interface HealthCheckOptions {
  /** Measures CPU busy time since the previous check; one per process by default. */
  cpu?: CpuMeter;
}

export function createHealthCheckTask(options: HealthCheckOptions = {}): ImplementedTask<HealthCheckResult> {
  const meter = options.cpu ?? processCpuMeter;
  return {
    id: 'server.health_check',
    title: 'Host health check',
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: (policy) => toSchedule({ frequency: policy.server.health_check.frequency }),
    resources: () => [],

    async execute(ctx) {
      const cfg = ctx.policy.server.health_check;
      const readings: HostReadings = {};
      const wants = new Set(cfg.checks);
      if (wants.has('disk_usage')) {
        readings.disks = await ctx.step(
          'disk usage',
          async (step) => {
            const disks = await diskUsage(cfg.mounts);
            for (const d of disks) step.output(`${d.mount} (${d.fs}, ${d.type}): ${d.usedPercent.toFixed(1)}%\n`);
            return disks;
          },
          { continueOnError: true },
        );
      }
      if (wants.has('memory_usage'))
        readings.memory = await ctx.step('memory usage', () => memoryUsage(), { continueOnError: true });
      if (wants.has('cpu_load')) {
        const cpu = await ctx.step(
          'cpu load',
          async (step) => {
            const reading = meter.read();
            step.output(`${reading.busyPercent.toFixed(1)}% busy over ${reading.over}\n`);
            return reading;
          },
          { continueOnError: true },
        );
        readings.cpuPercent = cpu?.busyPercent ?? null;
        if (cpu) readings.cpuOver = cpu.over;
        readings.load1m = loadAverage1m();
      }
      if (wants.has('service_status') && cfg.services.length > 0) {
        readings.services = await ctx.step('service status', async (step) => {
          const statuses = await Promise.all(cfg.services.map((s) => serviceStatus(s)));
          for (const s of statuses) step.output(`${s.name}: ${s.state} (${s.detail})\n`);
          return statuses;
        });
      }
      const checks = evaluateHealth(readings, ctx.policy.server.monitoring.alerts);
      // A reading that could not be taken is a failed check, never a silently missing one.
      if (wants.has('disk_usage') && readings.disks === undefined)
        checks.push({ name: 'disk', ok: false, detail: 'disk usage could not be read (see the step error)' });
      for (const mount of cfg.mounts) {
        if (readings.disks && !readings.disks.some((d) => d.mount === mount))
          checks.push({ name: `disk ${mount}`, ok: false, detail: `${mount} is not a mounted file system` });
      }
      if (wants.has('memory_usage') && readings.memory === undefined)
        checks.push({ name: 'memory', ok: false, detail: 'memory usage could not be read (see the step error)' });
      for (const c of checks) {
        ctx.summary(`${c.warning ? 'WARN' : c.ok ? 'ok' : 'ALERT'} ${c.name}: ${c.detail}`);
        if (c.value !== undefined)
          ctx.figure(`host.${c.name.replace(/\s+/g, '.')}`, { value: Number(c.value.toFixed(2)), unit: '%' });
      }
      return { readings, checks };
    },

    async validate(_ctx, result): Promise<ValidationResult> {
      return {
        ok: result.checks.every((c) => c.ok),
        checks: result.checks.map(({ name, ok, detail }) => ({ name, ok, detail })),
      };
    },
  };
}

export const serverHealthCheckTask = createHealthCheckTask();
