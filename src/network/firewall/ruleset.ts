// The firewall's ruleset as Drydock sees it: nftables (`nft -j list ruleset` for structure, `nft -a
// list ruleset` for the text each rule reads as) or, where nft is absent, `iptables-save`. Rules are
// reduced to comparable entries (table, chain, text without counters or handles) so a review can
// diff them against the approved baseline, and each accept rule is judged: does it open a port to
// the world (no source address or interface restriction), or accept everything? nft runs in the
// policy's network namespace when one is named (`ip netns exec NAME nft ...`).
import { exec, type ExecResult } from '../../adapters/exec.js';
import { DrydockError } from '../../errors.js';
import type { NetworkFirewallPolicy } from '../../policy/network-firewall.js';

export type Backend = 'nftables' | 'iptables';

export interface FirewallRule {
  /** "inet filter input" (nftables) or "filter INPUT" (iptables). */
  chain: string;
  /** The rule as its tool prints it, counters and handles removed. */
  text: string;
}

export interface RuleFlag {
  kind: 'world_open' | 'allow_all';
  chain: string;
  text: string;
  /** Ports opened, for world_open. */
  ports: string[];
  /** True when every port is one of the policy's public_ports. */
  expected: boolean;
  detail: string;
}

export interface FirewallSnapshot {
  backend: Backend;
  rules: FirewallRule[];
  /** What the tool printed (nft -j JSON or iptables-save), kept with a baseline. */
  raw: string;
  /** nft's text form, for a rollback with `nft -f` (nftables only). */
  restorable: string | null;
  flags: RuleFlag[];
}

type Runner = (program: string, args: string[], input?: string) => Promise<ExecResult>;

/** Runs a firewall tool on the host, or inside the policy's network namespace. */
export function firewallRunner(fw: Pick<NetworkFirewallPolicy, 'netns'>, signal?: AbortSignal): Runner {
  return (program, args, input) => {
    const [file, argv] = fw.netns ? ['ip', ['netns', 'exec', fw.netns, program, ...args]] : [program, args];
    return exec(file, argv, {
      timeoutMs: 60_000,
      what: fw.netns ? `${program} in network namespace ${fw.netns}` : program,
      ...(input !== undefined ? { input } : {}),
      ...(signal ? { signal } : {}),
    });
  };
}

async function hasProgram(run: Runner, program: string, args: string[]): Promise<boolean> {
  try {
    await run(program, args);
    return true;
  } catch (error) {
    if (error instanceof DrydockError && /not found/.test(error.message)) return false;
    throw error;
  }
}

export async function backendOf(fw: NetworkFirewallPolicy, run: Runner): Promise<Backend> {
  if (fw.backend !== 'auto') return fw.backend;
  return (await hasProgram(run, 'nft', ['--version'])) ? 'nftables' : 'iptables';
}

const withoutCounters = (text: string) =>
  text
    .replace(/\s*#\s*handle \d+\s*$/, '')
    .replace(/counter packets \d+ bytes \d+/g, 'counter')
    .replace(/\s+/g, ' ')
    .trim();

interface NftExpr {
  match?: { op: string; left: Record<string, Record<string, unknown>>; right: unknown };
  accept?: null;
  [key: string]: unknown;
}
interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  expr: NftExpr[];
}
interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  policy?: string;
}

/** handle → rule text, read from `nft -a list ruleset`, per "family table chain". */
export function parseNftText(text: string): Map<string, string> {
  const byHandle = new Map<string, string>();
  let table = '';
  let chain = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) {
      table = `${t[1]} ${t[2]}`;
      continue;
    }
    const c = /^chain (\S+) \{/.exec(line);
    if (c) {
      chain = c[1]!;
      continue;
    }
    const h = /#\s*handle (\d+)\s*$/.exec(line);
    if (h && chain && !line.startsWith('type ')) byHandle.set(`${table} ${chain} ${h[1]}`, withoutCounters(line));
  }
  return byHandle;
}

