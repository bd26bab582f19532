// `drydock dns change|list` and `drydock firewall ...` (issue 12). Writes name a person proven by
// their API token (DRYDOCK_TOKEN), as approvals do.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import type { Principal } from '../../access/levels.js';
import { DrydockError } from '../../errors.js';
import { DnsChangeStore, type DnsChange } from '../../network/dns/changes.js';
import { expectedValues, qualify } from '../../network/dns/health.js';
import { checkPropagation, formatProgress } from '../../network/dns/propagation.js';
import { DNS_RECORD_TYPES } from '../../policy/network-dns.js';
import { FirewallChanges } from '../../network/firewall/changes.js';
import { diffRules } from '../../network/firewall/ruleset.js';
import type { FirewallChange } from '../../network/firewall/store.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';
import { integerBetween } from '../options.js';

/** The person of DRYDOCK_TOKEN / DRYDOCK_TOKEN_FILE (issue 9's access model), with operator access. */
export async function whoAmI(app: App, what: string, level: 'operator' | 'approver' = 'operator'): Promise<Principal> {
  const person = await app.access.fromEnvironment(process.env, what);
  // Approving needs the approval roles, which the approval rules check; every other write needs operator access.
  return level === 'approver' ? person : app.access.require(person, 'operator', what);
}

/** The watched zone a name belongs to (the longest match). */
function zoneOf(app: App, name: string): string {
  const fqdn = name.replace(/\.$/, '').toLowerCase();
  const zones = app.loaded.policy.network.dns.zones
    .map((z) => qualify(z.zone, '@'))
    .filter((z) => fqdn === z || fqdn.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length);
  if (!zones[0])
    throw new DrydockError('USAGE', `${name} is in none of the zones of network.dns.zones`, {
      hint: `watched zones: ${app.loaded.policy.network.dns.zones.map((z) => z.zone).join(', ') || 'none'}`,
    });
  return zones[0];
}

function changeRow(c: DnsChange, now: Date): string {
  return formatProgress({ change: c, atSource: null, newlyDone: false, newlyTimedOut: false }, now).replace(
    /^#(\d+) /,
    `#$1 [${c.status}] `,
  );
}

export function registerNetworkCommands(program: Command): void {
  const dns = program.command('dns').description('DNS changes tracked until every resolver of the panel serves them');
  dns
    .command('change')
    .description('declare a DNS change (NAME TYPE VALUE...; several values for a record set) and look at it once now')
    .argument('<name>', 'a full name, e.g. www.dokkerr.com')
    .argument('<type>', `one of ${DNS_RECORD_TYPES.join(', ')}`)
    .argument('<values...>', 'the new value(s)')
    .option('--no-check', 'only declare it; the next propagation run looks')
    .option('--json', 'print JSON')
    .action(async (name: string, type: string, values: string[], options: { check: boolean; json?: boolean }) => {
      const recordType = type.toUpperCase();
      if (!(DNS_RECORD_TYPES as readonly string[]).includes(recordType))
        throw new DrydockError('USAGE', `unknown record type ${type}: expected one of ${DNS_RECORD_TYPES.join(', ')}`);
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const person = await whoAmI(app, 'declaring a DNS change');
        const zone = zoneOf(app, name);
        const store = new DnsChangeStore(app.store.db);
        const now = app.clock.now();
        const expected = expectedValues(recordType as (typeof DNS_RECORD_TYPES)[number], values);
        const change = store.declare({
          zone,
          name: qualify(zone, name),
          type: recordType,
          values: expected === 'any' ? [] : expected,
          serial: null,
          source: 'declared',
          declaredBy: person.name,
          declaredAt: now,
        });
        await app.store.logActivity({
          at: now,
          kind: 'dns.change.declared',
          actor: person.name,
          message: `DNS change #${change.id} declared: ${change.name} ${change.type} → ${values.join(', ')}`,
          data: { changeId: change.id },
        });
        let current = change;
        if (options.check) {
          const report = await checkPropagation({
            dns: app.loaded.policy.network.dns,
            store,
            now: () => app.clock.now(),
            only: [change.id],
            activity: (entry) => app.store.logActivity(entry),
          });
          current = report.progress[0]?.change ?? store.get(change.id)!;
        }
        if (options.json) return printJson(current);
        print(
          `DNS change #${change.id} declared by ${person.name}; tracked every ${app.loaded.policy.network.dns.propagation.check.text.replace(/^every /, '')} until every resolver serves it (timeout ${app.loaded.policy.network.dns.propagation.timeout.text})`,
        );
        if (options.check) print(changeRow(current, app.clock.now()));
      });
    });
  dns
    .command('list')
    .description('DNS changes: tracking, and those done or timed out in the last 7 days (--all: every one)')
    .option('--all', 'every change ever declared')
    .option('--json', 'print JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const changes = new DnsChangeStore(app.store.db).list({ all: Boolean(options.all) });
        if (options.json) return printJson(changes);
        if (changes.length === 0) return print('no DNS change tracked');
        for (const c of changes) print(changeRow(c, app.clock.now()));
      });
    });
}

function firewallOf(app: App): FirewallChanges {
  return new FirewallChanges({
    db: app.store.db,
    policy: app.loaded.policy,
    now: () => app.clock.now(),
    activity: (entry) => app.store.logActivity(entry),
    channels: app.channels,
  });
}

function changeLine(c: FirewallChange): string {
  return `#${c.id} [${c.status.replace('_', ' ')}] ${c.kind} "${c.title}" requested by ${c.requestedBy} at ${c.requestedAt.toISOString()}`;
}

