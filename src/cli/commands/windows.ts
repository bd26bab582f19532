// `drydock windows ...`, `drydock tokens ...` and `drydock patches ...`. cli/main.ts calls
// registerWindowsCommands(program, open) where `open` builds a WindowsModule for one command and
// `close` releases it. Every act is done as the person of the API token in DRYDOCK_TOKEN (or the
// file DRYDOCK_TOKEN_FILE names), never an argument (arguments show up in `ps`) and never a name
// typed on the command line: `--as` is gone and refused with the reason.
import { Option, type Command } from 'commander';
import type { Principal } from '../../access/levels.js';
import { DrydockError } from '../../errors.js';
import { formatSpan } from '../../notify/format.js';
import { parseDuration } from '../../policy/phrases.js';
import type { PatchSeverity } from '../../store/sqlite/approvals.js';
import { integerBetween } from '../options.js';
import { calendarPlan, formatInterval } from '../../windows/calendar.js';
import { describeMarkedWindow, markRegularWindows } from '../../windows/regular-marks.js';
import type { WindowsModule } from '../../windows/module.js';
import { formatWindowStory } from '../../windows/service.js';
import type { WindowKind, WindowOutcome } from '../../windows/types.js';

export interface OpenedWindows {
  module: WindowsModule;
  close(): Promise<void>;
}

export interface CliIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = { out: (text) => void process.stdout.write(`${text}\n`), env: process.env };

/** "2026-12-06T02:00Z", "2026-12-06 02:00 UTC", "2026-12-06T02:00:00+00:00". */
export function parseWhen(text: string, what: string): Date {
  let t = text
    .trim()
    .replace(/\s*UTC$/i, '')
    .replace(' ', 'T');
  if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(t)) t += 'Z';
  const at = new Date(t);
  if (Number.isNaN(at.getTime()))
    throw new DrydockError(
      'CONFIG_INVALID',
      `${what}: expected a UTC date and time like "2026-12-06 02:00 UTC", got ${JSON.stringify(text)}`,
    );
  return at;
}

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

async function using<T>(open: () => Promise<OpenedWindows>, fn: (m: WindowsModule) => Promise<T>): Promise<T> {
  const opened = await open();
  try {
    return await fn(opened.module);
  } finally {
    await opened.close();
  }
}

/** The person of the token in DRYDOCK_TOKEN / DRYDOCK_TOKEN_FILE, with at least `level` access. */
async function whoAmI(m: WindowsModule, io: CliIo, doing: string, level?: 'operator' | 'admin'): Promise<Principal> {
  const person = await m.access.fromEnvironment(io.env, doing);
  return level ? m.access.require(person, level, doing) : person;
}

/**
 * `--as <name>` named the actor as free text, so anyone could act as anyone. It stays as a hidden
 * option only to refuse it with the reason (commander alone would say "unknown option").
 */
function refuseAs(command: Command): Command {
  return command.addOption(new Option('--as <name>').hideHelp()).hook('preAction', (cmd) => {
    if (cmd.opts().as !== undefined)
      throw new DrydockError(
        'USAGE',
        '--as is gone: Drydock records who acts from your API token (DRYDOCK_TOKEN or DRYDOCK_TOKEN_FILE), never from a name typed on the command line',
        { hint: 'an admin issues your token with `drydock tokens issue <your name>`' },
      );
  });
}

