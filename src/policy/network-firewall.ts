// network.firewall (issue 12): the review schedule, where the ruleset lives (the host, or a named
// network namespace), and the services that must stay reachable after every firewall change.
import { z } from 'zod';
import { duration, frequency, identifier, int, list, str } from './fields.js';

const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).prefault({} as never);

export const networkFirewallPolicy = obj({
  review: frequency().prefault('monthly'),
  updates: obj({ emergency: duration().prefault('immediate'), planned: frequency().prefault('weekly') }),
  /** nftables (`nft -j list ruleset`); iptables (`iptables-save`) where nft is absent; auto picks. */
  backend: z.enum(['auto', 'nftables', 'iptables']).default('auto'),
  /** A named network namespace (`ip netns`) whose firewall this is; unset: the host's own. */
  netns: identifier('a network namespace name').optional(),
  /** Checked after every change; one that cannot be reached rolls the change back. */
  services: list(
    z.strictObject({
      name: str('a service name'),
      host: str('a host name or address'),
      port: int(1).max(65535),
    }),
  ).prefault([]),
  /** How long a service gets to accept a connection after a change. */
  connect_timeout: duration().prefault('3 seconds'),
  /** Roles whose approval a planned change needs (emergency changes need maintenance_windows.emergency.approval). */
  approval: list(str('a role')).default(['Head of Operations']),
  /** Ports meant to be open to the world (80, 443): still listed by the review, marked expected. */
  public_ports: list(int(1).max(65535)).default([]),
});

export type NetworkFirewallPolicy = z.output<typeof networkFirewallPolicy>;
