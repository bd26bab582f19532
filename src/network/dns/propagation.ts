// One round of DNS propagation tracking (every 15 minutes by default): detect zones whose
// authoritative SOA serial moved, then ask every resolver of the panel whether it serves each tracked
// change yet. The percentage is of resolvers; the expected completion is TTL-aware: a lagging
// resolver returns its stale answer with the seconds it may still keep it, so the change is due
// everywhere when the longest of those runs out. A change is done when every resolver serves it
// (then recorded in the activity log), timed out when the policy's timeout (24 hours) passes first.
import { setMaxListeners } from 'node:events';
import { describeError } from '../../errors.js';
import type { NetworkDnsPolicy } from '../../policy/network-dns.js';
import type { ActivityEntry } from '../../store/types.js';
import {
  describeServer,
  minTtl,
  query,
  recordSet,
  soaSerial,
  type DnsReply,
  type DnsServer,
  type QueryOptions,
  type RecordType,
} from './client.js';
import { authoritativeServers, describeValues, qualify } from './health.js';
import type { DnsChange, DnsChangeStore, LaggingResolver } from './changes.js';

export interface ChangeProgress {
  change: DnsChange;
  /** What the authoritative servers serve: has the change reached its source yet? */
  atSource: boolean | null;
  newlyDone: boolean;
  newlyTimedOut: boolean;
}

export interface PropagationReport {
  detected: DnsChange[];
  progress: ChangeProgress[];
  /** Zones whose authoritative serial could not be read this round, with why. */
  problems: string[];
}

/** RFC 1982 serial arithmetic: is `a` newer than `b`? */
export function serialNewer(a: number, b: number): boolean {
  const diff = (a - b + 2 ** 32) % 2 ** 32;
  return diff !== 0 && diff < 2 ** 31;
}

export interface PropagationDeps {
  dns: NetworkDnsPolicy;
  store: DnsChangeStore;
  now: () => Date;
  activity: (entry: ActivityEntry) => Promise<void> | void;
  signal?: AbortSignal;
  /** Only these changes (a fresh declaration's first look); default every tracked change and serial detection. */
  only?: number[];
  ask?: (s: DnsServer, name: string, type: RecordType, o: QueryOptions) => Promise<DnsReply>;
}

