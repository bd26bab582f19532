import type { Command } from 'commander';
import { seedDemo } from '../../demo/seed.js';
import { loadPolicy } from '../../policy/load.js';
import { print, printJson, type GlobalOptions } from '../context.js';

export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description("Dokkerr's demo database, so maintenance has something to do");
  demo
    .command('seed')
    .description(
      "create Dokkerr's tables with realistic data and churn (dead tuples, index bloat); adds churn if they exist",
    )
    .option('--scale <n>', 'size: 1 ≈ 160k rows', '1')
    .option('--json', 'print JSON')
    .action(async (options: { scale: string; json?: boolean }) => {
      const scale = Number(options.scale);
      if (!Number.isFinite(scale) || scale <= 0 || scale > 1000)
        throw new Error(`--scale: expected a number between 0 and 1000, got "${options.scale}"`);
      const { policy } = loadPolicy(program.opts<GlobalOptions>().policy);
      const result = await seedDemo({
        target: policy.targets.postgres,
        scale,
        log: options.json ? () => undefined : print,
      });
      if (options.json) printJson(result);
    });
}
