// `drydock tls check | list | renew`: the TLS endpoints and certificates of the policy, by hand.
// `check` connects now and prints what each endpoint serves (nothing recorded); `list` reads the
// certificate files and says when each is due; `renew` runs network.ssl.renewal through the full
// lifecycle, like `drydock run network.ssl.renewal`.
import type { Command } from 'commander';
import { describeError } from '../../errors.js';
import { renewalDue } from '../../network/tls/due.js';
import { checkTargets, endpointTargets } from '../../network/tls/endpoints.js';
import { readLeaf } from '../../network/tls/files.js';
import { describeReport } from '../../tasks/network/ssl-validation.js';
import { describeRun, table } from '../format.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { runExitCode, runInForeground } from '../run-task.js';

export function registerTlsCommands(program: Command): void {
  const tls = program.command('tls').description('TLS endpoints and certificates: check, list, renew');

  tls
    .command('check')
    .description('connect to every TLS endpoint of the policy now and print what it serves (exit 1 on a problem)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const policy = app.loaded.policy;
        const targets = endpointTargets(policy);
        const reports = await checkTargets(policy, targets);
        const alerted = new Set<string>(policy.network.ssl.validation.alerts);
        const bad = reports.filter((r) => !r.reachable || r.problems.some((p) => alerted.has(p.kind)));
        if (options.json) printJson(reports);
        else if (targets.length === 0)
          print('no TLS endpoint in the policy (network.ssl.validation.endpoints, network.ssl.renewal.certificates)');
        else for (const r of reports) print([`${r.name}:`, ...describeReport(r).map((l) => `  ${l}`)].join('\n'));
        if (bad.length > 0) process.exitCode = 1;
      });
    });

  tls
    .command('list')
    .description('the certificates Drydock renews: files, days left and when each is due')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const renewal = app.loaded.policy.network.ssl.renewal;
        const now = app.clock.now();
        const rows = renewal.certificates.map((c) => {
          try {
            const leaf = readLeaf(c.cert_file);
            const decision = renewalDue(leaf, c.domains, renewal.threshold.ms, now);
            return {
              name: c.name,
              domains: c.domains,
              challenge: c.challenge,
              certFile: c.cert_file,
              notAfter: leaf ? new Date(leaf.validTo).toISOString() : null,
              daysLeft: decision.daysLeft ?? null,
              dueAt: decision.dueAt?.toISOString() ?? null,
              due: decision.due,
              reason: decision.reason,
            };
          } catch (error) {
            return { name: c.name, domains: c.domains, certFile: c.cert_file, due: true, reason: describeError(error) };
          }
        });
        if (options.json) return printJson(rows);
        if (rows.length === 0) return print('no certificate in the policy (network.ssl.renewal.certificates)');
        print(
          table(
            ['NAME', 'DOMAINS', 'DAYS LEFT', 'DUE', 'STATE'],
            rows.map((r) => [
              r.name,
              r.domains.join(','),
              'daysLeft' in r && r.daysLeft !== null ? String(r.daysLeft) : '-',
              'dueAt' in r && r.dueAt ? r.dueAt : '-',
              r.due ? `due: ${r.reason}` : 'not due',
            ]),
          ).trimEnd(),
        );
      });
    });

  tls
    .command('renew')
    .description('run network.ssl.renewal now (renews the certificates that are due), through the full lifecycle')
    .option('--json', 'print the run record as JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const run = await runInForeground(app, 'network.ssl.renewal');
        const steps = await app.store.listSteps(run.id);
        if (options.json) printJson({ ...run, steps });
        else print(describeRun(run, steps));
        process.exitCode = runExitCode(run);
      });
    });
}
