// Careless operators (issue 9): a clean-up root that is a link to "/", or a root such as /etc,
// used to pass (a dry run listed 1,214 files in /etc). Roots are resolved with realpath and system
// directories and anything outside server.cleanup.allowed_prefixes are refused, by `config check`
// and before every run, listing nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanupRootProblems } from '../../src/policy/cleanup-roots.js';
import { DrydockError } from '../../src/errors.js';
import { createCleanupTask } from '../../src/tasks/server/cleanup.js';
import { policyFrom, taskContext } from '../tasks/cache/task-context.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-roots-'));
  symlinkSync('/', join(dir, 'everything'));
  symlinkSync('/etc', join(dir, 'config'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runRefused = async (cleanup: Record<string, unknown>) => {
  const policy = policyFrom({ server: { cleanup: { tasks: ['temp_files'], ...cleanup } } });
  const { ctx } = taskContext(policy);
  const error = await createCleanupTask()
    .execute(ctx)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DrydockError);
  return (error as DrydockError).message;
};

describe('clean-up roots', () => {
  it('refuses a root that is a link to / or to /etc, and /etc itself, before listing anything', async () => {
    const link = join(dir, 'everything');
    expect(await runRefused({ roots: [link], temp: [{ dir: join(link, 'etc'), older_than: '1 day' }] })).toMatch(
      /server\.cleanup\.roots\[0\]: .*everything \(resolves to \/\) is a system directory; clean-up refuses it/,
    );
    expect(
      await runRefused({ roots: [join(dir, 'config')], temp: [{ dir: join(dir, 'config'), older_than: '1 day' }] }),
    ).toMatch(/resolves to \/etc\) lies inside the system directory \/etc/);
    expect(await runRefused({ roots: ['/etc'], temp: [{ dir: '/etc', older_than: '1 day' }] })).toMatch(
      /roots\[0\]: \/etc lies inside the system directory \/etc/,
    );
    expect(
      await runRefused({ roots: ['/var/lib/postgresql'], temp: [{ dir: '/var/lib/postgresql', older_than: '1 day' }] }),
    ).toMatch(/inside the system directory \/var\/lib/);
  });

  it('allows roots only inside the allowed prefixes or the policy’s own folder', () => {
    expect(cleanupRootProblems([join(dir, 'srv')], ['/srv'], [])).toEqual([
      {
        path: 'server.cleanup.roots[0]',
        message: expect.stringMatching(/is outside server\.cleanup\.allowed_prefixes \(\/srv\)/) as unknown,
      },
    ]);
    expect(cleanupRootProblems([join(dir, 'srv')], ['/srv'], [dir])).toEqual([]);
    expect(cleanupRootProblems(['/srv/app/tmp', '/var/log/app'], ['/srv', '/var/log'])).toEqual([]);
    expect(cleanupRootProblems(['/srv'], ['/srv']).map((p) => p.message)).toEqual([
      '/srv is a system directory; clean-up refuses it',
    ]);
  });

  it('makes `config check` exit 2 naming the root', async () => {
    const policyPath = join(dir, 'drydock.yaml');
    writeFileSync(policyPath, stringify({ server: { cleanup: { roots: [join(dir, 'everything')] } } }));
    const main = resolve(import.meta.dirname, '../../src/cli/main.ts');
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), main, '-p', policyPath, 'config', 'check'],
      {
        env: { ...process.env, DRYDOCK_POLICY: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(2);
    expect(stderr).toMatch(/server\.cleanup\.roots\[0\]: .*everything \(resolves to \/\) is a system directory/);
  }, 60_000);
});
