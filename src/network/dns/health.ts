// The DNS health check (network.dns.health_check): every watched record asked of every
// authoritative server and every resolver of the panel, in parallel. Authoritative servers must
// answer authoritatively, with the expected value, agree with each other on the record set and on
// the zone's SOA serial, and (for a signed zone) carry RRSIGs that do not expire too soon. A record
// fails on the resolvers' side only when the policy's quorum of resolvers sees the problem: one
// resolver's hiccup is reported as a warning, never as an outage (single-resolver monitors' false
// alarms).
import { setMaxListeners } from 'node:events';
import { describeError } from '../../errors.js';
import type { DnsRecordPolicy, DnsZonePolicy, NetworkDnsPolicy } from '../../policy/network-dns.js';
import {
  describeServer,
  minTtl,
  query,
  recordSet,
  signatures,
  soaSerial,
  type DnsReply,
  type DnsServer,
  type QueryOptions,
  type RecordType,
} from './client.js';
import { limiter } from './limit.js';

export type ServerRole = 'authoritative' | 'resolver';

export interface ServerAnswer {
  server: string;
  role: ServerRole;
  ok: boolean;
  rcode: string | null;
  values: string[];
  ms: number | null;
  transport: 'udp' | 'tcp' | null;
  ttl: number | null;
  /** Earliest RRSIG expiry over the record set, for a signed zone. */
  rrsigExpires: Date | null;
  /** Why this server's answer is not right (null when it is). */
  problem: string | null;
}

export interface RecordHealth {
  zone: string;
  name: string;
  type: RecordType;
  expected: string[] | 'any';
  answers: ServerAnswer[];
  ok: boolean;
  problems: string[];
  warnings: string[];
}

export interface ZoneHealth {
  zone: string;
  authoritative: string[];
  serials: Array<{ server: string; serial: number | null; problem: string | null }>;
  ok: boolean;
  problems: string[];
  records: RecordHealth[];
}

export interface DnsHealthReport {
  zones: ZoneHealth[];
  /** Resolvers that had to agree before a record failed. */
  quorum: number;
  resolvers: string[];
  queries: number;
}

export function quorumOf(dns: Pick<NetworkDnsPolicy, 'quorum' | 'resolvers'>): number {
  return dns.quorum ?? Math.floor(dns.resolvers.length / 2) + 1;
}

/** "www" → www.zone, "@" → zone, a name already in the zone stays as it is. */
export function qualify(zone: string, name: string): string {
  const z = zone.replace(/\.$/, '').toLowerCase();
  const n = name.replace(/\.$/, '').toLowerCase();
  if (n === '@' || n === '' || n === z) return z;
  return n.endsWith(`.${z}`) ? n : `${n}.${z}`;
}

/** The expected values normalised as the client prints records (lower case names, no trailing dot, TXT unquoted). */
export function expectedValues(type: RecordType, value: string | string[]): string[] | 'any' {
  if (value === 'any') return 'any';
  const values = Array.isArray(value) ? value : [value];
  return values
    .map((v) => {
      const t = v.trim();
      if (type === 'TXT') return t.replace(/^"(.*)"$/s, '$1');
      if (type === 'A' || type === 'AAAA') return t.toLowerCase();
      return t.replace(/\.(\s|$)/g, '$1').toLowerCase();
    })
    .sort();
}

