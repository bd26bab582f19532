// The endpoints TLS validation checks, from the policy: the listed ones plus every renewed
// certificate's endpoint, each once; and the checking of many at once with a bounded pool.
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { DrydockError } from '../../errors.js';
import type { Policy } from '../../policy/schema.js';
import { checkEndpoint, type EndpointPolicy, type EndpointReport } from './check.js';
import type { TlsEndpoint } from './connect.js';

export interface EndpointTarget {
  name: string;
  endpoint: TlsEndpoint;
  caFile?: string;
}

export function endpointTargets(policy: Policy): EndpointTarget[] {
  const out: EndpointTarget[] = [];
  const seen = new Set<string>();
  const add = (target: EndpointTarget) => {
    const key = `${target.endpoint.host}:${target.endpoint.port}/${target.endpoint.servername ?? ''}/${target.endpoint.protocol}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(target);
  };
  for (const e of policy.network.ssl.validation.endpoints) {
    const endpoint: TlsEndpoint = {
      host: e.host,
      port: e.port,
      protocol: e.protocol,
      ...(e.servername ? { servername: e.servername } : {}),
    };
    add({ name: e.name ?? `${e.host}:${e.port}`, endpoint, ...(e.ca_file ? { caFile: e.ca_file } : {}) });
  }
  for (const c of policy.network.ssl.renewal.certificates) {
    if (!c.endpoint) continue;
    const endpoint: TlsEndpoint = {
      host: c.endpoint.host,
      port: c.endpoint.port,
      protocol: c.endpoint.protocol,
      servername: c.endpoint.servername ?? c.domains[0]!,
    };
    add({ name: c.name, endpoint });
  }
  return out;
}

export function endpointPolicy(policy: Policy, caFile?: string): EndpointPolicy {
  const v = policy.network.ssl.validation;
  return {
    expiryAlertMs: v.expiry_alert.ms,
    expiryAlertShare: 1 / 6,
    minRsaBits: v.min_key_bits.rsa,
    minEcBits: v.min_key_bits.ec,
    timeoutMs: v.timeout.ms,
    ...(caFile ? { ca: readCaFile(caFile) } : {}),
  };
}

export function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `cannot read CA file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        hint: 'network.ssl.validation.endpoints[].ca_file must be a readable PEM file',
      },
    );
  }
}

/** Runs `fn` over `items` with at most `limit` at once, keeping the input order in the result. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Checks every target with the policy's concurrency; a CA file that cannot be read fails that endpoint only. */
export async function checkTargets(
  policy: Policy,
  targets: readonly EndpointTarget[],
  options: { signal?: AbortSignal; now?: () => Date; onReport?: (report: EndpointReport) => Promise<void> | void } = {},
): Promise<EndpointReport[]> {
  if (options.signal) setMaxListeners(0, options.signal);
  return mapPool(targets, policy.network.ssl.validation.concurrency, async (target) => {
    let report: EndpointReport;
    try {
      report = await checkEndpoint(target.name, target.endpoint, endpointPolicy(policy, target.caFile), options);
    } catch (error) {
      report = {
        name: target.name,
        endpoint: target.endpoint,
        where: `${target.endpoint.host}:${target.endpoint.port}`,
        reachable: false,
        error: error instanceof Error ? error.message : String(error),
        chain: [],
        trusted: false,
        hostnameOk: false,
        legacyProtocols: [],
        weakCiphers: [],
        problems: [],
        durationMs: 0,
      };
    }
    await options.onReport?.(report);
    return report;
  });
}
