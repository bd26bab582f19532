// Host metrics for one collection round.
import { cpuPercent, cpuSnapshot, diskUsage, loadAverage1m, memoryUsage, type CpuSnapshot } from '../host/sample.js';
import { serviceStatus, type ServiceSpec } from '../host/services.js';
import type { MetricValue } from './types.js';

export interface HostCollectorConfig {
  mounts: readonly string[];
  services: readonly ServiceSpec[];
}

/** Keeps the previous CPU snapshot so each round reports the busy share since the last one. */
export class HostCollector {
  private cpu: CpuSnapshot = cpuSnapshot();

  constructor(private readonly config: HostCollectorConfig) {}

  async collect(): Promise<MetricValue[]> {
    const out: MetricValue[] = [];
    const [disks, memory, services] = await Promise.all([
      diskUsage(this.config.mounts),
      memoryUsage(),
      Promise.all(this.config.services.map((s) => serviceStatus(s))),
    ]);
    for (const d of disks) {
      const labels = { mount: d.mount };
      out.push({ name: 'host_disk_used_ratio', labels, value: d.usedPercent / 100 });
      out.push({ name: 'host_disk_used_bytes', labels, value: d.usedBytes });
      out.push({ name: 'host_disk_size_bytes', labels, value: d.sizeBytes });
    }
    out.push({ name: 'host_memory_used_ratio', labels: {}, value: memory.usedPercent / 100 });
    out.push({ name: 'host_memory_total_bytes', labels: {}, value: memory.totalBytes });
    const now = cpuSnapshot();
    const busy = cpuPercent(this.cpu, now);
    this.cpu = now;
    if (busy !== null) out.push({ name: 'host_cpu_busy_ratio', labels: {}, value: busy / 100 });
    out.push({ name: 'host_load1', labels: {}, value: loadAverage1m() });
    for (const s of services) {
      // An unknown state (e.g. no systemd here) is a gap, not a 0.
      if (s.state !== 'unknown')
        out.push({
          name: 'host_service_up',
          labels: { service: s.name, kind: s.kind },
          value: s.state === 'up' ? 1 : 0,
        });
    }
    return out;
  }
}
