// Progress of a backup or restore on a terminal: bytes and files done, rate and time left, like
// restore's bar. `backup run` goes through the engine, so the CLI hands its bar to the backup task
// through the listener below (one foreground run per process).
import cliProgress from 'cli-progress';

export interface Progress {
  bytes: number;
  totalBytes: number;
  files: number;
  totalFiles: number;
}

export type ProgressListener = (p: Progress) => void;

let listener: ProgressListener | undefined;

/** Sets the listener the backup task reports to; returns a function that removes it. */
export function setBackupProgressListener(l: ProgressListener): () => void {
  listener = l;
  return () => {
    if (listener === l) listener = undefined;
  };
}

export function backupProgressListener(): ProgressListener | undefined {
  return listener;
}

const MIB = 1048576;

/** A bar on `stream` (a terminal): "backup [████░░] 42% | 120.0/285.3 MiB | 310/1204 files | 55.1 MiB/s | 3s left". */
export function terminalProgress(
  label: string,
  stream: NodeJS.WritableStream = process.stderr,
): { update: ProgressListener; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {mib}/{totalMib} MiB | {files}/{totalFiles} files | {rate} MiB/s | {left} left`,
      stream,
      hideCursor: false,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let started = false;
  return {
    update(p) {
      const seconds = Math.max(0.001, (Date.now() - t0) / 1000);
      const rate = p.bytes / MIB / seconds;
      const left = rate > 0 ? Math.ceil((p.totalBytes - p.bytes) / MIB / rate) : 0;
      const payload = {
        mib: (p.bytes / MIB).toFixed(1),
        totalMib: (p.totalBytes / MIB).toFixed(1),
        files: p.files,
        totalFiles: p.totalFiles,
        rate: rate.toFixed(1),
        left: `${left}s`,
      };
      if (!started) {
        bar.start(Math.max(1, p.totalBytes), p.bytes, payload);
        started = true;
      } else bar.update(p.bytes, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
