// Runs restore range jobs on worker threads, largest first, and hands each result (the range's
// CRC-32C) back to the caller, which finishes a file once all its ranges are written.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DrydockError } from '../errors.js';
import { RESTORE_WORKER_SOURCE } from './restore-worker-source.js';

const require = createRequire(import.meta.url);

export interface RestoreJobObject {
  packPath: string;
  offset: number;
  length: number;
  sha256: string;
  rawOffset?: number | undefined;
  blocks?: Array<[number, number]> | undefined;
  xorBelow?: number | undefined;
}

export interface RestoreJob {
  id: number;
  /** Index of the file in the caller's list. */
  file: number;
  path: string;
  target: string;
  /** The grid range this job owns: writes are clipped to [start, end). */
  start: number;
  end: number;
  /** The CRC covers [start, crcEnd): the part of the range inside the final file size. */
  crcEnd: number;
  steps: Array<{ backup: string; kind: 'whole' | 'delta'; objects: RestoreJobObject[] }>;
}

interface Msg {
  type: 'done' | 'error' | 'closed';
  id?: number;
  crc?: number;
  length?: number;
  message?: string;
  code?: string;
  validation?: boolean;
}

export async function runRestoreJobs(
  jobs: RestoreJob[],
  options: {
    workers: number;
    keyHex?: string | undefined;
    onDone: (job: RestoreJob, crc: number, length: number) => void;
  },
): Promise<void> {
  const queue = [...jobs].sort((a, b) => b.crcEnd - b.start - (a.crcEnd - a.start));
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const count = Math.max(1, Math.min(options.workers, jobs.length));
  const workers: Worker[] = [];
  const workerData = {
    zstdBindingPath: require.resolve('zstd-napi/binding.js'),
    hashWasmPath: require.resolve('hash-wasm'),
    key: options.keyHex,
  };
  let failed: Error | undefined;

  const runOne = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(RESTORE_WORKER_SOURCE, { eval: true, workerData });
      workers.push(worker);
      const next = () => {
        if (failed) return;
        const job = queue.shift();
        if (job) worker.postMessage({ type: 'job', job });
        else worker.postMessage({ type: 'close' });
      };
      worker.on('message', (msg: Msg) => {
        if (msg.type === 'done') {
          options.onDone(byId.get(msg.id!)!, msg.crc!, msg.length!);
          next();
        } else if (msg.type === 'closed') resolve();
        else if (msg.type === 'error') {
          const job = byId.get(msg.id ?? -1);
          const message = msg.message ?? 'restore failed';
          failed = msg.validation
            ? new DrydockError('VALIDATION_FAILED', message, { details: { file: job?.path } })
            : new DrydockError('EXEC_FAILED', `restoring ${job?.path ?? 'a file'} failed: ${message}`, {
                hint: msg.code === 'ENOSPC' ? 'the restore target disk is full' : undefined,
                details: { code: msg.code },
              });
          reject(failed);
        }
      });
      worker.on('error', reject);
      next();
    });
  try {
    if (jobs.length > 0) await Promise.all(Array.from({ length: count }, () => runOne()));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
