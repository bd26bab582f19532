// `drydock deps list|show|approve|refuse`: the dependency change records (npm, system packages,
// base images). Approving needs the approver's own API token in DRYDOCK_TOKEN (never an argument:
// arguments show up in `ps`) and the plan hash they reviewed (`deps show` prints it).
import type { Command } from 'commander';
import { DependencyService } from '../../dependencies/service.js';
import type { DependencyUpdate, Ecosystem, UpdateStatus } from '../../dependencies/store.js';
import { DrydockError } from '../../errors.js';
import { iso, table } from '../format.js';
import type { App } from '../../app.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';

const ECOSYSTEMS: readonly Ecosystem[] = ['npm', 'system', 'docker'];

function describe(u: DependencyUpdate): string {
  const lines = [
    `#${u.id} ${u.ecosystem} ${u.package} ${u.fromVersion} -> ${u.toVersion} (${u.type})`,
    `status:     ${u.status}${u.notBefore ? ` (not before ${iso(u.notBefore)})` : ''}`,
    `target:     ${u.target}`,
    `plan hash:  ${u.planHash}`,
  ];
  if (u.branch) lines.push(`branch:     ${u.branch}`);
  if (u.reason) lines.push(`reason:     ${u.reason}`);
  lines.push(`recorded:   ${iso(u.createdAt)}, updated ${iso(u.updatedAt)}`);
  const { testOutput, scan, ...rest } = u.detail as { testOutput?: string; scan?: unknown };
  lines.push(`detail:     ${JSON.stringify(rest)}`);
  if (scan) lines.push(`scan:       ${JSON.stringify(scan)}`);
  if (testOutput) lines.push('test output:', testOutput);
  return lines.join('\n');
}

export function registerDepsCommands(program: Command): void {
  const deps = program.command('deps').description('dependency updates as change records: list, show, approve, refuse');
  const service = (app: App) =>
    new DependencyService({
      db: app.store.db,
      policy: app.loaded.policy,
      clock: app.clock,
      activity: (entry) => app.store.logActivity(entry),
    });

  deps
    .command('list')
    .description('the recorded updates, newest last (default: the open ones)')
    .option('--all', 'every update, merged and refused ones included')
    .option('--ecosystem <name>', 'npm, system or docker')
    .option('--json', 'print JSON')
    .action(async (o: { all?: boolean; ecosystem?: string; json?: boolean }) => {
      if (o.ecosystem && !ECOSYSTEMS.includes(o.ecosystem as Ecosystem))
        throw new DrydockError('USAGE', `--ecosystem must be one of ${ECOSYSTEMS.join(', ')}, got "${o.ecosystem}"`);
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const statuses: UpdateStatus[] | undefined = o.all
          ? undefined
          : ['soaking', 'pending_approval', 'approved', 'queued', 'failed', 'stopped', 'blocked'];
        const rows = service(app).store.list({
          ...(o.ecosystem ? { ecosystem: o.ecosystem as Ecosystem } : {}),
          ...(statuses ? { statuses } : {}),
        });
        if (o.json) return printJson(rows);
        if (rows.length === 0) return print('no dependency updates recorded');
        print(
          table(
            ['ID', 'ECOSYSTEM', 'PACKAGE', 'UPDATE', 'TYPE', 'STATUS', 'PLAN'],
            rows.map((u) => [
              `#${u.id}`,
              u.ecosystem,
              u.package,
              `${u.fromVersion} -> ${u.toVersion}`,
              u.type,
              u.status,
              u.planHash.slice(0, 12),
            ]),
          ),
        );
      });
    });

  deps
    .command('show')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const u = service(app).must(Number(id));
        if (o.json) return printJson({ ...u, approvals: service(app).approvals.list(`dependency:${u.id}`) });
        print(describe(u));
      });
    });

  for (const [name, decision] of [
    ['approve', 'approved'],
    ['refuse', 'refused'],
  ] as const) {
    deps
      .command(name)
      .description(`${name} a minor or major update as yourself (API token in DRYDOCK_TOKEN); the next run applies it`)
      .argument('<id>')
      .requiredOption('--plan <hash>', 'the plan hash you reviewed (drydock deps show <id>), at least 12 characters')
      .option('--comment <text>')
      .action(async (id: string, o: { plan: string; comment?: string }) => {
        await withApp(program.opts<GlobalOptions>(), async (app) => {
          // The person of DRYDOCK_TOKEN / DRYDOCK_TOKEN_FILE (issue 9's access model).
          const person = await app.access.fromEnvironment(process.env, `${name} a dependency update`);
          const u = await service(app).decide(Number(id), person, {
            decision,
            planHash: o.plan,
            ...(o.comment ? { comment: o.comment } : {}),
          });
          print(`#${u.id} ${u.package} ${u.toVersion}: ${u.status.replace('_', ' ')} (${person.name})`);
        });
      });
  }
}
