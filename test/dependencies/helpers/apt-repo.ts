// A real local apt repository (packages built with dpkg-deb, indexed with apt-ftparchive) and
// system roots with their own apt configuration and dpkg database, so that apt-get and dpkg really
// run without touching the host's packages.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../src/adapters/exec.js';
import { aptOptions } from '../../../src/dependencies/system/apt.js';

export interface DebPackage {
  name: string;
  version: string;
  /** Shell code of the postinst script, if any. */
  postinst?: string;
}

export interface AptLab {
  dir: string;
  /** Builds the packages into the repository named (a Suite of its own, e.g. "stable-security"). */
  repo(suite: string, packages: DebPackage[]): Promise<string>;
  /** A root whose sources list the repositories, with these packages installed by apt itself. */
  root(name: string, repos: string[], install: Array<{ name: string; version: string }>): Promise<string>;
  dispose(): void;
}

export function aptLab(): AptLab {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-apt-'));
  let n = 0;
  return {
    dir,
    async repo(suite, packages) {
      const repo = join(dir, `repo-${suite}`);
      mkdirSync(repo, { recursive: true });
      for (const p of packages) {
        const build = join(dir, `build-${n++}`);
        mkdirSync(join(build, 'DEBIAN'), { recursive: true });
        mkdirSync(join(build, 'usr/share', p.name), { recursive: true });
        writeFileSync(join(build, 'usr/share', p.name, 'version'), `${p.name} ${p.version}\n`);
        writeFileSync(
          join(build, 'DEBIAN/control'),
          `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: all\nMaintainer: Drydock tests <tests@example.com>\nDescription: a test package\n`,
        );
        if (p.postinst) {
          writeFileSync(join(build, 'DEBIAN/postinst'), `#!/bin/sh\nset -e\n${p.postinst}\n`);
          chmodSync(join(build, 'DEBIAN/postinst'), 0o755);
        }
        await exec('dpkg-deb', ['--root-owner-group', '-b', build, repo]);
        rmSync(build, { recursive: true, force: true });
      }
      const packagesIndex = await exec('apt-ftparchive', ['packages', '.'], { cwd: repo });
      writeFileSync(join(repo, 'Packages'), packagesIndex.stdout);
      const release = await exec(
        'apt-ftparchive',
        [
          '-o',
          `APT::FTPArchive::Release::Suite=${suite}`,
          '-o',
          'APT::FTPArchive::Release::Origin=Drydock-Tests',
          'release',
          '.',
        ],
        { cwd: repo },
      );
      writeFileSync(join(repo, 'Release'), release.stdout);
      return repo;
    },
    async root(name, repos, install) {
      const root = join(dir, name);
      for (const d of [
        'etc/apt/sources.list.d',
        'etc/apt/apt.conf.d',
        'etc/apt/preferences.d',
        'etc/apt/trusted.gpg.d',
        'var/lib/apt/lists/partial',
        'var/cache/apt/archives/partial',
        'var/lib/dpkg/info',
        'var/lib/dpkg/updates',
        'var/lib/dpkg/triggers',
        'var/log',
      ])
        mkdirSync(join(root, d), { recursive: true });
      writeFileSync(join(root, 'var/lib/dpkg/status'), '');
      writeFileSync(join(root, 'etc/apt/sources.list'), repos.map((r) => `deb [trusted=yes] file:${r} ./\n`).join(''));
      await exec('apt-get', [...aptOptions(root), 'update', '-q'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
      await exec(
        'apt-get',
        [...aptOptions(root), '-y', '-q', 'install', ...install.map((p) => `${p.name}=${p.version}`)],
        {
          env: { DEBIAN_FRONTEND: 'noninteractive' },
        },
      );
      return root;
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