const changeId = integerBetween(1, Number.MAX_SAFE_INTEGER);

export function registerFirewallCommands(program: Command): void {
  const firewall = program
    .command('firewall')
    .description('the firewall baseline, its drift, and firewall changes (approved, applied atomically, rolled back)');
  firewall
    .command('diff')
    .description(
      'the ruleset now against the approved baseline: added and removed rules, world-open and allow-all rules',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const fw = firewallOf(app);
        const snap = await fw.snapshot();
        const baseline = fw.store.latestBaseline();
        const diff = baseline ? diffRules(baseline.rules, snap.rules) : null;
        if (options.json)
          return printJson({
            backend: snap.backend,
            baseline: baseline?.id ?? null,
            diff,
            flags: snap.flags,
            rules: snap.rules,
          });
        if (!baseline)
          print(
            `no approved baseline; the ruleset has ${snap.rules.length} rules (drydock firewall baseline approves it)`,
          );
        else if (diff!.added.length + diff!.removed.length === 0)
          print(`unchanged since baseline #${baseline.id} (${snap.rules.length} rules)`);
        else {
          print(
            `since baseline #${baseline.id} (approved by ${baseline.approvedBy} on ${baseline.approvedAt.toISOString()}):`,
          );
          for (const r of diff!.added) print(`+ ${r.chain}: ${r.text}`);
          for (const r of diff!.removed) print(`- ${r.chain}: ${r.text}`);
        }
        for (const f of snap.flags)
          print(`${f.expected ? 'expected' : 'FLAG'} ${f.kind.replace('_', ' ')}: ${f.detail}`);
        if (diff && diff.added.length + diff.removed.length > 0) process.exitCode = 1;
      });
    });
  firewall
    .command('baseline')
    .description('approve the ruleset in force now as the baseline, as yourself (after an applied change: --change ID)')
    .option('--change <id>', 'the applied change this ruleset comes from', changeId)
    .option('--reason <text>', 'why')
    .action(async (options: { change?: number; reason?: string }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const person = await whoAmI(app, 'approving a firewall baseline');
        const b = await firewallOf(app).approveBaseline(person, {
          ...(options.change ? { changeId: options.change } : {}),
          ...(options.reason ? { reason: options.reason } : {}),
        });
        print(`baseline #${b.id} approved by ${person.name}: ${b.rules.length} rules (${b.reason})`);
      });
    });
  firewall
    .command('change')
    .description(
      'request a firewall change: an nft script applied as one transaction (start it with "flush ruleset" to replace everything)',
    )
    .requiredOption('--file <path>', 'the nft script')
    .requiredOption('--title <text>', 'what it does')
    .option('--emergency', 'an emergency change: the emergency approvers, applied at once when approved')
    .action(async (options: { file: string; title: string; emergency?: boolean }) => {
      let ruleset: string;
      try {
        ruleset = readFileSync(options.file, 'utf8');
      } catch (error) {
        throw new DrydockError('USAGE', `cannot read ${options.file}: ${(error as Error).message}`);
      }
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const person = await whoAmI(app, 'requesting a firewall change');
        const fw = firewallOf(app);
        const kind = options.emergency ? 'emergency' : 'planned';
        const c = await fw.request({ kind, title: options.title, ruleset, person });
        print(`${changeLine(c)}; needs ${fw.requiredRoles(kind).join(' and ')} (plan ${c.planHash.slice(0, 12)})`);
      });
    });
  for (const decision of ['approve', 'refuse'] as const)
    firewall
      .command(decision)
      .description(`${decision} a firewall change as yourself (API token in DRYDOCK_TOKEN)`)
      .argument('<id>', 'change number', changeId)
      .option('--plan <hash>', 'the plan hash you reviewed (drydock firewall list shows it)')
      .action(async (id: number, options: { plan?: string }) => {
        await withApp(program.opts<GlobalOptions>(), async (app) => {
          const person = await whoAmI(app, `${decision.replace(/e$/, '')}ing a firewall change`, 'approver');
          const fw = firewallOf(app);
          const current = fw.require(id);
          const plan = options.plan && current.planHash.startsWith(options.plan) ? current.planHash : options.plan;
          const c = await fw.decide(id, person, decision === 'approve' ? 'approved' : 'refused', plan);
          const state = fw.approvalState(c);
          print(
            `${changeLine(c)}${state.missing.length && c.status === 'pending_approval' ? `; still needs ${state.missing.join(' and ')}` : ''}`,
          );
        });
      });
  firewall
    .command('apply')
    .description('apply an approved emergency change now (planned ones wait for network.firewall.updates in a window)')
    .argument('<id>', 'change number', changeId)
    .action(async (id: number) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const person = await whoAmI(app, 'applying a firewall change');
        const fw = firewallOf(app);
        const c = fw.require(id);
        if (c.kind !== 'emergency')
          throw new DrydockError(
            'USAGE',
            `firewall change #${id} is planned: network.firewall.updates applies it in the next maintenance window`,
          );
        const after = await fw.apply(id, person.name);
        for (const line of after.result?.lines ?? []) print(line);
        print(changeLine(after));
        if (after.status !== 'applied') process.exitCode = 1;
      });
    });
  firewall
    .command('list')
    .description('firewall changes, newest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp(program.opts<GlobalOptions>(), async (app) => {
        const all = firewallOf(app).store.listChanges();
        if (options.json) return printJson(all.map(({ previous: _previous, ...c }) => c));
        if (all.length === 0) return print('no firewall change');
        for (const c of all) print(`${changeLine(c)} plan ${c.planHash.slice(0, 12)}`);
      });
    });
}