export function registerWindowsCommands(
  program: Command,
  open: () => Promise<OpenedWindows>,
  io: CliIo = defaultIo,
): void {
  const windows = program
    .command('windows')
    .description('maintenance windows: schedule, approve, announce, run and document');

  windows
    .command('list')
    .description('windows from 14 days ago on (all with --all)')
    .option('--all', 'every window ever recorded')
    .option('--json', 'print JSON')
    .action(async (options: { all?: boolean; json?: boolean }) =>
      using(open, async (m) => {
        const now = m.service.now();
        const rows = m.service.listWindows(options.all ? {} : { from: new Date(now.getTime() - 14 * 86_400_000) });
        if (options.json) return io.out(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return io.out('no maintenance windows');
        for (const w of rows)
          io.out(`#${w.id}  ${w.status.padEnd(16)} ${w.kind.padEnd(9)} ${formatSpan(w.start, w.end)}  ${w.title}`);
      }),
    );

  windows
    .command('show')
    .description('the whole story of one window: change record, approvals, timeline, validation, lessons, notices')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) =>
      using(open, async (m) => {
        const story = m.service.showWindow(Number(id));
        io.out(options.json ? JSON.stringify(story, null, 2) : formatWindowStory(story));
      }),
    );

  windows
    .command('schedule')
    .description(
      'schedule a window (planned: 7 days ahead; regular: the next regular window; emergency: needs approval)',
    )
    .requiredOption('--title <text>')
    .requiredOption('--what <text>', 'what will be done')
    .requiredOption('--rollback <text>', 'the rollback plan (required)')
    .requiredOption('--owner <name>')
    .option('--public-title <text>', 'what the public status page shows (default: a generic "Scheduled maintenance")')
    .option('--public-description <text>', 'the public description on the status page')
    .option('--kind <kind>', 'planned, regular or emergency', 'planned')
    .option('--start <when>', 'UTC start, e.g. "2026-12-06 02:00 UTC" (omit for the next regular window)')
    .option('--end <when>', 'UTC end')
    .option('--duration <phrase>', 'instead of --end, e.g. "2 hours"')
    .option('--standby <names>', 'comma-separated')
    .option('--components <names>', 'status-page components affected, comma-separated')
    .option('--tasks <ids>', 'task ids, comma-separated')
    .option('--class <class>', 'maintenance, security or critical_bug', 'maintenance')
    .action(
      async (o: {
        title: string;
        what: string;
        rollback: string;
        owner: string;
        publicTitle?: string;
        publicDescription?: string;
        kind: string;
        start?: string;
        end?: string;
        duration?: string;
        standby?: string;
        components?: string;
        tasks?: string;
        class: string;
      }) =>
        using(open, async (m) => {
          const me = await whoAmI(m, io, 'scheduling a window', 'operator');
          if (!['planned', 'regular', 'emergency'].includes(o.kind))
            throw new DrydockError(
              'CONFIG_INVALID',
              `--kind: expected planned, regular or emergency, got ${JSON.stringify(o.kind)}`,
            );
          if (!['maintenance', 'security', 'critical_bug'].includes(o.class))
            throw new DrydockError(
              'CONFIG_INVALID',
              `--class: expected maintenance, security or critical_bug, got ${JSON.stringify(o.class)}`,
            );
          const start = o.start ? parseWhen(o.start, '--start') : undefined;
          let end = o.end ? parseWhen(o.end, '--end') : undefined;
          if (!end && start && o.duration) {
            const d = parseDuration(o.duration);
            if (!d.ok) throw new DrydockError('CONFIG_INVALID', `--duration: expected ${d.expected}`);
            end = new Date(start.getTime() + d.value.ms);
          }
          const { window, notices } = await m.service.scheduleWindow({
            kind: o.kind as WindowKind,
            title: o.title,
            ...(start ? { start } : {}),
            ...(end ? { end } : {}),
            summary: o.what,
            rollbackPlan: o.rollback,
            owner: o.owner,
            standby: list(o.standby),
            components: list(o.components),
            tasks: list(o.tasks),
            taskClass: o.class as 'maintenance' | 'security' | 'critical_bug',
            requestedBy: me.name,
            ...(o.publicTitle ? { publicTitle: o.publicTitle } : {}),
            ...(o.publicDescription ? { publicDescription: o.publicDescription } : {}),
          });
          io.out(
            `window #${window.id} ${window.status.replace('_', ' ')}: ${window.title}, ${formatSpan(window.start, window.end)}`,
          );
          io.out(`plan ${window.planHash}`);
          io.out(
            `notices: ${notices.sent.length} delivered, ${notices.failed.length} failed${notices.failed.map((f) => `\n  failed: ${f.channel}${f.recipient ? ` ${f.recipient}` : ''}: ${f.detail}`).join('')}`,
          );
        }),
    );

  windows
    .command('reschedule')
    .argument('<id>')
    .requiredOption('--start <when>')
    .requiredOption('--end <when>')
    .option('--reason <text>')
    .action(async (id: string, o: { start: string; end: string; reason?: string }) =>
      using(open, async (m) => {
        const me = await whoAmI(m, io, 'rescheduling a window', 'operator');
        const { window, notices } = await m.service.rescheduleWindow(
          Number(id),
          {
            start: parseWhen(o.start, '--start'),
            end: parseWhen(o.end, '--end'),
            ...(o.reason ? { reason: o.reason } : {}),
          },
          me.name,
        );
        io.out(
          `window #${window.id} moved to ${formatSpan(window.start, window.end)} (${window.status.replace('_', ' ')}); ${notices.sent.length} notices delivered, ${notices.failed.length} failed`,
        );
      }),
    );

  windows
    .command('cancel')
    .argument('<id>')
    .requiredOption('--reason <text>')
    .action(async (id: string, o: { reason: string }) =>
      using(open, async (m) => {
        const me = await whoAmI(m, io, 'cancelling a window', 'operator');
        const { notices } = await m.service.cancelWindow(Number(id), o.reason, me.name);
        io.out(`window #${id} cancelled; ${notices.sent.length} notices delivered, ${notices.failed.length} failed`);
      }),
    );

  for (const [name, decision] of [
    ['approve', 'approved'],
    ['refuse', 'refused'],
  ] as const) {
    windows
      .command(name)
      .description(`${name} an emergency window as yourself (API token in DRYDOCK_TOKEN)`)
      .argument('<id>')
      .requiredOption('--plan <hash>', 'the plan hash you reviewed (drydock windows show ID); 12+ characters')
      .option('--role <role>')
      .option('--comment <text>')
      .action(async (id: string, o: { plan: string; role?: string; comment?: string }) =>
        using(open, async (m) => {
          const person = await whoAmI(m, io, `${name === 'approve' ? 'approving' : 'refusing'} a window`);
          const result = await m.service.decide(Number(id), person, {
            decision,
            planHash: o.plan,
            ...(o.role ? { role: o.role } : {}),
            ...(o.comment ? { comment: o.comment } : {}),
          });
          io.out(
            `window #${id}: ${decision} by ${person.name}; status ${result.window.status.replace('_', ' ')}${result.missing.length ? `; still needs ${result.missing.join(' and ')}` : ''}`,
          );
        }),
      );
  }

  windows
    .command('start')
    .argument('<id>')
    .action(async (id: string) =>
      using(open, async (m) => {
        const me = await whoAmI(m, io, 'starting a window', 'operator');
        const w = await m.service.startWindow(Number(id), me.name);
        io.out(
          `window #${w.id} in progress${w.preChecks ? `; pre-checks ${w.preChecks.ok ? 'passed' : 'FAILED'}` : ''}`,
        );
      }),
    );

  windows
    .command('update')
    .description('post a status update (status page and channels)')
    .argument('<id>')
    .requiredOption('--message <text>')
    .option('--phase <phase>', 'e.g. verifying')
    .action(async (id: string, o: { message: string; phase?: string }) =>
      using(open, async (m) => {
        // Only the window's owner or standby may post (checked by the service).
        const me = await whoAmI(m, io, 'posting a status update');
        const { notices } = await m.service.postUpdate(
          Number(id),
          { message: o.message, ...(o.phase ? { phase: o.phase } : {}) },
          me.name,
        );
        io.out(
          `update posted on window #${id}; ${notices.sent.length} notices delivered, ${notices.failed.length} failed`,
        );
      }),
    );

  windows
    .command('complete')
    .description('end a window: runs post-maintenance validation (an alert with the rollback plan if it fails)')
    .argument('<id>')
    .option('--outcome <outcome>', 'succeeded, failed or rolled_back (default: from validation)')
    .option('--lessons <text>')
    .action(async (id: string, o: { outcome?: string; lessons?: string }) =>
      using(open, async (m) => {
        const me = await whoAmI(m, io, 'completing a window', 'operator');
        if (o.outcome && !['succeeded', 'failed', 'rolled_back'].includes(o.outcome))
          throw new DrydockError(
            'CONFIG_INVALID',
            `--outcome: expected succeeded, failed or rolled_back, got ${JSON.stringify(o.outcome)}`,
          );
        const { window, validation } = await m.service.completeWindow(
          Number(id),
          {
            ...(o.outcome ? { outcome: o.outcome as WindowOutcome } : {}),
            ...(o.lessons ? { lessons: o.lessons } : {}),
          },
          me.name,
        );
        io.out(
          `window #${window.id} completed: ${window.outcome}${validation ? `; validation ${validation.ok ? 'passed' : 'FAILED'}` : ''}`,
        );
        if (window.outcome !== 'succeeded') process.exitCode = 1;
      }),
    );

  windows
    .command('lessons')
    .argument('<id>')
    .requiredOption('--text <text>')
    .action(async (id: string, o: { text: string }) =>
      using(open, async (m) => {
        const me = await whoAmI(m, io, 'recording lessons learned', 'operator');
        await m.service.recordLessons(Number(id), o.text, me.name);
        io.out(`lessons learned recorded on window #${id}`);
      }),
    );

  windows
    .command('calendar')
    .description('regular windows and blackout periods ahead')
    .option('--days <n>', 'how far ahead (1-400)', integerBetween(1, 400), 90)
    .action(async (o: { days: number }) =>
      using(open, async (m) => {
        const from = m.service.now();
        const days = o.days;
        const plan = calendarPlan(m.service.policySnapshot, from, new Date(from.getTime() + days * 86_400_000));
        io.out('Regular windows:');
        const records = m.service.listWindows({ from, to: new Date(from.getTime() + days * 86_400_000) });
        for (const w of markRegularWindows(
          m.service.policySnapshot,
          from,
          new Date(from.getTime() + days * 86_400_000),
          records,
        ))
          io.out(`  ${describeMarkedWindow(w)}`);
        io.out('Blackouts:');
        const seen = new Set<string>();
        for (const b of plan.blackouts) {
          const key = `${b.period}|${b.detail}`;
          if (b.detail.startsWith('every ') && !b.detail.startsWith('every year') && seen.has(key)) continue;
          seen.add(key);
          io.out(
            `  ${b.period}: ${b.detail.startsWith('every ') && !b.detail.startsWith('every year') ? b.detail : formatInterval(b)}`,
          );
        }
      }),
    );

  windows
    .command('tick')
    .description(
      'send due reminders, expire unapproved emergencies, send patch notices and SLA alerts (the daemon does this each minute)',
    )
    .action(async () =>
      using(open, async (m) => {
        await m.tick();
        io.out('done');
      }),
    );

  const tokens = program
    .command('tokens')
    .description('per-person API tokens (only a hash of each secret is stored); see README "Security model"');
  tokens
    .command('init')
    .description('create the very first admin token, once per state file (recorded); later tokens come from an admin')
    .argument('<person>', 'a stakeholder with access: admin')
    .option('--label <text>', 'where it is used', 'setup')
    .action(async (person: string, o: { label: string }) =>
      using(open, async (m) => {
        const { id, token } = await m.access.init(person, o.label);
        // Printed once, to stdout only; only the hash of its secret is kept.
        io.out(token);
        process.stderr.write(`token ${id} for ${person} (admin); keep it safe: it is not shown again\n`);
      }),
    );
  tokens
    .command('issue')
    .description('issue a token for a stakeholder (needs an admin token in DRYDOCK_TOKEN or DRYDOCK_TOKEN_FILE)')
    .argument('<person>', 'a stakeholder name')
    .option('--label <text>', 'where it is used', '')
    .action(async (person: string, o: { label: string }) =>
      using(open, async (m) => {
        const admin = await whoAmI(m, io, 'issuing a token', 'admin');
        const { token } = await m.access.issue(admin, person, o.label);
        // Printed once, to stdout only; it is not kept anywhere.
        io.out(token);
      }),
    );
  tokens
    .command('revoke')
    .description('revoke one token (its 12-character id) or every token of a person (admin)')
    .argument('<person-or-id>')
    .action(async (which: string) =>
      using(open, async (m) => {
        const admin = await whoAmI(m, io, 'revoking tokens', 'admin');
        io.out(`${await m.access.revoke(admin, which)} token(s) revoked for ${which}`);
      }),
    );
  tokens
    .command('list')
    .description('every token: id, person, label, who issued it, revoked (admin)')
    .action(async () =>
      using(open, async (m) => {
        const admin = await whoAmI(m, io, 'listing tokens', 'admin');
        for (const t of await m.access.list(admin))
          io.out(
            `${t.id} ${t.person} ${t.label} created ${t.createdAt.toISOString()} by ${t.createdBy}${t.revokedAt ? ` revoked ${t.revokedAt.toISOString()} by ${t.revokedBy ?? '?'}` : ''}`,
          );
      }),
    );

  const patches = program.command('patches').description('security patches and their SLAs');
  patches
    .command('report')
    .requiredOption('--ref <id>', 'e.g. CVE-2026-1234')
    .requiredOption('--title <text>')
    .requiredOption('--severity <level>', 'critical, high or medium')
    .action(async (o: { ref: string; title: string; severity: string }) =>
      using(open, async (m) => {
        // The reporter is recorded as the requester: they cannot approve their own patch.
        const me = await whoAmI(m, io, 'reporting a security patch', 'operator');
        if (!['critical', 'high', 'medium'].includes(o.severity))
          throw new DrydockError(
            'CONFIG_INVALID',
            `--severity: expected critical, high or medium, got ${JSON.stringify(o.severity)}`,
          );
        const p = await m.patches.reportPatch(
          { ref: o.ref, title: o.title, severity: o.severity as PatchSeverity },
          me.name,
        );
        io.out(
          `patch #${p.id} ${p.ref} ${p.severity}: ${p.status.replace('_', ' ')}, due ${p.dueAt.toISOString()}; plan ${p.planHash}`,
        );
      }),
    );
  patches.command('list').action(async () =>
    using(open, async (m) => {
      for (const p of m.patches.store.patches())
        io.out(
          `#${p.id} ${p.ref} ${p.severity.padEnd(8)} ${p.status.padEnd(16)} due ${p.dueAt.toISOString()}  ${p.title}`,
        );
    }),
  );
  for (const [name, decision] of [
    ['approve', 'approved'],
    ['refuse', 'refused'],
  ] as const) {
    patches
      .command(name)
      .argument('<id>')
      .requiredOption('--plan <hash>')
      .option('--comment <text>')
      .action(async (id: string, o: { plan: string; comment?: string }) =>
        using(open, async (m) => {
          const person = await whoAmI(m, io, `${name === 'approve' ? 'approving' : 'refusing'} a security patch`);
          const p = await m.patches.decidePatch(Number(id), person, {
            decision,
            planHash: o.plan,
            ...(o.comment ? { comment: o.comment } : {}),
          });
          io.out(`patch ${p.ref}: ${p.status.replace('_', ' ')} (${person.name})`);
        }),
      );
  }
  for (const command of [...windows.commands, ...tokens.commands, ...patches.commands]) refuseAs(command);
}