function portsOf(right: unknown): string[] {
  if (typeof right === 'number' || typeof right === 'string') return [String(right)];
  if (Array.isArray(right)) return right.flatMap(portsOf);
  if (right && typeof right === 'object') {
    const o = right as { set?: unknown; range?: unknown[] };
    if (o.set !== undefined) return portsOf(o.set);
    if (Array.isArray(o.range)) return [`${String(o.range[0])}-${String(o.range[1])}`];
  }
  return [JSON.stringify(right)];
}

function judgeNftRule(
  rule: NftRule,
  chain: NftChain | undefined,
  text: string,
  publicPorts: number[],
): RuleFlag | null {
  const where = `${rule.family} ${rule.table} ${rule.chain}`;
  if (chain?.hook && chain.hook !== 'input' && chain.hook !== 'forward') return null;
  if (!rule.expr.some((e) => 'accept' in e)) return null;
  const matches = rule.expr.filter((e) => e.match).map((e) => e.match!);
  const restricted = matches.some((m) => {
    const payload = m.left.payload as { field?: string } | undefined;
    const meta = m.left.meta as { key?: string } | undefined;
    return (
      payload?.field === 'saddr' ||
      (meta?.key !== undefined && ['iif', 'iifname', 'iiftype'].includes(meta.key)) ||
      m.left.ct !== undefined
    );
  });
  if (restricted) return null;
  const ports = matches.flatMap((m) => {
    const payload = m.left.payload as { field?: string } | undefined;
    return payload?.field === 'dport' && m.op !== '!=' ? portsOf(m.right) : [];
  });
  if (ports.length)
    return {
      kind: 'world_open',
      chain: where,
      text,
      ports,
      expected: ports.every((p) => publicPorts.includes(Number(p))),
      detail: `${where}: "${text}" opens port ${ports.join(', ')} to every source address`,
    };
  if (matches.length === 0)
    return {
      kind: 'allow_all',
      chain: where,
      text,
      ports: [],
      expected: false,
      detail: `${where}: "${text}" accepts every packet that reaches it`,
    };
  return null;
}

/** Reads a snapshot of the nftables ruleset from `nft -j list ruleset` and `nft -a list ruleset`. */
export function nftSnapshot(json: string, text: string, plain: string, publicPorts: number[]): FirewallSnapshot {
  let parsed: { nftables?: Array<Record<string, unknown>> };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch (error) {
    throw new DrydockError('FIREWALL_INVALID', `nft -j list ruleset printed something that is not JSON`, {
      cause: error,
    });
  }
  const items = parsed.nftables ?? [];
  const chains = items.flatMap((i) => (i.chain ? [i.chain as NftChain] : []));
  const texts = parseNftText(text);
  const rules: FirewallRule[] = [];
  const flags: RuleFlag[] = [];
  for (const chain of chains) {
    if (!chain.hook) continue;
    const where = `${chain.family} ${chain.table} ${chain.name}`;
    rules.push({ chain: where, text: `policy ${chain.policy ?? 'accept'} (hook ${chain.hook})` });
    if ((chain.hook === 'input' || chain.hook === 'forward') && (chain.policy ?? 'accept') === 'accept')
      flags.push({
        kind: 'allow_all',
        chain: where,
        text: `policy accept`,
        ports: [],
        expected: false,
        detail: `${where}: the chain's policy is accept, so every packet no rule drops is let in`,
      });
  }
  for (const item of items) {
    if (!item.rule) continue;
    const rule = item.rule as NftRule;
    const where = `${rule.family} ${rule.table} ${rule.chain}`;
    const ruleText = texts.get(`${where} ${rule.handle}`) ?? JSON.stringify(rule.expr);
    rules.push({ chain: where, text: ruleText });
    const chain = chains.find((c) => c.family === rule.family && c.table === rule.table && c.name === rule.chain);
    const flag = judgeNftRule(rule, chain, ruleText, publicPorts);
    if (flag) flags.push(flag);
  }
  return { backend: 'nftables', rules, raw: json, restorable: plain, flags };
}

