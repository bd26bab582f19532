// Pure: host readings against the spec's thresholds → named checks.
import type { Threshold } from '../../policy/values.js';
import type { DiskUsage, MemoryUsage } from '../../host/sample.js';
import type { ServiceStatus } from '../../host/services.js';

export interface HostReadings {
  disks?: DiskUsage[];
  memory?: MemoryUsage;
  /** Busy percent over the sample, null if it could not be measured. */
  cpuPercent?: number | null;
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
      const bad = t.cpu.breachedBy(readings.cpuPercent);
      const load = readings.load1m === undefined ? '' : `, load average ${readings.load1m.toFixed(2)}`;
      checks.push({
        name: 'cpu',
        ok: !bad,
        value: readings.cpuPercent,
        detail: `${pct(readings.cpuPercent)} busy${load} (alert ${t.cpu.text})`,
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
