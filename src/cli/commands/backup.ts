// `drydock backup …`, `drydock restore …` and `drydock wal push|get`. Backups that Drydock
// schedules run through the engine (so they are gated, locked, recorded and notified like every
// task); restore and the WAL commands act directly, because PostgreSQL or a person waits on them.
import type { Command } from 'commander';
import {
  damagedCatalogEntries,
  expireBackups,
  listDatabaseBackups,
  restoreDatabase,
  verifyRepository,
  walGet,
  walPush,
} from '../../backup/commands.js';
import { registerFilesBackupCommands } from '../../backup/files/cli.js';
import { EXIT_FAILED, EXIT_STOP_RECOVERY } from '../../backup/wal/cli.js';
import { archiveCommand, confValue, restoreCommand } from '../../backup/wal/command-line.js';
import { describeError } from '../../errors.js';
import { setBackupProgressListener, terminalProgress } from '../../backup/progress.js';
import { loadPolicy } from '../../policy/load.js';
import { describeRun, table } from '../format.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { momentValue } from '../options.js';
import { describeExpire, describeRestore, describeVerify } from '../../backup/describe.js';
import { runExitCode, runInForeground } from '../run-task.js';

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** Like `drydock run`: Ctrl-C or SIGTERM aborts the run cleanly and it is recorded as interrupted. */
async function runTask(
  program: Command,
  taskId: string,
  json: boolean | undefined,
  options: { progress?: boolean } = {},
): Promise<void> {
  await withApp(program.opts<GlobalOptions>(), async (app) => {
    // On a terminal, a backup shows bytes and files done, rate and time left (not with --json).
    const bar = options.progress && !json && process.stderr.isTTY ? terminalProgress('backup') : undefined;
    const unset = bar ? setBackupProgressListener(bar.update) : undefined;
    let run;
    try {
      run = await runInForeground(app, taskId);
    } finally {
      unset?.();
      bar?.stop();
    }
    const steps = await app.store.listSteps(run.id);
    if (json) printJson({ ...run, steps });
    else print(describeRun(run, steps));
    process.exitCode = runExitCode(run);
  });
}

