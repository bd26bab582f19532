// dependencies.npm against a real verdaccio registry started here, real git repositories of a
// small application, npm itself rewriting package.json and the lockfile, and the application's own
// tests. Covers automerge of patch and security updates (direct and transitive), approval of minor
// updates, a release that breaks the tests, soak, blackouts that queue merges, and the faults.
import { createServer, type Server } from 'node:http';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyService } from '../../src/dependencies/service.js';
import { fixedClock } from '../../src/engine/clock.js';
import { freePort } from '../../src/adapters/free-port.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { createNpmApp, removeNpmApps, type NpmApp } from './helpers/npm-app.js';
import { startRegistry, type Registry } from './helpers/verdaccio.js';

let registry: Registry;
let hook: Server;
let hookUrl: string;
const notices: Array<{ subject?: string; text?: string; body?: string }> = [];
const apps: TestApp[] = [];

const value = (name: string, version: string, v = version) => ({
  name,
  version,
  files: { 'index.js': `module.exports = ${JSON.stringify(v)};\n` },
});

// The application's test: dd-breaks must still say "ok".
const APP_TEST = `const v = require('dd-breaks');\nif (v !== 'ok') { console.error('expected dd-breaks to be "ok", got ' + JSON.stringify(v)); process.exit(1); }\nconsole.log('1 test passed');\n`;

