// `drydock dns change|list` and `drydock firewall ...` (issue 12). Writes name a person proven by
// their API token (DRYDOCK_TOKEN), as approvals do.
import type { Command } from 'commander';
import type { App } from '../../app.js';
import type { Person } from '../../approvals/rules.js';
import { DrydockError } from '../../errors.js';
import { DnsChangeStore, type DnsChange } from '../../network/dns/changes.js';
import { expectedValues, qualify } from '../../network/dns/health.js';
import { checkPropagation, formatProgress } from '../../network/dns/propagation.js';
import { DNS_RECORD_TYPES } from '../../policy/network-dns.js';
import { print, printJson, withApp, type GlobalOptions } from '../context.js';

export function whoAmI(app: App, what: string): Person {
  const person = app.windows.auth.authenticate(process.env.DRYDOCK_TOKEN);
  if (!person)
    throw new DrydockError(
      'USAGE',
      `${what} needs your API token in DRYDOCK_TOKEN; the token given is unknown or revoked`,
      {
        hint: 'drydock tokens issue <your name> creates one',
      },
    );
  return person;
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
        const person = whoAmI(app, 'declaring a DNS change');
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
