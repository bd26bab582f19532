#!/usr/bin/env node
// The `drydock` command. Each command lives in its own file under commands/.
import { Command, CommanderError } from 'commander';
import { DrydockError, describeError } from '../errors.js';
import { PolicyError } from '../policy/load.js';
import { redactor } from '../policy/redact.js';
import { registerConfigCommands } from './commands/config.js';
import type { GlobalOptions } from './context.js';
import { registerDemoCommands } from './commands/demo.js';
import { registerAlertCommands } from './commands/alerts.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerFirewallCommands, registerNetworkCommands } from './commands/network.js';
import { registerDepsCommands } from './commands/deps.js';
import { registerMetricsCommands } from './commands/metrics.js';
import { registerRunCommands } from './commands/runs.js';
import { registerStartCommand } from './commands/start.js';
import { registerTaskCommands } from './commands/tasks.js';
import { registerWindowsCommands } from './commands/windows.js';
import { registerSecurityCommands } from './commands/security.js';
import { registerTlsCommands } from './commands/tls.js';
import { openApp } from '../app.js';
import { createLogger } from '../logger.js';

export function buildProgram(): Command {
  const program = new Command('drydock')
    .description("Drydock: schedules, runs, validates and records the platform's maintenance from one policy file")
    .option(
      '-p, --policy <file>',
      'policy file (default: $DRYDOCK_POLICY, else ./drydock.yaml, else the built-in defaults)',
    )
    .showHelpAfterError()
    // Before the commands are added, so every subcommand inherits it: a usage error throws a
    // CommanderError (exit 2 below) instead of exiting with commander's own code 1.
    .exitOverride();
  registerStartCommand(program);
  registerRunCommands(program);
  registerTaskCommands(program);
  registerConfigCommands(program);
  registerDemoCommands(program);
  registerMetricsCommands(program);
  registerAlertCommands(program);
  registerBackupCommands(program);
  registerNetworkCommands(program);
  registerFirewallCommands(program);
  registerSecurityCommands(program);
  registerDepsCommands(program);
  registerTlsCommands(program);
  registerWindowsCommands(program, async () => {
    const policy = program.opts<GlobalOptions>().policy;
    const app = await openApp({
      ...(policy ? { policyPath: policy } : {}),
      logger: createLogger(process.env.DRYDOCK_LOG_LEVEL ?? 'warn'),
    });
    return { module: app.windows, close: () => app.close() };
  });
  return program;
}

/** Errors that mean "the command or the policy was wrong", not "the work failed": exit 2. */
const USAGE_CODES = new Set<string>(['CONFIG_INVALID', 'USAGE', 'TASK_UNKNOWN']);

/** Exit codes: 0 ok, 1 a run or command failed, 2 invalid policy or usage, 3 a run was skipped. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof PolicyError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    const code = error instanceof DrydockError ? ` [${error.code}]` : '';
    process.stderr.write(`drydock: ${redactor.text(describeError(error))}${code}\n`);
    process.exitCode = error instanceof DrydockError && USAGE_CODES.has(error.code) ? 2 : 1;
  }
}

// `drydock plan | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await main(process.argv);
