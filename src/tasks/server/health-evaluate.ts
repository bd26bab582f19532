// Pure: host readings against the spec's thresholds → named checks.
import type { Threshold } from '../../policy/values.js';
import type { DiskUsage, MemoryUsage } from '../../host/sample.js';
import type { ServiceStatus } from '../../host/services.js';

export interface HostReadings {
  disks?: DiskUsage[];
  memory?: MemoryUsage;
  /** Busy percent over the sample, null if it could not be measured. */
  cpuPercent?: number | null;
  /** What the CPU figure covers ("the last 5 min 0 s", "the 5-minute load average ..."). */
  cpuOver?: string;
  load1m?: number;
  services?: ServiceStatus[];
}

export interface HealthThresholds {
  disk: Threshold;
  memory: Threshold;
  cpu: Threshold;
}

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail: string;
  value?: number;
  /** Over a threshold, but not a failure of the check: the alert rule with its `for` and `repeat` sends notices. */
  warning?: boolean;
}

const pct = (n: number) => `${n.toFixed(1)}%`;

export function evaluateHealth(readings: HostReadings, t: HealthThresholds): HealthCheck[] {
  const checks: HealthCheck[] = [];
  for (const disk of readings.disks ?? []) {
    const bad = t.disk.breachedBy(disk.usedPercent);
    checks.push({
      name: `disk ${disk.mount}`,
      ok: !bad,
      value: disk.usedPercent,
      detail: `${disk.mount} ${pct(disk.usedPercent)} used (alert ${t.disk.text})`,
    });
  }
  if (readings.memory) {
    const bad = t.memory.breachedBy(readings.memory.usedPercent);
    checks.push({
      name: 'memory',
      ok: !bad,
      value: readings.memory.usedPercent,
      detail: `${pct(readings.memory.usedPercent)} used (alert ${t.memory.text})`,
    });
  }
  if (readings.cpuPercent !== undefined) {
    if (readings.cpuPercent === null) checks.push({ name: 'cpu', ok: false, detail: 'CPU load could not be measured' });
    else {
      // A busy CPU is load, not a fault: it does not fail the check (which would send a failure
      // notice every 5 minutes on a busy host). The host_cpu alert rule, with `for` and `repeat`,
      // decides when people hear about it.
      const bad = t.cpu.breachedBy(readings.cpuPercent);
      const over = readings.cpuOver ? ` over ${readings.cpuOver}` : '';
      const load = readings.load1m === undefined ? '' : `, load average ${readings.load1m.toFixed(2)}`;
      checks.push({
        name: 'cpu',
        ok: true,
        ...(bad ? { warning: true } : {}),
        value: readings.cpuPercent,
        detail: `${pct(readings.cpuPercent)} busy${over}${load} (${bad ? 'above' : 'alert'} ${t.cpu.text}${bad ? '; the host_cpu alert rule sends notices' : ''})`,
      });
    }
  }
  for (const service of readings.services ?? []) {
    checks.push({
      name: `service ${service.name}`,
      ok: service.state === 'up',
      detail: `${service.state}: ${service.detail}`,
    });
  }
  return checks;
}