export function registerBackupCommands(program: Command): void {
  const policy = () => loadPolicy(program.opts<GlobalOptions>().policy).policy;
  const backup = program
    .command('backup')
    .description('PostgreSQL, Redis and file backups: take, list, verify, expire');

  backup
    .command('run')
    .description('take a PostgreSQL backup now, through the full lifecycle (full unless --incremental)')
    .option('--incremental', 'only the pages changed since the previous backup')
    .option('--no-progress', 'no progress bar on a terminal')
    .option('--json', 'print JSON')
    .action((options: { incremental?: boolean; json?: boolean; progress: boolean }) =>
      runTask(program, options.incremental ? 'backup.database.incremental' : 'backup.database.full', options.json, {
        progress: options.progress,
      }),
    );

  backup
    .command('list')
    .description('PostgreSQL backups in the repository (read from the repository itself, not the state file)')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const records = listDatabaseBackups(policy());
      // Damaged entries are never listed as backups, but never silently either.
      for (const d of damagedCatalogEntries(policy()))
        process.stderr.write(`warning: ${d.problem}; backup ${d.id} is not used (run drydock backup verify)\n`);
      if (options.json) return printJson(records);
      if (records.length === 0) return print('no backups in the repository yet');
      print(
        table(
          ['ID', 'KIND', 'PARENT', 'STARTED (UTC)', 'SIZE', 'STORED', 'WAL'],
          records.map((r) => [
            r.id,
            r.kind,
            r.parent ?? '-',
            r.startedAt,
            mib(r.size),
            mib(r.storedSize),
            `${r.walStart}..${r.walStop}`,
          ]),
        ),
      );
    });

  backup
    .command('verify')
    .description('re-read every stored file of every backup and WAL segment and check it against its manifest')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await verifyRepository(policy());
      if (options.json) printJson(report);
      else print(describeVerify(report));
      if (
        'problems' in report &&
        Array.isArray((report as { problems: unknown[] }).problems) &&
        (report as { problems: unknown[] }).problems.length > 0
      )
        process.exitCode = 1;
    });

  backup
    .command('expire')
    .description('delete what is past retention, never what a kept backup or the point-in-time range needs')
    .option('--dry-run', 'only say what would be deleted')
    .option('--json', 'print JSON')
    .action((options: { dryRun?: boolean; json?: boolean }) => {
      const result = expireBackups(policy(), new Date(), options.dryRun ?? false);
      if (options.json) printJson(result);
      else print(describeExpire(result));
    });

  backup
    .command('restore-test')
    .description(
      'restore the newest chain into a throwaway PostgreSQL and compare it with the values recorded at backup time',
    )
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => runTask(program, 'backup.validation.restore_test', options.json));

  // Redis RDB backups, user uploads and configuration file versions.
  registerFilesBackupCommands(backup, policy);

  program
    .command('restore')
    .description('rebuild a PostgreSQL data directory from a full backup, its incrementals and the archived WAL')
    .requiredOption('--to <dir>', 'an empty or new directory')
    .option('--backup <id>', 'restore this backup (default: the newest)')
    .option(
      '--target-time <time>',
      'recover to this moment (point-in-time recovery), e.g. "2026-11-26 23:12:21.018115+00"',
      momentValue,
    )
    .option('--to-end-of-archive', 'replay as far as the archive goes even if a WAL segment is missing')
    .option('--wait', 'start the restored server, wait until recovery reached the target, report, stop it')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print JSON')
    .action(
      async (options: {
        to: string;
        backup?: string;
        targetTime?: string;
        toEndOfArchive?: boolean;
        wait?: boolean;
        progress: boolean;
        json?: boolean;
      }) => {
        const result = await restoreDatabase(policy(), {
          to: options.to,
          progress: options.progress && !options.json,
          ...(options.backup ? { backupId: options.backup } : {}),
          ...(options.targetTime ? { targetTime: options.targetTime } : {}),
          ...(options.toEndOfArchive ? { toEndOfArchive: true } : {}),
          ...(options.wait ? { wait: true } : {}),
        });
        if (options.json) printJson(result);
        else print(describeRestore(result));
      },
    );

  const wal = program
    .command('wal')
    .description("WAL archiving: PostgreSQL's archive_command and restore_command call these");
  wal
    .command('settings')
    .description('print the postgresql.conf lines that wire WAL archiving to this policy (absolute paths)')
    .option('--async', 'asynchronous archiving: a background process pushes several segments in parallel')
    .option('--json', 'print JSON')
    .action((options: { async?: boolean; json?: boolean }) => {
      const p = policy();
      const lines = {
        archive_mode: 'on',
        archive_command: archiveCommand(p, { async: options.async ?? false }),
        restore_command: restoreCommand(p),
      };
      if (options.json) return printJson(lines);
      print(
        [
          '# postgresql.conf (restart PostgreSQL after changing archive_mode)',
          `archive_mode = ${lines.archive_mode}`,
          `archive_command = ${confValue(lines.archive_command)}`,
          '# written by `drydock restore` into the restored postgresql.auto.conf:',
          `# restore_command = ${confValue(lines.restore_command)}`,
        ].join('\n'),
      );
    });
  // With --repo (what `wal settings` prints) bin/drydock.js runs these without loading this CLI;
  // these definitions serve the `--policy FILE wal push|get` form.
  wal
    .command('push')
    .description('archive_command: store one WAL segment (compressed, checksummed); idempotent')
    .argument('<path>', '%p')
    .argument('<name>', '%f')
    .action((path: string, name: string) => {
      walPush(policy(), path, name);
    });
  wal
    .command('get')
    .description(
      'restore_command: fetch one WAL segment; exits 1 when the archive does not have it, 200 (recovery stops) when it is damaged or unreadable',
    )
    .argument('<name>', '%f')
    .argument('<dest>', '%p')
    .action((name: string, dest: string) => {
      try {
        if (!walGet(policy(), name, dest)) process.exitCode = EXIT_FAILED;
      } catch (error) {
        process.stderr.write(`drydock wal get ${name}: ${describeError(error)}; stopping recovery\n`);
        process.exitCode = EXIT_STOP_RECOVERY;
      }
    });
}
