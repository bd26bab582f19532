// A small real application for the npm update tests: a git repository with package.json, a
// lockfile written by `npm install` against the test's registry, and a test script that fails when a
// package's value changes (so a registry release can break the application's tests).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../src/adapters/exec.js';

export interface NpmApp {
  dir: string;
  git(...args: string[]): Promise<string>;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Tester',
  GIT_AUTHOR_EMAIL: 'tester@example.com',
  GIT_COMMITTER_NAME: 'Tester',
  GIT_COMMITTER_EMAIL: 'tester@example.com',
};

const created: string[] = [];

/** Removes every application repository this process created (call from afterAll). */
export function removeNpmApps(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function createNpmApp(options: {
  registry: string;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
  /** The application's test: node code run by `node test.js`. */
  test: string;
  /** A project .npmrc (e.g. a registry token); kept out of git, as teams do. */
  npmrc?: string;
}): Promise<NpmApp> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-app-'));
  created.push(dir);
  const git = async (...args: string[]) =>
    (await exec('git', ['-C', dir, ...args], { env: IDENTITY, timeoutMs: 60_000 })).stdout.trim();
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'dokkerr-app',
        version: '1.0.0',
        private: true,
        scripts: { test: 'node test.js' },
        dependencies: options.dependencies,
        ...(options.devDependencies ? { devDependencies: options.devDependencies } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(join(dir, 'test.js'), options.test);
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.npmrc\n');
  if (options.npmrc) writeFileSync(join(dir, '.npmrc'), options.npmrc);
  await exec('npm', ['install', '--registry', options.registry, '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: dir,
    timeoutMs: 5 * 60_000,
  });
  await git('init', '--quiet', '--initial-branch', 'main');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'the application');
  return { dir, git };
}
