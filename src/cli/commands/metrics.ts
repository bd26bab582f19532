// `drydock metrics [SERIES] [--since 24h]` and `drydock metrics collect`: recent values in the terminal.
import { Option, type Command } from 'commander';
import { DrydockError } from '../../errors.js';
import { formatPoints, formatSeriesList, parseSeriesSelector } from '../../metrics/format.js';
import { SqliteMetricsStore } from '../../store/sqlite/metrics.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { durationValue } from '../options.js';

export function registerMetricsCommands(program: Command): void {
  const metrics = program
    .command('metrics')
    .description(
      'list collected series with their latest value, or print one series (e.g. redis_keys{target="127.0.0.1:6379"})',
    )
    .argument('[series]', 'a metric name, optionally with labels')
    .option('--since <duration>', 'how far back to print one series, e.g. "24 hours"', durationValue, 86_400_000)
    .addOption(
      new Option('--resolution <r>', 'raw, 5m, 1h or auto').choices(['raw', '5m', '1h', 'auto']).default('auto'),
    )
    .option('--json', 'print JSON')
    .action(async (series: string | undefined, options: { since: number; resolution: string; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const store = new SqliteMetricsStore(app.store.db);
        const now = app.clock.now().getTime();
        const selector = series ? parseSeriesSelector(series) : null;
        if (series && !selector)
          throw new DrydockError('CONFIG_INVALID', `cannot read series ${JSON.stringify(series)}`, {
            hint: 'write it like redis_keys or redis_keys{target="127.0.0.1:6379"}',
          });
        const matching = selector
          ? store
              .series(selector.name)
              .filter((s) => Object.entries(selector.labels).every(([k, v]) => s.labels[k] === v))
          : [];
        if (!selector || matching.length !== 1) {
          if (options.json) return printJson(selector ? matching : store.series());
          const list = formatSeriesList(store, now, selector?.name);
          return print(matching.length > 1 ? `${list}Several series match; add labels to pick one.` : list.trimEnd());
        }
        const resolution = options.resolution as 'raw' | '5m' | '1h' | 'auto';
        const read = store.read(matching[0]!.name, matching[0]!.labels, {
          since: now - options.since,
          until: now,
          resolution,
        });
        if (options.json) return printJson(read);
        print(formatPoints(read.points, read.resolution).trimEnd());
      });
    });
  metrics
    .command('collect')
    .description('collect one round of host, Redis and PostgreSQL metrics now and evaluate the alert rules')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const report = await app.monitoring.collector.collectOnce();
        if (options.json)
          return printJson({
            at: new Date(report.at).toISOString(),
            targets: report.targets,
            samples: report.samples.length,
          });
        for (const t of report.targets)
          print(`${t.up ? 'up  ' : 'DOWN'} ${t.kind} ${t.target}${t.error ? `: ${t.error}` : ''}`);
        print(`${report.samples.length} samples stored in ${report.durationMs.toFixed(0)} ms`);
        if (report.targets.some((t) => !t.up)) process.exitCode = 1;
      });
    });
}