/** Reads an `iptables-save` dump: chain policies and -A rules, judged like nft rules. */
export function iptablesSnapshot(dump: string, publicPorts: number[]): FirewallSnapshot {
  const rules: FirewallRule[] = [];
  const flags: RuleFlag[] = [];
  let table = '';
  for (const raw of dump.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) table = line.slice(1);
    const policy = /^:(\S+) (\S+)/.exec(line);
    if (policy && policy[2] !== '-') {
      rules.push({ chain: `${table} ${policy[1]}`, text: `policy ${policy[2]}` });
      if (table === 'filter' && ['INPUT', 'FORWARD'].includes(policy[1]!) && policy[2] === 'ACCEPT')
        flags.push({
          kind: 'allow_all',
          chain: `${table} ${policy[1]}`,
          text: 'policy ACCEPT',
          ports: [],
          expected: false,
          detail: `${table} ${policy[1]}: the chain's policy is ACCEPT, so every packet no rule drops is let in`,
        });
    }
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule) continue;
    const chain = `${table} ${rule[1]}`;
    const text = rule[2]!.replace(/\s+/g, ' ').trim();
    rules.push({ chain, text });
    if (table !== 'filter' || !['INPUT', 'FORWARD'].includes(rule[1]!) || !/-j ACCEPT\b/.test(text)) continue;
    if (/(^| )(-s|--source|-i|--in-interface|--ctstate|--state)( |$)/.test(text) || /-m (conntrack|state)/.test(text))
      continue;
    const ports = [...text.matchAll(/--dports? (\S+)/g)]
      .flatMap((m) => m[1]!.split(','))
      .map((p) => p.replace(':', '-'));
    const matchless =
      text
        .replace(/-j ACCEPT/, '')
        .replace(/-m comment --comment ("[^"]*"|\S+)/, '')
        .trim() === '';
    if (ports.length)
      flags.push({
        kind: 'world_open',
        chain,
        text,
        ports,
        expected: ports.every((p) => publicPorts.includes(Number(p))),
        detail: `${chain}: "${text}" opens port ${ports.join(', ')} to every source address`,
      });
    else if (matchless)
      flags.push({
        kind: 'allow_all',
        chain,
        text,
        ports: [],
        expected: false,
        detail: `${chain}: "${text}" accepts every packet that reaches it`,
      });
  }
  return { backend: 'iptables', rules, raw: dump, restorable: null, flags };
}

export async function takeSnapshot(fw: NetworkFirewallPolicy, run: Runner): Promise<FirewallSnapshot> {
  const backend = await backendOf(fw, run);
  if (backend === 'iptables') return iptablesSnapshot((await run('iptables-save', [])).stdout, fw.public_ports);
  const [json, annotated, plain] = await Promise.all([
    run('nft', ['-j', 'list', 'ruleset']),
    run('nft', ['-a', 'list', 'ruleset']),
    run('nft', ['list', 'ruleset']),
  ]);
  return nftSnapshot(json.stdout, annotated.stdout, plain.stdout, fw.public_ports);
}

export interface RuleDiff {
  added: FirewallRule[];
  removed: FirewallRule[];
}

const key = (r: FirewallRule) => `${r.chain}\u0000${r.text}`;

/** Added and removed rules (a rule present twice counts twice). */
export function diffRules(baseline: readonly FirewallRule[], current: readonly FirewallRule[]): RuleDiff {
  const remaining = new Map<string, number>();
  for (const r of baseline) remaining.set(key(r), (remaining.get(key(r)) ?? 0) + 1);
  const added: FirewallRule[] = [];
  for (const r of current) {
    const n = remaining.get(key(r)) ?? 0;
    if (n > 0) remaining.set(key(r), n - 1);
    else added.push(r);
  }
  const removed: FirewallRule[] = [];
  const left = new Map(remaining);
  for (const r of baseline) {
    const n = left.get(key(r)) ?? 0;
    if (n > 0) {
      removed.push(r);
      left.set(key(r), n - 1);
    }
  }
  return { added, removed };
}
