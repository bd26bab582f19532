import type { Command } from 'commander';
import { DEMO_DATABASE } from '../../demo/infrastructure.js';
import { seedDemo } from '../../demo/seed.js';
import { loadPolicy } from '../../policy/load.js';
import { print, printJson, type GlobalOptions } from '../context.js';
import { numberUpTo } from '../options.js';

export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description("Dokkerr's demo database, so maintenance has something to do");
  demo
    .command('seed')
    .description(
      "create a demo database with Dokkerr's tables, realistic data and churn (dead tuples, index bloat); adds churn if it exists",
    )
    .option('--scale <n>', 'size: 1 ≈ 160k rows (up to 1000)', numberUpTo(1000), 1)
    .option(
      '--database <name>',
      `the demo database on the policy's PostgreSQL server; created and marked as a demo if missing, refused if it exists unmarked`,
      DEMO_DATABASE,
    )
    .option('--json', 'print JSON')
    .action(async (options: { scale: number; database: string; json?: boolean }) => {
      const scale = options.scale;
      const { policy } = loadPolicy(program.opts<GlobalOptions>().policy);
      const result = await seedDemo({
        target: { ...policy.targets.postgres, database: options.database },
        scale,
        log: options.json ? () => undefined : print,
      });
      if (options.json) printJson(result);
    });
}
