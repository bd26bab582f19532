// Reads package documents (packuments) from an npm registry over HTTP with global fetch, many at a
// time. A registry that is down names its host and port; a 401/403 says a token is needed; a 404 is
// a package the registry does not have (a private package, a typo) and is reported, not fatal.
import { DrydockError } from '../../errors.js';

export interface Packument {
  name: string;
  'dist-tags'?: Record<string, string>;
  versions: Record<string, { version: string; deprecated?: string }>;
  time?: Record<string, string>;
}

export interface RegistryClient {
  url: string;
  packument(name: string, signal?: AbortSignal): Promise<Packument | null>;
}

export function packumentUrl(registry: string, name: string): string {
  // Scoped names keep their @ and encode the slash, as npm does: @scope%2fname.
  return `${registry.replace(/\/+$/, '')}/${name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name)}`;
}

export function registryClient(url: string, token?: string, timeoutMs = 30_000): RegistryClient {
  const where = new URL(url);
  const hostPort = `${where.hostname}:${where.port || (where.protocol === 'https:' ? 443 : 80)}`;
  return {
    url,
    async packument(name, signal) {
      let res: Response;
      try {
        res = await fetch(packumentUrl(url, name), {
          headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        throw new DrydockError(
          'TARGET_UNREACHABLE',
          `npm registry ${hostPort} is unreachable (${cause}) while reading ${name}`,
          {
            hint: `check that the registry at ${url} is up (dependencies.npm.registry)`,
            retryable: true,
          },
        );
      }
      if (res.status === 404) return null;
      if (res.status === 401 || res.status === 403) {
        throw new DrydockError(
          'TARGET_AUTH_FAILED',
          `npm registry ${hostPort} answered ${res.status} for ${name}: ${token ? 'the token given was refused' : 'it needs a token'}`,
          { hint: 'name the environment variable holding the token in dependencies.npm.registry_token_env' },
        );
      }
      if (!res.ok)
        throw new DrydockError(
          'TARGET_UNREACHABLE',
          `npm registry ${hostPort} answered HTTP ${res.status} for ${name}`,
          {
            retryable: res.status >= 500,
          },
        );
      return (await res.json()) as Packument;
    },
  };
}

/** Runs `fn` over `items` with at most `limit` in flight; the first error rejects after all started ones settle. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const state: { failure: Error | null } = { failure: null };
  const worker = async () => {
    while (next < items.length && state.failure === null) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (error) {
        state.failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (state.failure) throw state.failure;
  return out;
}
