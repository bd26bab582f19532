// dependencies.docker against Debian's docker-registry on loopback, with images written here as OCI
// layouts and pushed by skopeo, and scanner reports recorded in Trivy's and Grype's JSON formats
// (printed by a stand-in scanner program, since neither scanner can download its database here).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../../src/adapters/exec.js';
import { freePort } from '../../src/adapters/free-port.js';
import { DependencyService } from '../../src/dependencies/service.js';
import { parseImageRef, formatImageRef } from '../../src/dependencies/docker/registry.js';
import { newerTag, readFromLines } from '../../src/dependencies/docker/images.js';
import { fixedClock } from '../../src/engine/clock.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { startImageRegistry, type ImageRegistry } from './helpers/image-registry.js';

let registry: ImageRegistry;
let dir: string;
const apps: TestApp[] = [];
const digests: Record<string, string> = {};

// Trivy's JSON for the new node image: one HIGH finding. Grype's for the new redis image: one Low.
const TRIVY_HIGH = {
  SchemaVersion: 2,
  ArtifactName: 'node',
  Results: [
    {
      Target: 'node (debian 12.5)',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-2026-0001',
          PkgName: 'openssl',
          InstalledVersion: '3.0.11',
          FixedVersion: '3.0.13',
          Severity: 'HIGH',
        },
        { VulnerabilityID: 'CVE-2026-0002', PkgName: 'zlib', InstalledVersion: '1.2.13', Severity: 'LOW' },
      ],
    },
  ],
};
const GRYPE_LOW = {
  matches: [
    {
      vulnerability: { id: 'CVE-2026-0003', severity: 'Low', fix: { versions: [] } },
      artifact: { name: 'tzdata', version: '2024a' },
    },
  ],
};
const TRIVY_CLEAN = { SchemaVersion: 2, Results: [{ Target: 'postgres', Vulnerabilities: null }] };

beforeAll(async () => {
  registry = await startImageRegistry();
  dir = mkdtempSync(join(tmpdir(), 'drydock-docker-test-'));
  digests['node:20.11.0-bookworm'] = await registry.push('node', '20.11.0-bookworm', 'node 20.11.0');
  digests['node:20.12.1-bookworm'] = await registry.push('node', '20.12.1-bookworm', 'node 20.12.1');
  digests['node:22.1.0-bookworm'] = await registry.push('node', '22.1.0-bookworm', 'node 22.1.0');
  digests['node:20.13.0-alpine'] = await registry.push('node', '20.13.0-alpine', 'node alpine');
  digests['redis:7.2.4'] = await registry.push('redis', '7.2.4', 'redis 7.2.4');
  digests['redis:7.2.5'] = await registry.push('redis', '7.2.5', 'redis 7.2.5');
  digests['postgres:15.6-old'] = await registry.push('postgres', '15.6', 'postgres 15.6 first build');
  digests['postgres:15.6'] = await registry.push('postgres', '15.6', 'postgres 15.6 rebuilt');
  writeFileSync(join(dir, 'trivy-high.json'), JSON.stringify(TRIVY_HIGH));
  writeFileSync(join(dir, 'grype-low.json'), JSON.stringify(GRYPE_LOW));
  writeFileSync(join(dir, 'trivy-clean.json'), JSON.stringify(TRIVY_CLEAN));
  // The stand-in scanner: prints the recorded report for the image it is asked about.
  writeFileSync(
    join(dir, 'scanner.mjs'),
    `import { readFileSync } from 'node:fs';\nconst image = process.argv[2];\nconst file = image.includes('/node:') ? 'trivy-high.json' : image.includes('/redis:') ? 'grype-low.json' : 'trivy-clean.json';\nprocess.stdout.write(readFileSync(new URL(file, import.meta.url)));\n`,
  );
}, 180_000);

