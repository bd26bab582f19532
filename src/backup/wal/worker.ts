// One worker thread of the background WAL pusher / prefetcher: opens the repository once, then
// pushes or fetches one file per message. zstd and SHA-256 are synchronous, so parallel pushes need
// threads; each thread keeps its own repository handle.
import { renameSync, writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../../errors.js';
import { openRepository } from '../repository.js';
import { findWal, pushWal, readWal } from '../wal-archive.js';
import { walKey, type WalArgs } from './cli.js';

export type Job = { op: 'push'; path: string; name: string } | { op: 'get'; name: string; dest: string };
export type WorkerJob = Job & { id: number };

export interface WorkerReply {
  id: number;
  /** push: 'stored' | 'duplicate'; get: 'fetched' | 'missing'. */
  outcome?: string;
  error?: string;
}

const args = workerData as WalArgs;
const repo = openRepository(
  { path: args.repo, compression: 'zstd', level: args.level, processes: 1, encryptionKey: walKey(args) },
  { create: false },
);

parentPort!.on('message', (job: WorkerJob) => {
  const reply: WorkerReply = { id: job.id };
  try {
    if (job.op === 'push') reply.outcome = pushWal(repo, job.path, job.name);
    else {
      const [wal] = findWal(repo, job.name);
      if (!wal) reply.outcome = 'missing';
      else {
        // Verified (zstd frame checksum and SHA-256) before it is put where `wal get` takes it.
        const content = readWal(repo, wal);
        const tmp = `${job.dest}.tmp`;
        writeFileSync(tmp, content, { mode: 0o600 });
        renameSync(tmp, job.dest);
        reply.outcome = 'fetched';
      }
    }
  } catch (error) {
    reply.error = describeError(error);
  }
  parentPort!.postMessage(reply);
});
