// A client for the OCI distribution API, the few calls base-image updates need: the tags of a
// repository and the digest a tag points to. Docker Hub's anonymous bearer-token dance is followed
// (WWW-Authenticate: Bearer realm=...); a registry asking for Basic credentials gets them from the
// policy's environment variable, or the update stops with a clear 401 reason. Written by hand: it is
// two kinds of HTTP request over global fetch, and no Docker daemon is involved.
import { DrydockError } from '../../errors.js';

export interface ImageRef {
  /** Registry host[:port] as written, or docker.io. */
  registry: string;
  /** Repository path inside the registry, e.g. library/node. */
  repository: string;
  tag: string | null;
  digest: string | null;
}

const DOCKER_HUB = 'docker.io';

/** Parses "node:20", "127.0.0.1:5000/node:20.11.0-bookworm@sha256:...", "ghcr.io/org/app". */
export function parseImageRef(text: string): ImageRef {
  let rest = text.trim();
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const parts = rest.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : DOCKER_HUB;
  let path = (hasRegistry ? parts.slice(1) : parts).join('/');
  let tag: string | null = null;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  return { registry, repository: path, tag: tag ?? (digest ? null : 'latest'), digest };
}

export function formatImageRef(ref: ImageRef): string {
  const repo =
    ref.registry === DOCKER_HUB ? ref.repository.replace(/^library\//, '') : `${ref.registry}/${ref.repository}`;
  return `${repo}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface OciClientOptions {
  insecure: readonly string[];
  /** "user:password" for registries that ask for Basic authentication. */
  credentials?: string;
  timeoutMs?: number;
}

export class OciClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly options: OciClientOptions) {}

  private base(registry: string): string {
    const host = registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
    return `${this.options.insecure.includes(registry) ? 'http' : 'https'}://${host}`;
  }

  private async request(ref: ImageRef, path: string, method: 'GET' | 'HEAD', accept: string): Promise<Response> {
    const url = `${this.base(ref.registry)}/v2/${ref.repository}/${path}`;
    const send = async (authorization?: string) => {
      try {
        return await fetch(url, {
          method,
          headers: { accept, ...(authorization ? { authorization } : {}) },
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        throw new DrydockError(
          'TARGET_UNREACHABLE',
          `image registry ${ref.registry} is unreachable (${cause}) while reading ${ref.repository}`,
          {
            hint: `check that the registry is up; a registry over plain HTTP goes in dependencies.docker.insecure_registries`,
            retryable: true,
          },
        );
      }
    };
    const key = `${ref.registry}/${ref.repository}`;
    let res = await send(this.tokens.get(key));
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel();
      const auth = await this.authorize(ref, challenge);
      if (auth) {
        this.tokens.set(key, auth);
        res = await send(auth);
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new DrydockError(
          'TARGET_AUTH_FAILED',
          `image registry ${ref.registry} answered ${res.status} for ${ref.repository}: ${this.options.credentials ? 'the credentials given were refused' : 'it needs credentials'}`,
          {
            hint: 'name the environment variable holding "user:password" in dependencies.docker.registry_credentials_env',
          },
        );
      }
    }
    return res;
  }

  /** Answers a 401 challenge: Basic with the policy's credentials, or Bearer with a token from the realm. */
  private async authorize(ref: ImageRef, challenge: string): Promise<string | null> {
    const basic = this.options.credentials ? `Basic ${Buffer.from(this.options.credentials).toString('base64')}` : null;
    if (/^basic/i.test(challenge)) return basic;
    if (!/^bearer/i.test(challenge)) return basic;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) return null;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${ref.repository}:pull`);
    const res = await fetch(url, {
      headers: basic ? { authorization: basic } : {},
      signal: AbortSignal.timeout(30_000),
    }).catch(() => null);
    if (!res?.ok) return null;
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : null;
  }

  async tags(ref: ImageRef): Promise<string[]> {
    const res = await this.request(ref, 'tags/list', 'GET', 'application/json');
    if (!res.ok)
      throw new DrydockError(
        'TARGET_UNREACHABLE',
        `image registry ${ref.registry} answered HTTP ${res.status} listing the tags of ${ref.repository}`,
      );
    return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
  }

  /** The digest a tag (or digest) points to now, from the Docker-Content-Digest header. */
  async digest(ref: ImageRef, reference: string): Promise<string> {
    const res = await this.request(ref, `manifests/${reference}`, 'HEAD', MANIFEST_TYPES);
    await res.body?.cancel();
    const digest = res.headers.get('docker-content-digest');
    if (!res.ok || !digest)
      throw new DrydockError(
        'TARGET_UNREACHABLE',
        `image registry ${ref.registry} has no manifest ${ref.repository}:${reference} (HTTP ${res.status})`,
      );
    return digest;
  }
}
