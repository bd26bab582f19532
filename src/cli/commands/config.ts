import type { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { dirname } from 'node:path';
import { cleanupRootProblems } from '../../policy/cleanup-roots.js';
import { loadPolicy, parsePolicy, PolicyError, statePath } from '../../policy/load.js';
import { policySchema } from '../../policy/schema.js';
import { redactor } from '../../policy/redact.js';
import { toPhrases } from '../../policy/values.js';
import { windowsPolicyProblems } from '../../windows/policy-check.js';
import { buildChannels } from '../../notify/channels/registry.js';
import { createLogger } from '../../logger.js';
import { print, printJson, type GlobalOptions } from '../context.js';

export function policyJsonSchema(): unknown {
  return z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' });
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check, print and describe the policy file');
  config
    .command('check')
    .description('validate the policy; exits 2 and lists every problem if it is invalid')
    .action(() => {
      const global = program.opts<GlobalOptions>();
      const loaded = loadPolicy(global.policy);
      // Checks that need the file system: clean-up roots resolved with realpath (issue 9).
      const cleanup = loaded.policy.server.cleanup;
      const rootProblems = cleanupRootProblems(cleanup.roots, cleanup.allowed_prefixes, [
        loaded.baseDir,
        dirname(statePath(loaded)),
      ]);
      if (rootProblems.length) throw new PolicyError(loaded.file, rootProblems);
      print(`${loaded.file ?? 'built-in defaults'}: ok`);
      // The same warnings `drydock start` prints: valid, but probably not what was meant, or a channel
      // this environment cannot build (a secret not set): its messages would be recorded as failed.
      const { problems } = buildChannels(loaded.policy, {
        logger: createLogger('silent'),
        env: process.env,
        statusPage: { publish: () => undefined },
      });
      for (const warning of [...windowsPolicyProblems(loaded.policy), ...problems])
        process.stderr.write(`warning: ${warning}\n`);
    });
  config
    .command('print')
    .description('print the effective policy (with --defaults: the built-in defaults, i.e. the spec)')
    .option('--defaults', 'print the defaults instead of the effective policy')
    .option('--json', 'print JSON instead of YAML')
    .action((options: { defaults?: boolean; json?: boolean }) => {
      const global = program.opts<GlobalOptions>();
      const policy = options.defaults ? parsePolicy({}) : loadPolicy(global.policy).policy;
      // The resolved values print as the phrases they were written as.
      const safe = redactor.value(toPhrases(policy));
      if (options.json) printJson(safe);
      else print(stringify(safe, { lineWidth: 120 }).trimEnd());
    });
  config
    .command('schema')
    .description('print the JSON Schema of the policy file (for editors)')
    .action(() => printJson(policyJsonSchema()));
}
