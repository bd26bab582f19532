// Runs copy tasks on worker threads (one per core by default). Work is pulled, largest first, so a
// big relation file split into ranges keeps both workers busy to the end instead of capping the
// gain the way whole-file parallelism does.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DrydockError } from '../errors.js';
import { COPY_WORKER_SOURCE } from './copy-worker-source.js';
import type { Reference } from './reference.js';

const require = createRequire(import.meta.url);

export interface CopyTask {
  id: number;
  abs: string;
  offset: number;
  /** Bytes to read; -1 reads to the end of the file (the last range of a file that may still grow). */
  length: number;
  /** Page-level incremental: keep pages with LSN >= since (a plain number, exact below 2^53). null copies everything. */
  since: number | null;
  /** Blocks at or past this index are always kept (the file grew after the parent backup). */
  alwaysFromBlock: number;
  /** Block number of the file's first page in its relation (segment number × 131072), for page checksums. */
  blockBase: number;
  /** Exact mode: the parent's version of this range, compared page by page (see reference.ts). */
  ref?: Reference | undefined;
  /** Exact mode on a main fork of a cluster with data checksums: skip pages whose LSN predates the parent and whose checksum holds. */
  lsnShortcut?: boolean;
  /** Verify PostgreSQL page checksums while copying (relation files of a cluster with data checksums). */
  checkPages?: boolean;
  /** The backup's start LSN: a page newer than this may be mid-write, not corrupt. */
  startLsn?: number;
}

export interface StoredObject {
  pack: number;
  offset: number;
  length: number;
  sha256: string;
}

export interface CopyResult {
  id: number;
  missing?: boolean;
  size: number;
  crc: number;
  object: StoredObject | null;
  /** Kept pages as [first block, count] runs, for page-level incrementals. */
  blocks?: Array<[number, number]>;
  /** Pages kept only because their checksum failed (read while being written). */
  torn?: number;
  /** Set in exact mode: pages below this block number are stored XOR the parent page. */
  xorBelow?: number;
  /** Blocks whose page checksum failed twice with an LSN older than the backup start: corruption. */
  badPages?: number[];
}

export interface CopyPoolOptions {
  workers: number;
  level: number;
  /** Folder the pack files go into: pack-<n>.dat, one per worker. */
  dir: string;
  /** Hex AES-256 key, or undefined for no encryption. */
  keyHex?: string | undefined;
  chunkSize?: number;
  signal?: AbortSignal | undefined;
  onResult?: (result: CopyResult, task: CopyTask) => void;
}

export function packFileName(pack: number): string {
  return `pack-${pack}.dat`;
}

interface WorkerMessage {
  type: 'result' | 'error' | 'finished';
  result?: Omit<CopyResult, 'object'> & { object: Omit<StoredObject, 'pack'> | null };
  id?: number;
  message?: string;
  code?: string;
  size?: number;
}

/** Copies every task, then fsyncs and closes each pack file. Returns results by task id and pack sizes. */
export async function runCopyTasks(
  tasks: CopyTask[],
  options: CopyPoolOptions,
): Promise<{ results: Map<number, CopyResult>; packSizes: number[] }> {
  const queue = [...tasks];
  const results = new Map<number, CopyResult>();
  const packSizes: number[] = [];
  const count = Math.max(1, Math.min(options.workers, Math.max(1, tasks.length)));
  const workers: Worker[] = [];
  const workerData = {
    zstdBindingPath: require.resolve('zstd-napi/binding.js'),
    hashWasmPath: require.resolve('hash-wasm'),
    level: options.level,
    chunkSize: options.chunkSize ?? 1024 * 1024,
    key: options.keyHex,
  };

  const runOne = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(COPY_WORKER_SOURCE, {
        eval: true,
        workerData: { ...workerData, packPath: join(options.dir, packFileName(index)) },
      });
      workers.push(worker);
      // Two tasks in flight per worker, so a worker never idles waiting for the main thread to
      // hand it the next small file.
      const inFlight = new Map<number, CopyTask>();
      let finishing = false;
      const next = () => {
        if (options.signal?.aborted) {
          reject(new DrydockError('ABORTED', 'backup aborted'));
          return;
        }
        const task = queue.shift();
        if (task) {
          inFlight.set(task.id, task);
          worker.postMessage({ type: 'task', task });
        } else if (inFlight.size === 0 && !finishing) {
          finishing = true;
          worker.postMessage({ type: 'finish' });
        }
      };
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'result' && msg.result) {
          const r = msg.result;
          const task = inFlight.get(r.id)!;
          inFlight.delete(r.id);
          const result: CopyResult = { ...r, object: r.object ? { ...r.object, pack: index } : null };
          results.set(r.id, result);
          options.onResult?.(result, task);
          next();
        } else if (msg.type === 'finished') {
          packSizes[index] = msg.size ?? 0;
          void worker.terminate();
          resolve();
        } else if (msg.type === 'error') {
          const hint =
            msg.code === 'ENOSPC'
              ? 'the repository disk is full; free space or move the repository (backup.repository.path)'
              : undefined;
          const failedTask = msg.id !== undefined ? inFlight.get(msg.id) : undefined;
          reject(
            new DrydockError('EXEC_FAILED', `copying ${failedTask?.abs ?? 'pack'} failed: ${msg.message}`, {
              hint,
              details: { code: msg.code },
            }),
          );
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        if (code !== 0) reject(new Error(`copy worker exited with code ${code}`));
      });
      next();
      next();
    });

  try {
    await Promise.all(Array.from({ length: count }, (_, i) => runOne(i)));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { results, packSizes };
}
