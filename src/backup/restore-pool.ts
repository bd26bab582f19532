// Runs restore jobs (one file each) on worker threads, largest first. A job is "written" when the
// worker moves on and "durable" when its asynchronous fsync returns; the restore completes only
// when every file is durable.
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
  path: string;
  target: string;
  mode: number;
  crc: number;
  size: number;
  lastBackup: string;
  owner?: { uid: number; gid: number } | undefined;
  steps: Array<{ backup: string; kind: 'whole' | 'delta'; size: number; inline?: string | undefined; objects: RestoreJobObject[] }>;
}

interface Msg {
  type: 'written' | 'durable' | 'error' | 'closed';
  id?: number;
  message?: string;
  code?: string;
  validation?: boolean;
}

export async function runRestoreJobs(jobs: RestoreJob[], options: { workers: number; keyHex?: string | undefined; onDurable?: (job: RestoreJob) => void }): Promise<void> {
  const queue = [...jobs].sort((a, b) => b.size - a.size);
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const count = Math.max(1, Math.min(options.workers, jobs.length));
  const workers: Worker[] = [];
  const workerData = { zstdBindingPath: require.resolve('zstd-napi/binding.js'), hashWasmPath: require.resolve('hash-wasm'), key: options.keyHex };
  let pendingDurable = jobs.length;
  let failed: Error | undefined;

  const runOne = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(RESTORE_WORKER_SOURCE, { eval: true, workerData });
      workers.push(worker);
      let inFlight = 0;
      let closing = false;
      const next = () => {
        if (failed) return;
        const job = queue.shift();
        if (job) {
          inFlight++;
          worker.postMessage({ type: 'job', job });
        } else if (!closing) {
          closing = true;
          worker.postMessage({ type: 'close' });
        }
      };
      const finishIfDone = () => {
        if (closing && inFlight === 0) resolve();
      };
      worker.on('message', (msg: Msg) => {
        if (msg.type === 'written') next();
        else if (msg.type === 'durable') {
          inFlight--;
          pendingDurable--;
          options.onDurable?.(byId.get(msg.id!)!);
          finishIfDone();
        } else if (msg.type === 'closed') finishIfDone();
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
    await Promise.all(Array.from({ length: count }, () => runOne()));
    if (pendingDurable !== 0 && !failed) throw new Error(`${pendingDurable} restored file(s) not confirmed durable`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
