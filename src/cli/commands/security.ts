// `drydock findings list|show|except|patched` and `drydock compliance report|list` (issue 13).
// Writes (an exception, a patch marked applied) need the person's own API token in DRYDOCK_TOKEN,
// never an argument (arguments show up in `ps`).
import { InvalidArgumentError, type Command } from 'commander';
import type { App } from '../../app.js';
import { DrydockError } from '../../errors.js';
import { parseCalendarDate } from '../../policy/phrases.js';
import { monthRange } from '../../security/compliance/controls.js';
import { generateComplianceReport, verifyReport, type ReportFormat } from '../../security/compliance/report.js';
import { SEVERITIES, type Severity } from '../../security/types.js';
import type { FindingRecord, FindingStatus } from '../../store/sqlite/findings.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';

const oneOf =
  <T extends string>(values: readonly T[], what: string) =>
  (value: string): T => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`expected ${what}: ${values.join(', ')}.`);
    return value as T;
  };

function monthValue(value: string): string {
  try {
    monthRange(value);
    return value;
  } catch {
    throw new InvalidArgumentError('expected a month like 2026-11.');
  }
}

/** The person of DRYDOCK_TOKEN / DRYDOCK_TOKEN_FILE (issue 9's access model), with operator access. */
async function person(app: App, doing: string) {
  const who = await app.access.fromEnvironment(process.env, doing);
  return app.access.require(who, 'operator', doing);
}

