// apt and dpkg against one target root. "/" is the host as it is; any other root is a separate
// system image with its own etc/apt, apt lists and cache and dpkg database: apt gets `Dir=<root>`
// and the status file, dpkg gets `--root`/`--admindir` and runs maintainer scripts without a
// chroot (DPKG_ROOT tells them where to act), so a staging root is upgraded by the real apt and
// dpkg without touching the host's packages. Every call goes through the exec wrapper, package
// names and versions as separate arguments.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, tail } from '../../adapters/exec.js';
import { DrydockError } from '../../errors.js';

export interface AptUpgrade {
  name: string;
  from: string;
  to: string;
  /** The archive apt names for the candidate, e.g. "stable-security", "Debian-Security:12/stable-security". */
  archive: string;
  security: boolean;
}

export function aptOptions(root: string): string[] {
  const common = ['-o', 'Dpkg::Options::=--force-confold', '-o', 'Dpkg::Options::=--force-confdef'];
  if (root === '/') return common;
  const admin = join(root, 'var/lib/dpkg');
  return [
    ...common,
    '-o',
    `Dir=${root}`,
    '-o',
    `Dir::State::status=${join(admin, 'status')}`,
    '-o',
    'Dir::Bin::dpkg=/usr/bin/dpkg',
    '-o',
    'Dir::Bin::methods=/usr/lib/apt/methods',
    '-o',
    `Dir::Log=${join(root, 'var/log')}`,
    '-o',
    `DPkg::Options::=--root=${root}`,
    '-o',
    `DPkg::Options::=--admindir=${admin}`,
    '-o',
    'DPkg::Options::=--force-script-chrootless',
    '-o',
    `DPkg::Options::=--log=${join(root, 'var/log/dpkg.log')}`,
    '-o',
    'APT::Sandbox::User=root',
  ];
}

const ENV = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none' };

async function apt(root: string, args: string[], what: string, timeoutMs: number, signal?: AbortSignal) {
  try {
    return await exec('apt-get', [...aptOptions(root), ...args], {
      env: ENV,
      timeoutMs,
      what,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw explain(error, root, what);
  }
}

/** Turns apt's lock and dpkg failures into a reason a person can act on. */
function explain(error: unknown, root: string, what: string): unknown {
  if (!(error instanceof DrydockError)) return error;
  const stderr = String((error.details as { stderr?: string }).stderr ?? error.message);
  const lock = /Could not get lock (\S+?)\.? It is held by process (\d+)(?: \(([^)]+)\))?/.exec(stderr);
  if (lock)
    return new DrydockError(
      'DEPENDENCY_UPDATE_STOPPED',
      `${what} on ${root}: the apt lock ${lock[1]} is held by process ${lock[2]}${lock[3] ? ` (${lock[3]})` : ''}; nothing was changed`,
      { hint: 'another apt or dpkg run is in progress there; the next run tries again', retryable: true },
    );
  if (/Could not get lock|Unable to acquire the dpkg frontend lock/.test(stderr))
    return new DrydockError(
      'DEPENDENCY_UPDATE_STOPPED',
      `${what} on ${root}: the apt lock is held by another process; nothing was changed`,
      {
        retryable: true,
      },
    );
  return error;
}

/** `apt-get update` then `apt-get -s dist-upgrade`: what would be upgraded, from which version to which. */
export async function planUpgrades(root: string, timeoutMs: number, signal?: AbortSignal): Promise<AptUpgrade[]> {
  await apt(root, ['update', '-q'], 'apt-get update', timeoutMs, signal);
  const sim = await apt(root, ['-s', '-q', 'dist-upgrade'], 'apt-get -s dist-upgrade', timeoutMs, signal);
  return parseSimulation(sim.stdout);
}

/** "Inst libssl3 [3.0.11-1] (3.0.13-1 Debian-Security:12/stable-security [amd64])". New installs have no [current]. */
export function parseSimulation(text: string): AptUpgrade[] {
  const out: AptUpgrade[] = [];
  for (const line of text.split('\n')) {
    const m = /^Inst (\S+) \[([^\]]+)\] \((\S+) (.+?)(?: \[[^\]]+\])?\)/.exec(line);
    if (!m) continue;
    const archive = m[4]!;
    out.push({ name: m[1]!, from: m[2]!, to: m[3]!, archive, security: /security/i.test(archive) });
  }
  return out;
}