afterAll(async () => {
  for (const app of apps) await app.dispose();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(dockerfile: string, docker: Record<string, unknown> = {}) {
  const clock = fixedClock(new Date('2027-02-10T03:00:00Z'));
  const app = await testApp(
    {
      dependencies: {
        docker: {
          dockerfiles: [dockerfile],
          insecure_registries: [registry.host],
          scan: { tool: 'Trivy', threshold: 'high', command: [process.execPath, join(dir, 'scanner.mjs'), '{image}'] },
          ...docker,
        },
      },
    },
    { clock },
  );
  apps.push(app);
  const record = await app.engine.run('dependencies.docker', { trigger: 'manual', force: true });
  return { record, service: new DependencyService({ db: app.store.db, policy: app.loaded.policy, clock }) };
}

describe('dependencies.docker', () => {
  it('reads image references and picks the newest tag of the same flavour', () => {
    expect(parseImageRef('node:20')).toEqual({
      registry: 'docker.io',
      repository: 'library/node',
      tag: '20',
      digest: null,
    });
    const pinned = parseImageRef('127.0.0.1:5000/team/api:1.2.3@sha256:abc');
    expect(pinned).toEqual({ registry: '127.0.0.1:5000', repository: 'team/api', tag: '1.2.3', digest: 'sha256:abc' });
    expect(formatImageRef(pinned)).toBe('127.0.0.1:5000/team/api:1.2.3@sha256:abc');
    const tags = ['20.11.0-bookworm', '20.12.1-bookworm', '22.1.0-bookworm', '20.13.0-alpine', 'latest', '20-bookworm'];
    expect(newerTag('20.11.0-bookworm', tags)).toEqual({ tag: '22.1.0-bookworm', type: 'major' });
    expect(newerTag('20.13.0-alpine', tags)).toBeNull();
    expect(newerTag('7.2.4', ['7.2.4', '7.2.5', '7.3.0-rc1'])).toEqual({ tag: '7.2.5', type: 'patch' });
  });

  it('proposes digest-pinned updates, blocks one whose scan reaches the threshold, and records the scan', async () => {
    const file = join(dir, 'Dockerfile');
    writeFileSync(
      file,
      [
        `FROM --platform=linux/amd64 ${registry.host}/node:20.11.0-bookworm AS build`,
        'RUN npm ci',
        `FROM ${registry.host}/redis:7.2.4`,
        `FROM ${registry.host}/postgres:15.6@${digests['postgres:15.6-old']}`,
        'FROM build AS final',
        'FROM scratch',
        '',
      ].join('\n'),
    );
    expect(readFromLines(file).map((f) => f.line)).toEqual([1, 3, 4]);
    const { record, service } = await run(file);
    expect(record.status).toBe('succeeded');
    const updates = service.store.list({ ecosystem: 'docker' });
    const of = (name: string) => updates.find((u) => u.package === `${registry.host}/${name}`)!;

    const node = of('node');
    expect(node.type).toBe('major');
    expect(node.toVersion).toBe(`22.1.0-bookworm@${digests['node:22.1.0-bookworm']}`);
    expect(node.status).toBe('blocked');
    expect(node.reason).toContain('1 finding(s) at or above high');
    expect(node.detail.scan).toMatchObject({
      tool: 'Trivy',
      counts: { high: 1, low: 1 },
      blocked: true,
      blocking: [{ id: 'CVE-2026-0001', package: 'openssl', severity: 'high', fixedIn: '3.0.13' }],
    });
    expect(node.detail.toLine).toBe(
      `FROM --platform=linux/amd64 ${registry.host}/node:22.1.0-bookworm@${digests['node:22.1.0-bookworm']} AS build`,
    );

    const redis = of('redis');
    expect(redis).toMatchObject({
      type: 'patch',
      status: 'pending_approval',
      toVersion: `7.2.5@${digests['redis:7.2.5']}`,
    });
    expect(redis.detail.scan).toMatchObject({ counts: { low: 1 }, blocked: false });

    // The tag was rebuilt: the pinned digest is out of date and the new one is proposed.
    const postgres = of('postgres');
    expect(postgres).toMatchObject({
      type: 'digest',
      status: 'pending_approval',
      fromVersion: `15.6@${digests['postgres:15.6-old']}`,
      toVersion: `15.6@${digests['postgres:15.6']}`,
    });
    expect(digests['postgres:15.6']).not.toBe(digests['postgres:15.6-old']);
    expect(record.summary.join('\n')).toContain('3 update(s) proposed (1 blocked by the scan)');
  }, 300_000);

  it('a critical threshold lets the high finding through', async () => {
    const file = join(dir, 'Dockerfile.critical');
    writeFileSync(file, `FROM ${registry.host}/node:20.11.0-bookworm\n`);
    const { service } = await run(file, {
      scan: { tool: 'Trivy', threshold: 'critical', command: [process.execPath, join(dir, 'scanner.mjs'), '{image}'] },
    });
    expect(service.store.list({ ecosystem: 'docker' })[0]).toMatchObject({ status: 'pending_approval' });
  }, 120_000);

  it('stops an image with a clear reason when its registry is down or answers 401', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const file = join(dir, 'Dockerfile.down');
    writeFileSync(file, `FROM ${dead}/node:20.11.0-bookworm\nFROM ${registry.host}/redis:7.2.4\n`);
    const down = await run(file, { insecure_registries: [dead, registry.host] });
    expect(down.record.status).toBe('failed');
    expect(down.record.error).toContain(`image registry ${dead} is unreachable (ECONNREFUSED) while reading node`);
    // The other image is still checked and recorded.
    expect(down.service.store.list({ ecosystem: 'docker' }).map((u) => u.package)).toEqual([`${registry.host}/redis`]);

    const hash = (
      await exec('python3', [
        '-c',
        'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
        'pusher-password',
      ])
    ).stdout.trim();
    const locked = await startImageRegistry({ htpasswd: `pusher:${hash}\n` });
    try {
      await locked.push('node', '20.11.0-bookworm', 'private node');
      const f2 = join(dir, 'Dockerfile.locked');
      writeFileSync(f2, `FROM ${locked.host}/node:20.11.0-bookworm\n`);
      const denied = await run(f2, { insecure_registries: [locked.host] });
      expect(denied.record.status).toBe('failed');
      expect(denied.record.error).toContain(
        `image registry ${locked.host} answered 401 for node: it needs credentials`,
      );
      process.env.DD_TEST_OCI_CREDS = 'pusher:pusher-password';
      try {
        const allowed = await run(f2, {
          insecure_registries: [locked.host],
          registry_credentials_env: 'DD_TEST_OCI_CREDS',
        });
        expect(allowed.record.status).toBe('succeeded');
        // Not pinned yet: the proposal pins the digest of the same tag.
        expect(allowed.service.store.list({ ecosystem: 'docker' })[0]).toMatchObject({
          type: 'digest',
          fromVersion: '20.11.0-bookworm',
        });
      } finally {
        delete process.env.DD_TEST_OCI_CREDS;
      }
    } finally {
      await locked.stop();
    }
  }, 300_000);
});