interface Look {
  resolver: string;
  served: boolean;
  serving: string;
  ttl: number | null;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function look(
  ask: NonNullable<PropagationDeps['ask']>,
  server: DnsServer,
  change: DnsChange,
  opts: QueryOptions,
): Promise<Look> {
  const who = describeServer(server);
  try {
    if (change.source === 'serial') {
      const reply = await ask(server, change.zone, 'SOA', opts);
      const serial = soaSerial(reply);
      const served = serial !== null && change.serial !== null && !serialNewer(change.serial, serial);
      return {
        resolver: who,
        served,
        serving: serial === null ? reply.rcode : `serial ${serial}`,
        ttl: minTtl(reply, 'SOA'),
      };
    }
    const reply = await ask(server, change.name, change.type as RecordType, opts);
    const values = recordSet(reply, change.type as RecordType);
    const served = reply.rcode === 'NOERROR' && change.values !== null && sameSet(values, change.values);
    // A stale negative answer is cached for the SOA minimum, which the authority section carries.
    const ttl = values.length ? minTtl(reply, change.type as RecordType) : minTtl(reply, 'SOA');
    return {
      resolver: who,
      served,
      serving: reply.rcode === 'NOERROR' ? describeValues(values) : reply.rcode,
      ttl,
    };
  } catch (error) {
    return { resolver: who, served: false, serving: describeError(error), ttl: null };
  }
}

function describeChange(change: DnsChange): string {
  return change.source === 'serial'
    ? `${change.zone} serial ${change.serial}`
    : `${change.name} ${change.type} → ${describeValues(change.values ?? [])}`;
}

export async function checkPropagation(deps: PropagationDeps): Promise<PropagationReport> {
  const ask = deps.ask ?? query;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort();
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  const opts: QueryOptions = { timeoutMs: deps.dns.timeout.ms, attempts: deps.dns.attempts, signal: controller.signal };
  const detected: DnsChange[] = [];
  const problems: string[] = [];
  try {
    if (!deps.only) {
      for (const zone of deps.dns.zones) {
        const zoneName = qualify(zone.zone, '@');
        const found = await authoritativeServers(deps.dns, zone, ask, controller.signal);
        if (found.problem) problems.push(found.problem);
        const serials = await Promise.all(
          found.servers.map(async (s) => {
            try {
              return soaSerial(await ask(s, zoneName, 'SOA', opts));
            } catch (error) {
              problems.push(describeError(error));
              return null;
            }
          }),
        );
        const known = serials.filter((s): s is number => s !== null);
        if (known.length === 0) continue;
        const newest = known.reduce((a, b) => (serialNewer(b, a) ? b : a));
        const last = deps.store.lastSerial(zoneName);
        const now = deps.now();
        if (last !== null && serialNewer(newest, last)) {
          const change = deps.store.declare({
            zone: zoneName,
            name: zoneName,
            type: 'SOA',
            values: null,
            serial: newest,
            source: 'serial',
            declaredBy: 'drydock',
            declaredAt: now,
          });
          detected.push(change);
          await deps.activity({
            at: now,
            kind: 'dns.change.detected',
            actor: 'drydock',
            message: `DNS change #${change.id} detected: ${zoneName} serial ${last} → ${newest}; tracking it on ${deps.dns.resolvers.length} resolvers`,
            data: { changeId: change.id, zone: zoneName, from: last, to: newest },
          });
        }
        if (last === null || serialNewer(newest, last)) deps.store.setSerial(zoneName, newest, now);
      }
    }

    const progress: ChangeProgress[] = [];
    const tracked = deps.store.tracking().filter((c) => !deps.only || deps.only.includes(c.id));
    for (const change of tracked) {
      const zone = deps.dns.zones.find((z) => qualify(z.zone, '@') === change.zone);
      let atSource: boolean | null = null;
      if (zone && change.source === 'declared') {
        const found = await authoritativeServers(deps.dns, zone, ask, controller.signal);
        const looks = await Promise.all(found.servers.map((s) => look(ask, s, change, { ...opts })));
        atSource = looks.length ? looks.every((l) => l.served) : null;
      }
      const looks = await Promise.all(
        deps.dns.resolvers.map((r) => look(ask, r, change, { ...opts, recursion: true })),
      );
      const now = deps.now();
      const servedBy = looks.filter((l) => l.served).map((l) => l.resolver);
      const lagging: LaggingResolver[] = looks
        .filter((l) => !l.served)
        .map((l) => ({ resolver: l.resolver, serving: l.serving, ttl: l.ttl }));
      const percent = Math.round((servedBy.length / looks.length) * 1000) / 10;
      // Due when the longest stale TTL runs out; unknown while the source does not serve it or a resolver gave no TTL.
      const ttls = lagging.map((l) => l.ttl);
      const expectedDoneAt =
        lagging.length === 0
          ? now
          : atSource !== false && ttls.every((t) => t !== null)
            ? new Date(now.getTime() + Math.max(...ttls) * 1000)
            : null;
      const done = lagging.length === 0;
      const timedOut = !done && now.getTime() - change.declaredAt.getTime() >= deps.dns.propagation.timeout.ms;
      const updated: DnsChange = {
        ...change,
        status: done ? 'done' : timedOut ? 'timed_out' : 'tracking',
        percent,
        servedBy,
        lagging,
        expectedDoneAt,
        checkedAt: now,
        doneAt: done ? now : null,
      };
      deps.store.saveProgress(change.id, updated);
      if (done)
        await deps.activity({
          at: now,
          kind: 'dns.change.done',
          actor: change.declaredBy,
          message: `DNS change #${change.id} (${describeChange(change)}) is served by all ${looks.length} resolvers, ${formatSince(now.getTime() - change.declaredAt.getTime())} after it was ${change.source === 'serial' ? 'detected' : 'declared'}`,
          data: { changeId: change.id, resolvers: servedBy, declaredAt: change.declaredAt.toISOString() },
        });
      if (timedOut)
        await deps.activity({
          at: now,
          kind: 'dns.change.timed_out',
          actor: change.declaredBy,
          message: `DNS change #${change.id} (${describeChange(change)}) not served after ${deps.dns.propagation.timeout.text} by ${lagging.map((l) => `${l.resolver} (${l.serving})`).join(', ')}`,
          data: { changeId: change.id, lagging },
        });
      progress.push({ change: updated, atSource, newlyDone: done, newlyTimedOut: timedOut });
    }
    return { detected, progress, problems };
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
  }
}

export function formatSince(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatProgress(p: ChangeProgress, now: Date): string {
  const c = p.change;
  const eta =
    c.status === 'done'
      ? 'done'
      : c.expectedDoneAt
        ? `expected everywhere by ${c.expectedDoneAt.toISOString()} (in ${formatSince(Math.max(0, c.expectedDoneAt.getTime() - now.getTime()))}, when the cached TTLs run out)`
        : p.atSource === false
          ? 'not served by the authoritative servers yet'
          : 'completion unknown (a resolver gave no TTL)';
  const lagging = c.lagging.length
    ? `; lagging: ${c.lagging.map((l) => `${l.resolver} serves ${l.serving}${l.ttl === null ? '' : ` for ${l.ttl} s more`}`).join(', ')}`
    : '';
  return `#${c.id} ${describeChange(c)}: ${c.percent}% (${c.servedBy.length}/${c.servedBy.length + c.lagging.length} resolvers), ${c.status === 'timed_out' ? 'TIMED OUT' : eta}${lagging}`;
}
