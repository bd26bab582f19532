// The background process of asynchronous archiving (`pusher`) or of prefetch during recovery
// (`prefetcher`), started detached by `wal push --async` / `wal get --prefetch` (see spool.ts).
import type { WalArgs } from './cli.js';
import { runPrefetcher, runPusher } from './spool.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as { role: 'pusher' | 'prefetcher'; args: WalArgs; pgWal?: string };
const run = spec.role === 'pusher' ? runPusher(spec.args, spec.pgWal!) : runPrefetcher(spec.args);
run.then(
  () => process.exit(0),
  () => process.exit(1),
);
