// Applying a firewall ruleset: checked first (`nft -c -f`), then applied as one transaction
// (`nft -f`: all of it or none of it), then every service of the policy is connected to; if one
// cannot be reached, the previous ruleset (saved with `nft list ruleset` just before) is restored
// the same way and the services are checked again. Only nftables rulesets are applied.
import { connect } from 'node:net';
import { exec } from '../../adapters/exec.js';
import { DrydockError, describeError } from '../../errors.js';
import type { NetworkFirewallPolicy } from '../../policy/network-firewall.js';
import { backendOf, firewallRunner } from './ruleset.js';

export interface ApplyOutcome {
  status: 'applied' | 'rolled_back' | 'failed';
  /** What happened, step by step, for the change record. */
  lines: string[];
  /** The ruleset before the change (nft text), restorable with nft -f. */
  previous: string | null;
  unreachable: string[];
}

// Run with `node -e` inside the namespace (Drydock itself cannot enter it): connect, exit 0 or 1.
const PROBE = `const [h, p, t] = process.argv.slice(1);
const s = require('net').connect({ host: h, port: Number(p) });
setTimeout(() => { console.error('no answer within ' + t + ' ms'); process.exit(2); }, Number(t));
s.on('connect', () => { s.destroy(); process.exit(0); });
s.on('error', (e) => { console.error(e.code || e.message); process.exit(1); });`;

/** Can a TCP connection to host:port be opened (from inside the policy's namespace when one is named)? */
export async function reachable(
  fw: Pick<NetworkFirewallPolicy, 'netns' | 'connect_timeout'>,
  service: { host: string; port: number },
  signal?: AbortSignal,
): Promise<{ ok: boolean; detail: string }> {
  const timeout = fw.connect_timeout.ms;
  if (fw.netns) {
    try {
      await exec(
        'ip',
        ['netns', 'exec', fw.netns, process.execPath, '-e', PROBE, service.host, String(service.port), String(timeout)],
        {
          timeoutMs: timeout + 10_000,
          what: `connection test in network namespace ${fw.netns}`,
          ...(signal ? { signal } : {}),
        },
      );
      return { ok: true, detail: 'connected' };
    } catch (error) {
      const stderr = error instanceof DrydockError ? describeError(error) : String(error);
      return { ok: false, detail: stderr };
    }
  }
  return new Promise((resolve) => {
    const socket = connect({ host: service.host, port: service.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, detail: `no answer within ${timeout} ms` });
    }, timeout);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: e.code ?? e.message });
    });
  });
}

async function checkServices(fw: NetworkFirewallPolicy, lines: string[], signal?: AbortSignal): Promise<string[]> {
  const results = await Promise.all(fw.services.map(async (s) => ({ s, r: await reachable(fw, s, signal) })));
  const unreachable: string[] = [];
  for (const { s, r } of results) {
    lines.push(`${s.name} (${s.host}:${s.port}): ${r.ok ? 'reachable' : `NOT reachable (${r.detail})`}`);
    if (!r.ok) unreachable.push(`${s.name} (${s.host}:${s.port})`);
  }
  return unreachable;
}

/** Checks, applies and validates a ruleset, rolling back when a service is lost. Never leaves half a ruleset. */
export async function applyRuleset(
  fw: NetworkFirewallPolicy,
  ruleset: string,
  signal?: AbortSignal,
  /** Called with the saved ruleset before anything changes, so a crash after this point can be rolled back. */
  onSaved?: (previous: string) => void,
): Promise<ApplyOutcome> {
  const run = firewallRunner(fw, signal);
  if ((await backendOf(fw, run)) !== 'nftables')
    throw new DrydockError(
      'FIREWALL_INVALID',
      'firewall changes are applied with nftables only, and nft is not available here',
      {
        hint: 'install nftables (iptables-save is enough for the review, not for changes)',
      },
    );
  const lines: string[] = [];
  const previous = (await run('nft', ['list', 'ruleset'])).stdout;
  lines.push(`saved the current ruleset (${previous.split('\n').length} lines) for a rollback`);
  onSaved?.(previous);
  try {
    await run('nft', ['-c', '-f', '-'], ruleset);
    lines.push('nft -c: the new ruleset parses');
  } catch (error) {
    lines.push(`nft -c refused the ruleset, nothing was applied: ${describeError(error)}`);
    return { status: 'failed', lines, previous, unreachable: [] };
  }
  try {
    await run('nft', ['-f', '-'], ruleset);
    lines.push('nft -f: the new ruleset is applied (one transaction)');
  } catch (error) {
    lines.push(`nft -f failed, nothing was applied (nft applies a file whole or not at all): ${describeError(error)}`);
    return { status: 'failed', lines, previous, unreachable: [] };
  }
  const unreachable = await checkServices(fw, lines, signal);
  if (unreachable.length === 0) return { status: 'applied', lines, previous, unreachable };
  lines.push(`rolling back: ${unreachable.join(', ')} cannot be reached`);
  await run('nft', ['-f', '-'], `flush ruleset\n${previous}`);
  lines.push('nft -f: the previous ruleset is restored');
  const after = await checkServices(fw, lines, signal);
  lines.push(
    after.length
      ? `after the rollback still unreachable: ${after.join(', ')}`
      : 'after the rollback every service is reachable again',
  );
  return { status: 'rolled_back', lines, previous, unreachable };
}

/** Restores a saved ruleset (`flush ruleset` + the saved text, one transaction), e.g. after a crash mid-change. */
export async function restoreRuleset(
  fw: NetworkFirewallPolicy,
  previous: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const run = firewallRunner(fw, signal);
  await run('nft', ['-f', '-'], `flush ruleset\n${previous}`);
  const lines = ['nft -f: the ruleset saved before the change is restored'];
  const unreachable = await checkServices(fw, lines, signal);
  lines.push(unreachable.length ? `still unreachable: ${unreachable.join(', ')}` : 'every service is reachable');
  return lines;
}