export function describeValues(values: readonly string[]): string {
  return values.length ? values.join(', ') : '(no records)';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export interface DnsCheckOptions {
  signal?: AbortSignal;
  now?: () => Date;
  /** Most questions in flight at once. */
  concurrency?: number;
}

function queryOptions(dns: NetworkDnsPolicy, signal?: AbortSignal): QueryOptions {
  return { timeoutMs: dns.timeout.ms, attempts: dns.attempts, ...(signal ? { signal } : {}) };
}

/** The zone's authoritative servers: the listed ones, or its NS records resolved through the panel. */
export async function authoritativeServers(
  dns: NetworkDnsPolicy,
  zone: DnsZonePolicy,
  ask: (s: DnsServer, name: string, type: RecordType, o: QueryOptions) => Promise<DnsReply>,
  signal?: AbortSignal,
): Promise<{ servers: DnsServer[]; problem: string | null }> {
  if (zone.authoritative.length) return { servers: zone.authoritative, problem: null };
  const opts = { ...queryOptions(dns, signal), recursion: true };
  const errors: string[] = [];
  for (const resolver of dns.resolvers) {
    try {
      const ns = await ask(resolver, zone.zone, 'NS', opts);
      const hosts = recordSet(ns, 'NS');
      if (ns.rcode !== 'NOERROR' || hosts.length === 0) {
        errors.push(`${describeServer(resolver)}: ${ns.rcode}, ${hosts.length} NS records`);
        continue;
      }
      const servers: DnsServer[] = [];
      for (const host of hosts) {
        const addresses = recordSet(await ask(resolver, host, 'A', opts), 'A');
        for (const address of addresses)
          servers.push({ name: `${host}:${zone.authoritative_port}`, host: address, port: zone.authoritative_port });
      }
      if (servers.length) return { servers, problem: null };
      errors.push(`${describeServer(resolver)}: the NS hosts ${hosts.join(', ')} have no A record`);
    } catch (error) {
      errors.push(describeError(error));
    }
  }
  return {
    servers: [],
    problem: `no authoritative server found for ${zone.zone} from its NS records (${errors.join('; ')}); list them in network.dns.zones[].authoritative`,
  };
}

async function askServer(
  ask: (s: DnsServer, name: string, type: RecordType, o: QueryOptions) => Promise<DnsReply>,
  server: DnsServer,
  role: ServerRole,
  name: string,
  record: DnsRecordPolicy,
  expected: string[] | 'any',
  opts: QueryOptions,
  dnssec: { on: boolean; minValidityMs: number; now: Date },
): Promise<ServerAnswer> {
  const base: ServerAnswer = {
    server: describeServer(server),
    role,
    ok: false,
    rcode: null,
    values: [],
    ms: null,
    transport: null,
    ttl: null,
    rrsigExpires: null,
    problem: null,
  };
  let reply: DnsReply;
  try {
    reply = await ask(server, name, record.type, {
      ...opts,
      recursion: role === 'resolver',
      ...(dnssec.on && role === 'authoritative' ? { dnssec: true } : {}),
    });
  } catch (error) {
    return { ...base, problem: describeError(error) };
  }
  const values = recordSet(reply, record.type);
  const answer: ServerAnswer = {
    ...base,
    rcode: reply.rcode,
    values,
    ms: Math.round(reply.ms * 10) / 10,
    transport: reply.transport,
    ttl: minTtl(reply, record.type),
  };
  const who = `${answer.server} (${role})`;
  if (reply.rcode !== 'NOERROR')
    return { ...answer, problem: `${who} answered ${reply.rcode} for ${name} ${record.type}` };
  if (role === 'authoritative' && !reply.authoritative)
    return {
      ...answer,
      problem: `${who} answered ${name} ${record.type} without authority (AA flag unset): it does not serve the zone`,
    };
  if (values.length === 0) return { ...answer, problem: `${who} has no ${record.type} record for ${name}` };
  if (expected !== 'any' && !sameSet(values, expected))
    return {
      ...answer,
      problem: `${who} serves ${name} ${record.type} = ${describeValues(values)}, expected ${describeValues(expected)}`,
    };
  if (dnssec.on && role === 'authoritative') {
    const sigs = signatures(reply, record.type);
    if (sigs.length === 0)
      return { ...answer, problem: `${who} returned no RRSIG over ${name} ${record.type} in a signed zone` };
    const expires = new Date(Math.min(...sigs.map((s) => s.expires.getTime())));
    const left = expires.getTime() - dnssec.now.getTime();
    const withExpiry = { ...answer, rrsigExpires: expires };
    if (left < dnssec.minValidityMs)
      return {
        ...withExpiry,
        problem: `${who}: the RRSIG over ${name} ${record.type} ${left <= 0 ? 'expired' : 'expires'} at ${expires.toISOString()} (${formatLeft(left)}), less than the ${Math.round(dnssec.minValidityMs / 3_600_000)} h required`,
      };
    return { ...withExpiry, ok: true };
  }
  return { ...answer, ok: true };
}

export function formatLeft(ms: number): string {
  const abs = Math.abs(ms);
  const text =
    abs >= 86_400_000
      ? `${(abs / 86_400_000).toFixed(1)} days`
      : abs >= 3_600_000
        ? `${(abs / 3_600_000).toFixed(1)} h`
        : abs >= 60_000
          ? `${Math.round(abs / 60_000)} min`
          : `${Math.round(abs / 1000)} s`;
  return ms < 0 ? `${text} ago` : `${text} left`;
}

/** Checks every zone and record of the policy against every server. Never throws for a server's fault. */
export async function checkDnsHealth(
  dns: NetworkDnsPolicy,
  options: DnsCheckOptions = {},
  ask: (s: DnsServer, name: string, type: RecordType, o: QueryOptions) => Promise<DnsReply> = query,
): Promise<DnsHealthReport> {
  const now = (options.now ?? (() => new Date()))();
  // Hundreds of questions listen on one signal: give them their own, which follows the caller's.
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) controller.abort();
  try {
    return await checkWith(dns, now, controller.signal, options, ask);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function checkWith(
  dns: NetworkDnsPolicy,
  now: Date,
  signal: AbortSignal,
  options: DnsCheckOptions,
  ask: (s: DnsServer, name: string, type: RecordType, o: QueryOptions) => Promise<DnsReply>,
): Promise<DnsHealthReport> {
  const limit = limiter(options.concurrency ?? 128);
  const limited: typeof ask = (s, n, t, o) => limit(() => ask(s, n, t, o));
  const opts = queryOptions(dns, signal);
  const quorum = quorumOf(dns);
  let queries = 0;
  const counted: typeof ask = (s, n, t, o) => {
    queries++;
    return limited(s, n, t, o);
  };

  const zones = await Promise.all(
    dns.zones.map(async (zone): Promise<ZoneHealth> => {
      const zoneName = qualify(zone.zone, '@');
      const found = await authoritativeServers(dns, zone, counted, signal);
      const problems: string[] = found.problem ? [found.problem] : [];
      const serials = await Promise.all(
        found.servers.map(async (server) => {
          try {
            const reply = await counted(server, zoneName, 'SOA', opts);
            const serial = soaSerial(reply);
            const problem =
              reply.rcode !== 'NOERROR' || serial === null
                ? `${describeServer(server)} answered ${reply.rcode} without an SOA for ${zoneName}`
                : !reply.authoritative
                  ? `${describeServer(server)} is not authoritative for ${zoneName} (AA flag unset)`
                  : null;
            return { server: describeServer(server), serial, problem };
          } catch (error) {
            return { server: describeServer(server), serial: null, problem: describeError(error) };
          }
        }),
      );
      for (const s of serials) if (s.problem) problems.push(s.problem);
      const distinct = new Set(serials.filter((s) => s.serial !== null).map((s) => s.serial));
      if (distinct.size > 1)
        problems.push(
          `authoritative servers disagree on the SOA serial of ${zoneName}: ${serials
            .filter((s) => s.serial !== null)
            .map((s) => `${s.server} has ${s.serial}`)
            .join(', ')}`,
        );

      const records = await Promise.all(
        zone.records.map(async (record): Promise<RecordHealth> => {
          const name = qualify(zone.zone, record.name);
          const expected = expectedValues(record.type, record.value);
          const dnssec = { on: zone.dnssec, minValidityMs: dns.rrsig_min_validity.ms, now };
          const answers = await Promise.all([
            ...found.servers.map((s) => askServer(counted, s, 'authoritative', name, record, expected, opts, dnssec)),
            ...dns.resolvers.map((s) => askServer(counted, s, 'resolver', name, record, expected, opts, dnssec)),
          ]);
          const recordProblems: string[] = [];
          const warnings: string[] = [];
          const auth = answers.filter((a) => a.role === 'authoritative');
          for (const a of auth) if (a.problem) recordProblems.push(a.problem);
          const answeredSets = auth.filter((a) => a.rcode === 'NOERROR');
          if (answeredSets.some((a) => !sameSet(a.values, answeredSets[0]!.values)))
            recordProblems.push(
              `authoritative servers disagree on ${name} ${record.type}: ${answeredSets
                .map((a) => `${a.server} → ${describeValues(a.values)}`)
                .join('; ')}`,
            );
          const resolvers = answers.filter((a) => a.role === 'resolver');
          const failing = resolvers.filter((a) => !a.ok);
          if (failing.length >= quorum)
            recordProblems.push(
              `${failing.length} of ${resolvers.length} resolvers (quorum ${quorum}) see a problem with ${name} ${record.type}: ${failing.map((a) => a.problem).join('; ')}`,
            );
          else if (failing.length > 0)
            warnings.push(
              `${failing.length} of ${resolvers.length} resolvers disagree, below the quorum of ${quorum}: ${failing.map((a) => a.problem).join('; ')}`,
            );
          for (const a of answers)
            if (a.ms !== null && a.ms > dns.slow_answer.ms)
              warnings.push(
                `${a.server} took ${a.ms} ms to answer ${name} ${record.type} (slow: over ${dns.slow_answer.text})`,
              );
          return {
            zone: zoneName,
            name,
            type: record.type,
            expected,
            answers,
            ok: recordProblems.length === 0,
            problems: recordProblems,
            warnings,
          };
        }),
      );
      return {
        zone: zoneName,
        authoritative: found.servers.map(describeServer),
        serials,
        ok: problems.length === 0,
        problems,
        records,
      };
    }),
  );
  return { zones, quorum, resolvers: dns.resolvers.map(describeServer), queries };
}

/** One line per server: what it answered, how fast, over what. */
export function formatRecordHealth(record: RecordHealth): string {
  const lines = [
    `${record.name} ${record.type} (expected ${record.expected === 'any' ? 'any value' : describeValues(record.expected)}): ${record.ok ? 'ok' : 'FAILED'}`,
  ];
  for (const a of record.answers) {
    const what = a.rcode === null ? 'no answer' : `${a.rcode} ${describeValues(a.values)}`;
    const sig = a.rrsigExpires ? `, RRSIG until ${a.rrsigExpires.toISOString()}` : '';
    lines.push(
      `  ${a.role === 'authoritative' ? 'auth' : 'resv'} ${a.server}: ${what}${a.ms === null ? '' : ` in ${a.ms} ms over ${a.transport}`}${a.ttl === null ? '' : `, ttl ${a.ttl}`}${sig}${a.problem ? ` -- ${a.problem}` : ''}`,
    );
  }
  for (const w of record.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