const iso = (d: Date | null) => (d ? d.toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z') : '-');

export function formatFinding(f: FindingRecord, now: Date): string {
  const sla = f.dueAt
    ? f.status === 'closed'
      ? `due ${iso(f.dueAt)}, closed ${f.closedAt && f.closedAt <= f.dueAt ? 'within' : 'AFTER'} its SLA`
      : `due ${iso(f.dueAt)} (${f.dueAt > now ? `${Math.round((f.dueAt.getTime() - now.getTime()) / 3_600_000)} h left` : 'BREACHED'})`
    : 'no SLA (low)';
  return `#${f.id} ${f.severity.padEnd(8)} ${f.status.padEnd(8)} ${f.vulnId} ${f.package} ${f.installedVersion}${f.fixedVersion ? ` → ${f.fixedVersion}` : ' (no fix)'} on ${f.host}; ${sla}`;
}

export function registerSecurityCommands(program: Command): void {
  const global = () => program.opts<GlobalOptions>();
  const findings = program
    .command('findings')
    .description('vulnerability findings, their SLAs, patches and exceptions');

  findings
    .command('list')
    .option(
      '--status <status>',
      'open, excepted or closed',
      oneOf<FindingStatus>(['open', 'excepted', 'closed'], 'a status'),
    )
    .option('--severity <level>', 'critical, high, medium or low', oneOf<Severity>(SEVERITIES, 'a severity'))
    .option('--json', 'print JSON')
    .action(async (o: { status?: FindingStatus; severity?: Severity; json?: boolean }) =>
      withApp(global(), async (app) => {
        const list = app.security.findings.store.list({
          ...(o.status ? { status: o.status } : {}),
          ...(o.severity ? { severity: o.severity } : {}),
        });
        if (o.json) return printJson(list);
        if (!list.length) return print('no findings');
        for (const f of list) print(formatFinding(f, app.clock.now()));
      }),
    );

  findings
    .command('show')
    .argument('<id>', 'finding id')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) =>
      withApp(global(), async (app) => {
        const f = app.security.findings.store.get(Number(id));
        if (!f) throw new DrydockError('USAGE', `no finding #${id}`, { hint: 'drydock findings list' });
        const patch = f.patchId ? app.windows.patches.store.patch(f.patchId) : null;
        if (o.json) return printJson({ ...f, patch });
        print(formatFinding(f, app.clock.now()));
        print(`  ${f.title}`);
        print(`  ids: ${f.aliases.join(', ')}`);
        print(`  found by ${f.scanners.join(', ')} at ${f.locations.join('; ')}`);
        print(
          `  first seen ${iso(f.firstSeen)} (run #${f.firstRunId ?? '-'}), last seen ${iso(f.lastSeen)} (run #${f.lastRunId ?? '-'})`,
        );
        if (patch)
          print(
            `  patch #${patch.id}: ${patch.status.replace('_', ' ')}${patch.decidedBy ? ` (${patch.decidedBy} at ${iso(patch.decidedAt)})` : ''}${patch.appliedAt ? `, applied ${iso(patch.appliedAt)}` : ''}; plan ${patch.planHash.slice(0, 12)}`,
          );
        if (f.exception)
          print(
            `  accepted risk until ${iso(f.exception.expiresAt)}, owner ${f.exception.owner}: ${f.exception.reason} (${f.exception.source})`,
          );
        if (f.closedAt) print(`  closed ${iso(f.closedAt)} by run #${f.closedByRun ?? '-'}: ${f.closeReason ?? ''}`);
      }),
    );

  findings
    .command('except')
    .description('accept the risk of a vulnerability until a date (needs DRYDOCK_TOKEN)')
    .argument('<vulnerability>', 'a CVE, GHSA or other id of the finding')
    .requiredOption('--owner <name>', 'who owns the accepted risk')
    .requiredOption('--reason <text>', 'why it is accepted')
    .requiredOption('--expires <date>', 'when the exception ends, e.g. 2026-12-31')
    .option('--package <name>', 'only this package')
    .option('--host <name>', 'only this host')
    .action(
      async (vuln: string, o: { owner: string; reason: string; expires: string; package?: string; host?: string }) =>
        withApp(global(), async (app) => {
          const by = await person(app, 'recording an exception');
          const expires = parseCalendarDate(o.expires);
          if (!expires.ok)
            throw new DrydockError(
              'USAGE',
              `--expires: expected ${expires.expected}, got ${JSON.stringify(o.expires)}`,
            );
          const stored = await app.security.findings.except(
            {
              finding: vuln,
              owner: o.owner,
              reason: o.reason,
              expiresAt: expires.value.end,
              ...(o.package ? { package: o.package } : {}),
              ...(o.host ? { host: o.host } : {}),
            },
            by.name,
          );
          print(
            `exception #${stored.id} for ${vuln} until ${iso(stored.expiresAt)} (owner ${stored.owner}), recorded by ${by.name}`,
          );
        }),
    );

  findings
    .command('patched')
    .description('mark an approved security patch as applied; the next scan closes its finding (needs DRYDOCK_TOKEN)')
    .argument('<patch-id>', 'the patch id (drydock findings show)')
    .action(async (id: string) =>
      withApp(global(), async (app) => {
        const by = await person(app, 'marking a patch applied');
        const patch = await app.windows.patches.markApplied(Number(id), by.name);
        print(
          `patch #${patch.id} ${patch.ref} applied at ${iso(patch.appliedAt)} by ${by.name}; the next scan closes its finding if it is gone`,
        );
      }),
    );

  const compliance = program.command('compliance').description('monthly compliance evidence reports');
  compliance
    .command('report')
    .requiredOption('--month <month>', 'e.g. 2026-11', monthValue)
    .option('--format <format>', 'html, pdf or json', oneOf<ReportFormat>(['html', 'pdf', 'json'], 'a format'), 'html')
    .option('--json', 'print the stored record as JSON')
    .action(async (o: { month: string; format: ReportFormat; json?: boolean }) =>
      withApp(global(), async (app) => {
        const { record, report } = await generateComplianceReport(app.security, app.store, {
          month: o.month,
          format: o.format,
          now: app.clock.now(),
          by: await app.access.authenticate(process.env.DRYDOCK_TOKEN).then((r) => (r.ok ? r.principal.name : 'cli')),
        });
        if (o.json) return printJson(record);
        print(`${record.path}`);
        print(`sha256 ${record.sha256}, ${record.bytes} bytes, report #${record.id}`);
        print(
          `${report.summary.met} controls met, ${report.summary.notMet} not met, ${report.summary.noEvidence} without evidence`,
        );
        for (const c of report.controls)
          print(`  ${c.status.replace('_', ' ').padEnd(11)} ${c.framework} ${c.id}: ${c.detail}`);
      }),
    );
  compliance
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) =>
      withApp(global(), async (app) => {
        const reports = app.security.findings.store.reports().map((r) => ({ ...r, file: verifyReport(r) }));
        if (o.json) return printJson(reports);
        if (!reports.length) return print('no compliance reports');
        for (const r of reports)
          print(
            `#${r.id} ${r.month} ${r.format.padEnd(4)} ${iso(r.createdAt)} by ${r.createdBy}: ${r.summary.met} met, ${r.summary.notMet} not met, ${r.summary.noEvidence} no evidence; sha256 ${r.sha256.slice(0, 16)}… file ${r.file}  ${r.path}`,
          );
      }),
    );
}
