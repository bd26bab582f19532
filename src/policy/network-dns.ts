// network.dns (issue 12): the zones and records to watch, the resolver panel with its quorum and the
// authoritative servers (found from the zone's NS records unless listed). Server addresses are read
// once, at load, into host and port; `config print` shows them as written.
import { z } from 'zod';
import { parseServer } from '../network/dns/client.js';
import { bool, describeValue, duration, frequency, int, list, str } from './fields.js';
import { PhraseValue } from './values.js';

const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).prefault({} as never);

/** "1.1.1.1", "127.0.0.1:5353", "[2606:4700::1111]:53", "ns1.example.org". */
export class DnsServerAddress extends PhraseValue {
  constructor(
    text: string,
    readonly host: string,
    readonly port: number,
  ) {
    super(text);
  }

  get name(): string {
    return this.text;
  }
}

export const dnsServer = () =>
  z
    .string({
      error: (issue) => `expected a DNS server like "1.1.1.1" or "127.0.0.1:5353", got ${describeValue(issue.input)}`,
    })
    .meta({
      description: 'a DNS server, host or host:port (port 53 by default), e.g. "9.9.9.9"',
      examples: ['9.9.9.9'],
    })
    .transform((value, ctx) => {
      const server = parseServer(value);
      if (server) return new DnsServerAddress(value, server.host, server.port);
      ctx.addIssue({
        code: 'custom',
        message: `expected a DNS server like "1.1.1.1" or "[::1]:5353", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    });

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'CAA', 'PTR'] as const;

const dnsRecord = z.strictObject({
  /** "www" (in the zone), "@" (the zone's apex) or a full name ending with the zone. */
  name: str('a record name like "www" or "@"'),
  type: z.enum(DNS_RECORD_TYPES, {
    error: (issue) => `expected one of ${DNS_RECORD_TYPES.join(', ')}, got ${describeValue(issue.input)}`,
  }),
  /** The value expected, a list for a record set (order does not matter), or "any" (only that it resolves). */
  value: z.union([str('a record value'), list(str('a record value')).min(1)]).default('any'),
});

const dnsZone = z.strictObject({
  zone: str('a zone name like "dokkerr.com"').regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/, {
    message: 'expected a zone name like "dokkerr.com"',
  }),
  /** Authoritative servers to ask; empty: the zone's NS records, looked up through the resolver panel. */
  authoritative: list(dnsServer()).prefault([]),
  /** Port of the servers found from NS records. */
  authoritative_port: int(1).max(65535).default(53),
  /** The zone is signed: every answer must carry an RRSIG that is not about to expire. */
  dnssec: bool().default(false),
  records: list(dnsRecord).prefault([]),
});

export const networkDnsPolicy = obj({
  health_check: frequency().prefault('hourly'),
  propagation: obj({ check: frequency().prefault('every 15 minutes'), timeout: duration().prefault('24 hours') }),
  /** The resolver panel: several, never one (a single resolver's hiccup is not an outage). */
  resolvers: list(dnsServer())
    .min(2, { message: 'list at least two resolvers: a record fails only when a quorum of them agrees' })
    .prefault(['1.1.1.1', '8.8.8.8', '9.9.9.9']),
  /** Resolvers that must see a problem before a record fails; default: a majority of the panel. */
  quorum: int(1).optional(),
  /** Per attempt, per server. */
  timeout: duration().prefault('2 seconds'),
  /** UDP attempts per question before a server counts as not answering. */
  attempts: int(1).max(5).default(2),
  /** Answers slower than this are reported (a warning, not a failure). */
  slow_answer: duration().prefault('500ms'),
  /** A signed record fails when its RRSIG expires sooner than this. */
  rrsig_min_validity: duration().prefault('7 days'),
  zones: list(dnsZone).prefault([]),
}).refine((dns) => dns.quorum === undefined || dns.quorum <= dns.resolvers.length, {
  message: 'quorum is larger than the number of resolvers',
  path: ['quorum'],
});

export type NetworkDnsPolicy = z.output<typeof networkDnsPolicy>;
export type DnsZonePolicy = NetworkDnsPolicy['zones'][number];
export type DnsRecordPolicy = DnsZonePolicy['records'][number];
