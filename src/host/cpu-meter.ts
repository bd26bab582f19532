// How busy the CPU has been, measured over the interval since the previous reading rather than
// over one short sample: a one-second sample on a busy host says "busy" whenever it happens to
// land on a burst. The first reading in a process has no previous snapshot and falls back to the
// 5-minute load average against the number of cores.
import { cpus, loadavg } from 'node:os';
import { cpuPercent, cpuSnapshot, type CpuSnapshot } from './sample.js';

export interface CpuReading {
  /** Busy share of all cores, 0-100. */
  busyPercent: number;
  /** What the figure covers, for people: "the last 5 min 0 s" or "the 5-minute load average 1.20 on 2 cores". */
  over: string;
}

/** Shorter than this since the previous snapshot and the interval is too short to mean anything. */
const MIN_INTERVAL_MS = 10_000;

export class CpuMeter {
  private last: { snapshot: CpuSnapshot; at: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  read(): CpuReading {
    const snapshot = cpuSnapshot();
    const at = this.now();
    const previous = this.last;
    if (!previous || at - previous.at >= MIN_INTERVAL_MS) this.last = { snapshot, at };
    if (previous && at - previous.at >= MIN_INTERVAL_MS) {
      const busy = cpuPercent(previous.snapshot, snapshot);
      if (busy !== null) return { busyPercent: busy, over: `the last ${span(at - previous.at)}` };
    }
    const cores = Math.max(1, cpus().length);
    const load5 = loadavg()[1] ?? 0;
    return {
      busyPercent: Math.min(100, (load5 / cores) * 100),
      over: `the 5-minute load average ${load5.toFixed(2)} on ${cores} core${cores === 1 ? '' : 's'}`,
    };
  }
}

function span(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** One meter per process: the daemon's health checks then measure the 5 minutes between them. */
export const processCpuMeter = new CpuMeter();
