// A minimal command line for archive_command/restore_command that needs no policy file:
//   tsx src/backup/wal-command.ts push %p %f --repo /path [--key-env NAME]
//   tsx src/backup/wal-command.ts get %f %p --repo /path [--key-env NAME]
// The full CLI (`drydock wal push|get`) calls the same functions with the policy's repository.
// Exit codes follow PostgreSQL's expectations: 0 done, 1 not found / failed (PostgreSQL retries).
import { describeError } from '../errors.js';
import { getWal, pushWal } from './wal-archive.js';
import { openRepository } from './repository.js';

function main(argv: string[]): number {
  const [verb, a, b] = argv;
  const option = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repoPath = option('--repo');
  if (!verb || !a || !b || !repoPath) {
    process.stderr.write('usage: wal-command push <path> <name> --repo DIR | get <name> <dest> --repo DIR\n');
    return 2;
  }
  const keyEnv = option('--key-env');
  const settings = {
    path: repoPath,
    compression: 'zstd' as const,
    level: Number(option('--level') ?? 1),
    processes: 1,
    encryptionKey: keyEnv ? process.env[keyEnv] : undefined,
  };
  try {
    if (verb === 'push') {
      pushWal(openRepository(settings, { create: true }), a, b);
      return 0;
    }
    if (verb === 'get') return getWal(openRepository(settings), a, b) ? 0 : 1;
    process.stderr.write(`unknown verb ${verb}\n`);
    return 2;
  } catch (error) {
    process.stderr.write(`drydock wal ${verb}: ${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