/** Upgrades exactly these packages to exactly these versions (what staging tested is what production gets). */
export async function applyUpgrades(
  root: string,
  upgrades: readonly Pick<AptUpgrade, 'name' | 'to'>[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  const what = 'apt-get install --only-upgrade';
  const args = [
    ...aptOptions(root),
    '-y',
    '-q',
    'install',
    '--only-upgrade',
    ...upgrades.map((u) => `${u.name}=${u.to}`),
  ];
  // apt exits 100 on any failure; its own output (stdout) carries dpkg's and the maintainer scripts' lines.
  const r = await exec('apt-get', args, {
    env: ENV,
    timeoutMs,
    what,
    okCodes: [0, 100],
    ...(signal ? { signal } : {}),
  }).catch((error: unknown) => {
    throw explain(error, root, what);
  });
  if (r.code === 0) return r.stdout;
  const lock = explain(new DrydockError('EXEC_FAILED', r.stderr, { details: { stderr: r.stderr } }), root, what);
  if (lock instanceof DrydockError && lock.code === 'DEPENDENCY_UPDATE_STOPPED') throw lock;
  const output = `${r.stdout}\n${r.stderr}`;
  const failed = /dpkg: error processing package (\S+) \((--\w+)\):\s*\n\s*(.+)/.exec(output);
  const audit = await dpkgAudit(root);
  const lines = output
    .split('\n')
    .filter((l) => l.trim() && !/^N: /.test(l))
    .slice(-15)
    .join('\n');
  throw new DrydockError(
    'DEPENDENCY_UPDATE_STOPPED',
    `the upgrade of ${root} failed${failed ? `: ${failed[1]} (${failed[2]}) ${failed[3]!.trim()}` : ''}${audit ? `; dpkg --audit reports:\n${audit}` : ''}\napt-get output:\n${tail(lines, 15)}`,
  );
}

export async function dpkgAudit(root: string): Promise<string> {
  const args = root === '/' ? ['--audit'] : [`--admindir=${join(root, 'var/lib/dpkg')}`, '--audit'];
  const r = await exec('dpkg', args, { okCodes: [0, 1], timeoutMs: 60_000 }).catch(() => null);
  return r ? r.stdout.trim() : '';
}

/** Installed versions of these packages in the root (absent packages are left out). */
export async function installedVersions(root: string, names: readonly string[]): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  if (names.length === 0) return versions;
  const admin = root === '/' ? [] : [`--admindir=${join(root, 'var/lib/dpkg')}`];
  const r = await exec(
    'dpkg-query',
    [...admin, '-W', '-f', '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n', ...names],
    {
      okCodes: [0, 1],
      timeoutMs: 60_000,
    },
  );
  for (const line of r.stdout.split('\n')) {
    const [name, version, status] = line.split('\t');
    if (name && version && status?.startsWith('ii')) versions.set(name, version);
  }
  return versions;
}

/** Debian's reboot-required flag (written by packages' postinst), with the packages that asked for it. */
export function rebootRequired(root: string): { required: boolean; packages: string[] } {
  for (const dir of ['run', 'var/run']) {
    const flag = join(root, dir, 'reboot-required');
    if (existsSync(flag)) {
      const pkgs = join(root, dir, 'reboot-required.pkgs');
      const packages = existsSync(pkgs) ? [...new Set(readFileSync(pkgs, 'utf8').split('\n').filter(Boolean))] : [];
      return { required: true, packages };
    }
  }
  return { required: false, packages: [] };
}
