// Host readings: disk per mount, memory, CPU. CPU is the busy share between two snapshots of
// os.cpus() (pure arithmetic, no shelling out); disks come from systeminformation.
import { cpus, loadavg, totalmem } from 'node:os';
import si from 'systeminformation';

export interface CpuSnapshot {
  idle: number;
  total: number;
}

export function cpuSnapshot(): CpuSnapshot {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Busy percent between two snapshots; null when no time passed. */
export function cpuPercent(before: CpuSnapshot, after: CpuSnapshot): number | null {
  const total = after.total - before.total;
  if (total <= 0) return null;
  return Math.min(100, Math.max(0, ((total - (after.idle - before.idle)) / total) * 100));
}

export interface DiskUsage {
  mount: string;
  fs: string;
  type: string;
  sizeBytes: number;
  usedBytes: number;
  usedPercent: number;
}

const PSEUDO_TYPES = new Set([
  'tmpfs',
  'devtmpfs',
  'squashfs',
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'devpts',
  'mqueue',
  'nsfs',
  'ramfs',
]);

/** Real file systems, one row per device (bind mounts of the same device collapse to the shortest mount path). */
export function selectDisks(rows: DiskUsage[], mounts: readonly string[]): DiskUsage[] {
  if (mounts.length > 0) return rows.filter((r) => mounts.includes(r.mount));
  const byDevice = new Map<string, DiskUsage>();
  for (const row of rows) {
    if (row.sizeBytes <= 0 || PSEUDO_TYPES.has(row.type) || /^\/(proc|sys|dev)(\/|$)/.test(row.mount)) continue;
    const seen = byDevice.get(row.fs);
    if (!seen || row.mount.length < seen.mount.length) byDevice.set(row.fs, row);
  }
  return [...byDevice.values()].sort((a, b) => a.mount.localeCompare(b.mount));
}

export async function diskUsage(mounts: readonly string[] = []): Promise<DiskUsage[]> {
  const rows = (await si.fsSize()).map((r) => ({
    mount: r.mount,
    fs: r.fs,
    type: r.type,
    sizeBytes: r.size,
    usedBytes: r.used,
    // Like df: used / (used + available), so reserved blocks count as full.
    usedPercent: r.used + r.available > 0 ? (r.used / (r.used + r.available)) * 100 : 0,
  }));
  return selectDisks(rows, mounts);
}

export interface MemoryUsage {
  totalBytes: number;
  availableBytes: number;
  usedPercent: number;
}

export async function memoryUsage(): Promise<MemoryUsage> {
  const m = await si.mem();
  const total = m.total || totalmem();
  const available = m.available;
  return {
    totalBytes: total,
    availableBytes: available,
    usedPercent: total > 0 ? ((total - available) / total) * 100 : 0,
  };
}

export function loadAverage1m(): number {
  return loadavg()[0] ?? 0;
}
