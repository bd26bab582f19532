// A throwaway verdaccio registry for the dependency tests and the benchmark: its own config and
// storage in a temp dir, a free port on loopback, one user created through the registry's own
// /-/user API, and packages published with the same PUT request `npm publish` sends (a packument
// with the tarball attached), which is much faster than one `npm publish` process per version.
// Packages named private-* need a login (they answer 401 to anonymous readers).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, spawnProcess, type Spawned } from '../../../src/adapters/exec.js';
import { freePort } from '../../../src/adapters/free-port.js';

export interface Registry {
  url: string;
  port: number;
  dir: string;
  token: string;
  publish(pkg: PublishInput): Promise<void>;
  stop(): Promise<void>;
}

export interface PublishInput {
  name: string;
  version: string;
  /** Files besides package.json, e.g. {'index.js': 'module.exports = 1'}. */
  files?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const VERDACCIO = join(process.cwd(), 'node_modules', '.bin', 'verdaccio');

export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-verdaccio-'));
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(dir, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks: {}',
      'packages:',
      "  'private-*':",
      '    access: $authenticated',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'log: { type: stdout, format: json, level: error }',
      'max_body_size: 50mb',
      '',
    ].join('\n'),
  );
  const server: Spawned = spawnProcess(VERDACCIO, ['--config', config, '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    timeoutMs: 60 * 60_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/-/ping`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      server.child.kill('SIGKILL');
      throw new Error(`verdaccio did not answer on ${url} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const res = await fetch(`${url}/-/user/org.couchdb.user:tester`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tester', password: 'tester-password-1', type: 'user', roles: [] }),
  });
  const token = ((await res.json()) as { token?: string }).token;
  if (!token) throw new Error(`verdaccio did not create the test user (HTTP ${res.status})`);
  const work = join(dir, 'pack');
  mkdirSync(work, { recursive: true });
  let packs = 0;

  return {
    url,
    port,
    dir,
    token,
    async publish(pkg) {
      const root = join(work, String(packs++));
      mkdirSync(join(root, 'package'), { recursive: true });
      const manifest = {
        name: pkg.name,
        version: pkg.version,
        main: 'index.js',
        ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
        ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies } : {}),
      };
      writeFileSync(join(root, 'package', 'package.json'), JSON.stringify(manifest, null, 2));
      for (const [file, text] of Object.entries(pkg.files ?? { 'index.js': `module.exports = '${pkg.version}';\n` }))
        writeFileSync(join(root, 'package', file), text);
      const tgz = join(root, 'pkg.tgz');
      await exec('tar', ['-czf', tgz, '-C', root, 'package']);
      const data = readFileSync(tgz);
      rmSync(root, { recursive: true, force: true });
      const file = `${pkg.name}-${pkg.version}.tgz`;
      const body = {
        _id: pkg.name,
        name: pkg.name,
        'dist-tags': { latest: pkg.version },
        versions: {
          [pkg.version]: {
            ...manifest,
            _id: `${pkg.name}@${pkg.version}`,
            dist: {
              shasum: createHash('sha1').update(data).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
              tarball: `${url}/${pkg.name}/-/${file}`,
            },
          },
        },
        _attachments: {
          [file]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length },
        },
      };
      const put = await fetch(`${url}/${encodeURIComponent(pkg.name)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      if (!put.ok)
        throw new Error(`publishing ${pkg.name}@${pkg.version} failed: HTTP ${put.status} ${await put.text()}`);
    },
    async stop() {
      server.child.kill('SIGTERM');
      await server.done.catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
