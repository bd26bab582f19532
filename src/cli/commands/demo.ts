import type { Command } from 'commander';
import { seedDemo } from '../../demo/seed.js';
import { loadPolicy } from '../../policy/load.js';
import { print, printJson, type GlobalOptions } from '../context.js';
import { numberUpTo } from '../options.js';

export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description("Dokkerr's demo database, so maintenance has something to do");
  demo
    .command('seed')
    .description(
      "create Dokkerr's tables with realistic data and churn (dead tuples, index bloat); adds churn if they exist",
    )
    .option('--scale <n>', 'size: 1 ≈ 160k rows (up to 1000)', numberUpTo(1000), 1)
    .option('--json', 'print JSON')
    .action(async (options: { scale: number; json?: boolean }) => {
      const scale = options.scale;
      const { policy } = loadPolicy(program.opts<GlobalOptions>().policy);
      const result = await seedDemo({
        target: policy.targets.postgres,
        scale,
        log: options.json ? () => undefined : print,
      });
      if (options.json) printJson(result);
    });
}
