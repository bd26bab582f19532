// A throwaway Debian docker-registry (the CNCF distribution registry) on loopback, its config and
// storage in a temp dir, optionally behind htpasswd Basic auth; images are OCI layouts written here
// (one gzip layer made by tar, a config, a manifest) and pushed with skopeo, as a CI job would.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, spawnProcess } from '../../../src/adapters/exec.js';
import { freePort } from '../../../src/adapters/free-port.js';

export interface ImageRegistry {
  host: string;
  /** Writes an OCI image whose one layer holds `content`, pushes it as repository:tag, returns its digest. */
  push(repository: string, tag: string, content: string): Promise<string>;
  stop(): Promise<void>;
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function startImageRegistry(options: { htpasswd?: string } = {}): Promise<ImageRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-oci-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const auth = options.htpasswd
    ? ['auth:', '  htpasswd:', '    realm: test-realm', `    path: ${join(dir, 'htpasswd')}`]
    : [];
  if (options.htpasswd) writeFileSync(join(dir, 'htpasswd'), options.htpasswd);
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: error }',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      'http:',
      `  addr: ${host}`,
      ...auth,
      '',
    ].join('\n'),
  );
  const server = spawnProcess('docker-registry', ['serve', join(dir, 'config.yml')], {
    timeoutMs: 60 * 60_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`http://${host}/v2/`).catch(() => null);
    if (res) {
      await res.body?.cancel();
      break;
    }
    if (Date.now() > deadline) {
      server.child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let n = 0;
  return {
    host,
    async push(repository, tag, content) {
      const work = join(dir, `image-${n++}`);
      const layout = join(work, 'layout');
      mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
      mkdirSync(join(work, 'rootfs', 'etc'), { recursive: true });
      writeFileSync(join(work, 'rootfs', 'etc', 'image-release'), content);
      await exec('tar', ['-cf', join(work, 'layer.tar'), '-C', join(work, 'rootfs'), 'etc']);
      const tar = readFileSync(join(work, 'layer.tar'));
      await exec('gzip', ['-n', '-k', join(work, 'layer.tar')]);
      const gz = readFileSync(join(work, 'layer.tar.gz'));
      const blob = (data: Buffer | string) => {
        const digest = sha(data);
        writeFileSync(join(layout, 'blobs', 'sha256', digest), data);
        return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
      };
      const layer = blob(gz);
      const config = blob(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: {},
          rootfs: { type: 'layers', diff_ids: [`sha256:${sha(tar)}`] },
        }),
      );
      const manifest = blob(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
        }),
      );
      writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      writeFileSync(
        join(layout, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              ...manifest,
              annotations: { 'org.opencontainers.image.ref.name': tag },
            },
          ],
        }),
      );
      const creds = options.htpasswd ? ['--dest-creds', 'pusher:pusher-password'] : [];
      await exec(
        'skopeo',
        [
          'copy',
          '--quiet',
          '--dest-tls-verify=false',
          ...creds,
          `oci:${layout}:${tag}`,
          `docker://${host}/${repository}:${tag}`,
        ],
        { timeoutMs: 120_000 },
      );
      rmSync(work, { recursive: true, force: true });
      return manifest.digest;
    },
    async stop() {
      server.child.kill('SIGTERM');
      await server.done.catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
