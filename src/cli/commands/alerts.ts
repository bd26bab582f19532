// `drydock alerts`: pending and firing alerts, their history, and silences.
import type { Command } from 'commander';
import { formatAlertHistory, formatAlertStates } from '../../alerts/format.js';
import { Silences } from '../../alerts/silences.js';
import { DrydockError } from '../../errors.js';
import { formatDuration } from '../../policy/phrases.js';
import { SqliteAlertStore } from '../../store/sqlite/alerts.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { durationValue, integerBetween } from '../options.js';

export function registerAlertCommands(program: Command): void {
  const alerts = program
    .command('alerts')
    .description('pending and firing alerts; --history for every transition and message sent')
    .option('--history', 'print the state history instead')
    .option('--rule <name>', 'only this rule')
    .option('--all', 'include inactive alerts')
    .option('--limit <n>', 'history entries (1-10000)', integerBetween(1, 10_000), 50)
    .option('--json', 'print JSON')
    .action(async (options: { history?: boolean; rule?: string; all?: boolean; limit: number; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const store = new SqliteAlertStore(app.store.db);
        if (options.history) {
          const rows = store.history({
            ...(options.rule ? { rule: options.rule } : {}),
            limit: options.limit,
          });
          return options.json ? printJson(rows) : print(formatAlertHistory(rows).trimEnd());
        }
        const states = store
          .states(options.rule ? { rule: options.rule } : {})
          .filter((s) => options.all || s.status !== 'inactive');
        if (options.json) return printJson(states);
        print(formatAlertStates(states).trimEnd());
        const silences = store.activeSilences(app.clock.now().getTime());
        for (const s of silences)
          print(
            `silenced: ${s.component} (#${s.id}, ${s.reason}${s.endsAt ? `, until ${new Date(s.endsAt).toISOString()}` : ''})`,
          );
      });
    });
  alerts
    .command('silence')
    .description(
      'silence alerts of a component (redis, redis:HOST:PORT, postgres, host, *) for a while; security alerts are never silenced',
    )
    .argument('<component>')
    .requiredOption('--for <duration>', 'how long, e.g. "2 hours"', durationValue)
    .option('--reason <text>', 'why', 'silenced from the command line')
    .action(async (component: string, options: { for: number; reason: string }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        // Silencing alerts is an operator's act, recorded under the name of their token (issue 9).
        const me = await app.access.require(
          await app.access.fromEnvironment(process.env, 'silencing alerts'),
          'operator',
          'silence alerts',
        );
        const silences = new Silences(new SqliteAlertStore(app.store.db), app.clock);
        const id = silences.begin(component, {
          reason: `${options.reason} (by ${me.name})`,
          endsAt: new Date(app.clock.now().getTime() + options.for),
        });
        await app.store.logActivity({
          at: app.clock.now(),
          kind: 'alert.silenced',
          actor: me.name,
          message: `${me.name} silenced ${component} for ${formatDuration(options.for)}: ${options.reason}`,
          data: { silenceId: id, component },
        });
        print(`silence #${id} on ${component} for ${formatDuration(options.for)}`);
      });
    });
  alerts
    .command('unsilence')
    .description('lift a silence by its number')
    .argument('<id>', 'silence number', integerBetween(1, Number.MAX_SAFE_INTEGER))
    .action(async (id: number) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const me = await app.access.require(
          await app.access.fromEnvironment(process.env, 'lifting a silence'),
          'operator',
          'lift a silence',
        );
        const lifted = new Silences(new SqliteAlertStore(app.store.db), app.clock).lift(id);
        if (!lifted) throw new DrydockError('CONFIG_INVALID', `no open silence #${id}`);
        await app.store.logActivity({
          at: app.clock.now(),
          kind: 'alert.unsilenced',
          actor: me.name,
          message: `${me.name} lifted silence #${id}`,
          data: { silenceId: id },
        });
        print(`silence #${id} lifted`);
      });
    });
}