const ADVISORIES = [
  {
    id: 'GHSA-test-vuln-0001',
    summary: 'dd-vuln lets anyone in',
    database_specific: { severity: 'HIGH' },
    affected: [
      {
        package: { ecosystem: 'npm', name: 'dd-vuln' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.2.1' }] }],
      },
    ],
  },
  {
    id: 'GHSA-test-deep-0002',
    summary: 'dd-deep leaks memory on purpose',
    database_specific: { severity: 'MODERATE' },
    affected: [
      {
        package: { ecosystem: 'npm', name: 'dd-deep' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.0.1' }] }],
      },
    ],
  },
];

beforeAll(async () => {
  registry = await startRegistry();
  // The versions the applications start on.
  for (const name of ['dd-patchy', 'dd-minor', 'dd-major', 'dd-other', 'dd-both'])
    await registry.publish(value(name, '1.0.0'));
  await registry.publish(value('dd-vuln', '1.2.0'));
  await registry.publish(value('dd-breaks', '1.0.0', 'ok'));
  await registry.publish(value('dd-deep', '1.0.0'));
  await registry.publish({ name: 'dd-parent', version: '1.0.0', dependencies: { 'dd-deep': '^1.0.0' } });
  await registry.publish(value('dd-peer', '1.0.0'));
  await registry.publish(value('private-dd', '1.0.0'));
  port = await freePort();
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      notices.push({ ...(JSON.parse(body) as object), body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(port, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${port}/hook`;
}, 120_000);

let port = 0;
let released = false;
/** The newer releases, published once the applications below have locked the old ones. */
async function publishNewer() {
  if (released) return;
  released = true;
  await registry.publish(value('dd-patchy', '1.0.1'));
  await registry.publish(value('dd-minor', '1.1.0'));
  await registry.publish(value('dd-both', '1.0.1'));
  await registry.publish(value('dd-both', '1.1.0'));
  await registry.publish(value('dd-major', '2.0.0'));
  await registry.publish(value('dd-vuln', '1.2.1'));
  await registry.publish(value('dd-breaks', '1.0.1', 'broken'));
  await registry.publish(value('dd-deep', '1.0.1'));
  // A release npm cannot install next to dd-major 1: its peer range wants dd-major 2.
  await registry.publish({ ...value('dd-peer', '1.0.1'), peerDependencies: { 'dd-major': '^2.0.0' } });
  await registry.publish(value('private-dd', '1.0.1'));
}

afterAll(async () => {
  for (const app of apps) await app.dispose();
  removeNpmApps();
  await new Promise((r) => hook?.close(r));
  await registry?.stop();
});

// After the default 3-day soak of everything published today; not in the holiday season.
const LATER = new Date('2027-02-10T03:00:00Z');

async function appFor(
  repo: NpmApp,
  clockAt: Date,
  npm: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  const advisories = join(registry.dir, `${repo.dir.split('/').pop()}-osv.json`);
  writeFileSync(advisories, JSON.stringify(ADVISORIES));
  const clock = fixedClock(clockAt);
  const app = await testApp(
    {
      dependencies: {
        npm: {
          repository: { path: repo.dir, branch: 'main', test_command: ['node', 'test.js'] },
          registry: registry.url,
          advisories,
          ...npm,
        },
      },
      channels: { hook: { type: 'webhook', url: hookUrl } },
      notify: { failure: ['hook'], success: ['log'], start: ['log'] },
      maintenance_windows: { blackout: { periods: ['holiday_season'] } },
      stakeholders: [{ name: 'Ada', roles: ['CTO'], access: 'admin' }],
      ...extra,
    },
    { clock },
  );
  apps.push(app);
  const service = new DependencyService({ db: app.store.db, policy: app.loaded.policy, clock });
  const run = () => app.engine.run('dependencies.npm', { trigger: 'manual', force: true });
  return { app, clock, service, run };
}

const readPkg = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const lockVersion = (dir: string, path: string) =>
  (
    JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    }
  ).packages[path]?.version;

describe('dependencies.npm', () => {
  it('automerges patch and security updates after the tests pass, keeps a breaking one on its branch, and waits for approval of minor and major', async () => {
    const repo = await createNpmApp({
      registry: registry.url,
      dependencies: {
        'dd-patchy': '^1.0.0',
        'dd-minor': '^1.0.0',
        'dd-major': '^1.0.0',
        'dd-vuln': '~1.2.0',
        'dd-breaks': '1.0.0',
        'dd-parent': '^1.0.0',
        'dd-both': '^1.0.0',
      },
      test: APP_TEST,
    });
    await publishNewer();
    const { service, run } = await appFor(repo, LATER);
    const startHead = await repo.git('rev-parse', 'HEAD');

    const first = await run();
    // One update failed its tests, so the run failed and said why, with the test output.
    expect(first.status).toBe('failed');
    expect(first.error).toContain('dd-breaks 1.0.1: the application tests failed');
    expect(first.error).toContain('expected dd-breaks to be "ok", got "broken"');
    const notice = notices.find((n) => n.body?.includes('expected dd-breaks to be'));
    expect(notice, 'a failure notice with the failing test output reached the webhook').toBeDefined();

    // Patch and security updates are on main, written by npm, one commit each.
    const log = await repo.git('log', '--format=%s', `${startHead}..main`);
    expect(log).toContain('chore(deps): update dd-patchy from 1.0.0 to 1.0.1 (patch)');
    expect(log).toContain('chore(deps): update dd-vuln from 1.2.0 to 1.2.1 (security)');
    expect(log).toContain('chore(deps): update dd-deep (transitive) from 1.0.0 to 1.0.1 (security)');
    expect(log).not.toContain('dd-breaks');
    const pkg = readPkg(repo.dir);
    expect(pkg.dependencies['dd-patchy']).toBe('^1.0.1');
    expect(pkg.dependencies['dd-vuln']).toBe('~1.2.1');
    expect(pkg.dependencies['dd-breaks']).toBe('1.0.0');
    expect(pkg.dependencies['dd-minor']).toBe('^1.0.0');
    expect(lockVersion(repo.dir, 'node_modules/dd-deep')).toBe('1.0.1');
    const body = await repo.git('log', '-1', '--format=%B', '--grep', 'dd-vuln');
    expect(body).toContain('Fixes: GHSA-test-vuln-0001 (high) dd-vuln lets anyone in');
    expect(body).toContain('Tests: `node test.js` passed');

    // The failing update's branch is kept with what was tested; main's working copy is clean.
    expect(await repo.git('branch', '--list', 'drydock/*')).toContain('drydock/npm/dd-breaks-1.0.1');
    expect(await repo.git('log', '-1', '--format=%s', 'drydock/npm/dd-breaks-1.0.1')).toContain('[tests failed]');
    expect(await repo.git('status', '--porcelain')).toBe('');

    const records = service.store.list({ ecosystem: 'npm' });
    const byName = (name: string) =>
      records.filter((r) => r.package === name).map((r) => `${r.toVersion}:${r.type}:${r.status}`);
    expect(byName('dd-minor')).toEqual(['1.1.0:minor:pending_approval']);
    expect(byName('dd-major')).toEqual(['2.0.0:major:pending_approval']);
    expect(byName('dd-breaks')).toEqual(['1.0.1:patch:failed']);
    expect(byName('dd-patchy')).toEqual(['1.0.1:patch:merged']);
    expect(byName('dd-both')).toEqual(['1.0.1:patch:merged', '1.1.0:minor:pending_approval']);

    // Ada approves the minor update with her own token; the next run applies it and nothing else.
    const app = apps.at(-1)!;
    const { token } = await app.access.init('Ada', 'test');
    const proven = await app.access.authenticate(token);
    if (!proven.ok) throw new Error(`Ada's token refused: ${proven.reason}`);
    const ada = proven.principal;
    expect(ada.name).toBe('Ada');
    const minor = records.find((r) => r.package === 'dd-minor')!;
    await expect(service.decide(minor.id, ada, { decision: 'approved', planHash: 'not-the-plan' })).rejects.toThrow(
      /plan .* changed/,
    );
    const approved = await service.decide(minor.id, ada, {
      decision: 'approved',
      planHash: minor.planHash.slice(0, 12),
    });
    expect(approved.status).toBe('approved');
    // dd-both's minor was planned from 1.0.0; its patch has merged since. The approval still holds.
    const both = records.find((r) => r.package === 'dd-both' && r.type === 'minor')!;
    expect(both.fromVersion).toBe('1.0.0');
    await service.decide(both.id, ada, { decision: 'approved', planHash: both.planHash });

    const second = await run();
    expect(second.status).toBe('succeeded');
    expect(readPkg(repo.dir).dependencies['dd-minor']).toBe('^1.1.0');
    expect(readPkg(repo.dir).dependencies['dd-major']).toBe('^1.0.0');
    expect(service.store.get(minor.id)!.status).toBe('merged');
    expect(service.store.get(both.id)).toMatchObject({ status: 'merged', fromVersion: '1.0.1' });
    expect(readPkg(repo.dir).dependencies['dd-both']).toBe('^1.1.0');
    // The failed update is not retried for the same version.
    expect(second.summary.join('\n')).toContain('2 merged');
  }, 600_000);

  it('holds releases younger than the soak, but not security fixes', async () => {
    const repo = await createNpmApp({
      registry: registry.url,
      dependencies: { 'dd-other': '^1.0.0', 'dd-vuln': '1.2.0' },
      test: 'console.log("ok")\n',
    });
    await publishNewer();
    await registry.publish(value('dd-other', '1.0.1'));
    const { service, run } = await appFor(repo, new Date(Date.now() + 60 * 60_000), { soak: '3 days' });
    const result = await run();
    expect(result.status).toBe('succeeded');
    const other = service.store.list({ ecosystem: 'npm' }).find((r) => r.package === 'dd-other')!;
    expect(other.status).toBe('soaking');
    expect(other.notBefore!.getTime()).toBeGreaterThan(Date.now() + 2 * 86_400_000);
    expect(readPkg(repo.dir).dependencies).toMatchObject({ 'dd-other': '^1.0.0', 'dd-vuln': '1.2.1' });

    // A team that keeps a short soak for security fixes too: the fix waits, then both merge once soaked.
    const cautious = await createNpmApp({
      registry: registry.url,
      dependencies: { 'dd-other': '1.0.0', 'dd-vuln': '1.2.0' },
      test: 'console.log("ok")\n',
    });
    const later = await appFor(cautious, new Date(Date.now() + 60 * 60_000), {
      soak: '3 days',
      security: { soak: '2 days' },
    });
    expect((await later.run()).status).toBe('succeeded');
    expect(
      later.service.store
        .list({ ecosystem: 'npm' })
        .map((r) => `${r.package}:${r.type}:${r.status}`)
        .sort(),
    ).toEqual(['dd-other:patch:soaking', 'dd-vuln:security:soaking']);
    expect(readPkg(cautious.dir).dependencies).toMatchObject({ 'dd-other': '1.0.0', 'dd-vuln': '1.2.0' });
    later.clock.set(new Date(Date.now() + 4 * 86_400_000));
    expect((await later.run()).status).toBe('succeeded');
    expect(readPkg(cautious.dir).dependencies).toMatchObject({ 'dd-other': '1.0.1', 'dd-vuln': '1.2.1' });
  }, 300_000);

  it('a blackout queues a tested merge, which is re-tested and merged when the blackout ends', async () => {
    // Exact versions: the newer releases may already be published by an earlier test.
    const repo = await createNpmApp({
      registry: registry.url,
      dependencies: { 'dd-patchy': '1.0.0' },
      test: 'console.log("ok")\n',
    });
    await publishNewer();
    const { app, clock, service, run } = await appFor(repo, new Date('2027-12-20T03:00:00Z'));
    const head = await repo.git('rev-parse', 'main');
    const during = await run();
    expect(during.status).toBe('succeeded');
    expect(await repo.git('rev-parse', 'main')).toBe(head);
    const queued = service.store.list({ ecosystem: 'npm' })[0]!;
    expect(queued.status).toBe('queued');
    expect(queued.reason).toContain('blackout "holiday_season"');
    expect(queued.notBefore!.toISOString()).toBe('2028-01-06T00:00:00.000Z');
    // The daemon is asked to run again when the blackout ends.
    const retries = await app.store.claimDueRetries(new Date('2028-01-06T00:00:00Z'), 'test');
    expect(retries.map((r) => `${r.taskId}@${r.dueAt.toISOString()}`)).toEqual([
      'dependencies.npm@2028-01-06T00:00:00.000Z',
    ]);
    // Someone commits meanwhile: the merge is re-tested on the new head.
    appendFileSync(join(repo.dir, 'README'), 'notes\n');
    await repo.git('add', 'README');
    await repo.git('commit', '-q', '-m', 'notes');

    clock.set(new Date('2028-01-06T00:30:00Z'));
    const after = await run();
    expect(after.status).toBe('succeeded');
    expect(service.store.get(queued.id)!.status).toBe('merged');
    expect(await repo.git('log', '-1', '--format=%s', 'main')).toBe(
      'chore(deps): update dd-patchy from 1.0.0 to 1.0.1 (patch)',
    );
    expect(await repo.git('log', '-2', '--format=%s', 'main')).toContain('notes');
  }, 300_000);

  it('stops cleanly on a dirty working copy, a branch moved during the tests, and a lockfile npm cannot resolve; the next run starts clean', async () => {
    const marker = join(registry.dir, 'moved-once');
    const repo = await createNpmApp({
      registry: registry.url,
      dependencies: { 'dd-patchy': '1.0.0', 'dd-major': '1.0.0', 'dd-peer': '1.0.0' },
      test: 'console.log("ok")\n',
    });
    await publishNewer();
    // The application's test pushes a commit to main once, as a colleague would while the tests run.
    writeFileSync(
      join(repo.dir, 'test.js'),
      `const fs = require('fs'); const { execFileSync } = require('child_process');\nif (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, 'x'); execFileSync('git', ['-C', ${JSON.stringify(repo.dir)}, '-c', 'user.name=Colleague', '-c', 'user.email=c@example.com', 'commit', '--allow-empty', '-q', '-m', 'colleague']); }\nconsole.log('ok');\n`,
    );
    await repo.git('commit', '-q', '-am', 'test that commits');
    const { service, run } = await appFor(repo, LATER);
    const head = await repo.git('rev-parse', 'main');

    // A worktree left by a run that was killed (kill -9: no clean-up ran) on the branch the update will use.
    const leftoverDir = mkdtempSync(join(tmpdir(), 'drydock-npm-'));
    const leftover = join(leftoverDir, 'tree');
    await repo.git('worktree', 'add', '-q', '-b', 'drydock/npm/dd-patchy-1.0.1', leftover, head);

    // 1. A dirty working copy: nothing is touched, no branch is made.
    appendFileSync(join(repo.dir, 'package.json'), '\n');
    const dirty = await run();
    expect(dirty.status).toBe('failed');
    expect(dirty.error).toContain('has uncommitted changes (M package.json)');
    expect(await repo.git('rev-parse', 'main')).toBe(head);
    expect(service.store.list({ ecosystem: 'npm' })).toEqual([]);
    await repo.git('checkout', '--', 'package.json');

    // 2. main moves while dd-patchy's tests run: not merged. dd-peer 1.0.1 cannot be resolved.
    const moved = await run();
    expect(moved.status).toBe('failed');
    expect(moved.error).toMatch(
      /main moved from [0-9a-f]{12} to [0-9a-f]{12} while dd-patchy@1\.0\.1 was tested; not merged/,
    );
    expect(moved.error).toMatch(
      /dd-peer 1\.0\.1: npm could not apply dd-peer@1\.0\.1 \(ERESOLVE: npm cannot resolve the dependency tree\): npm install exited with status 1:[\s\S]*Could not resolve dependency/,
    );
    expect(await repo.git('log', '-1', '--format=%s', 'main')).toBe('colleague');
    expect(readPkg(repo.dir).dependencies['dd-patchy']).toBe('1.0.0');
    expect(await repo.git('branch', '--list', 'drydock/*')).toBe('');
    expect(await repo.git('worktree', 'list')).not.toContain('drydock-npm-');
    expect(existsSync(leftover)).toBe(false);
    rmSync(leftoverDir, { recursive: true, force: true });
    expect(await repo.git('status', '--porcelain')).toBe('');

    // 3. The next run starts from the new head and merges dd-patchy; dd-peer stops again, the same way.
    const next = await run();
    expect(readPkg(repo.dir).dependencies['dd-patchy']).toBe('1.0.1');
    expect(next.error).toContain('dd-peer 1.0.1');
    expect(next.error).not.toContain('dd-patchy');
  }, 600_000);

  it('names the registry when it is down and says a token is needed when it answers 401', async () => {
    const repo = await createNpmApp({
      registry: registry.url,
      dependencies: { 'dd-patchy': '^1.0.0' },
      test: 'console.log("ok")\n',
    });
    const deadPort = await freePort();
    const down = await appFor(repo, LATER, { registry: `http://127.0.0.1:${deadPort}` });
    const r1 = await down.run();
    expect(r1.status).toBe('failed');
    expect(r1.error).toContain(
      `npm registry 127.0.0.1:${deadPort} is unreachable (ECONNREFUSED) while reading dd-patchy`,
    );

    const priv = await createNpmApp({
      registry: registry.url,
      dependencies: { 'private-dd': '1.0.0' },
      test: 'console.log("ok")\n',
      npmrc: `//127.0.0.1:${registry.port}/:_authToken=${registry.token}\n`,
    });
    await publishNewer();
    const noToken = await appFor(priv, LATER);
    const r2 = await noToken.run();
    expect(r2.status).toBe('failed');
    expect(r2.error).toContain(`npm registry 127.0.0.1:${registry.port} answered 401 for private-dd: it needs a token`);
    expect(await priv.git('branch', '--list', 'drydock/*')).toBe('');

    process.env.DD_TEST_REGISTRY_TOKEN = registry.token;
    try {
      const withToken = await appFor(priv, LATER, { registry_token_env: 'DD_TEST_REGISTRY_TOKEN' });
      const r3 = await withToken.run();
      expect(r3.status).toBe('succeeded');
      expect(readPkg(priv.dir).dependencies['private-dd']).toBe('1.0.1');
      const activity = JSON.stringify(await withToken.app.store.listActivity({ limit: 1000 }));
      expect(activity).not.toContain(registry.token);
    } finally {
      delete process.env.DD_TEST_REGISTRY_TOKEN;
    }
  }, 300_000);
});
