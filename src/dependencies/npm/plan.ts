// The npm update plan: for each direct dependency of package.json, the installed version (from
// package-lock.json) and the newest patch, minor and major releases the registry has, held back by
// the soak (minimum release age); and, from OSV advisories, every installed package (direct or
// transitive) that is vulnerable, with the version that fixes it. Pure apart from the registry reads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { DrydockError } from '../../errors.js';
import { advisoriesFor, type Advisory } from '../advisories.js';
import { mapLimit, type Packument, type RegistryClient } from './registry.js';

export type DependencyKind = 'dependencies' | 'devDependencies' | 'optionalDependencies';
export type NpmUpdateType = 'patch' | 'minor' | 'major' | 'security';

export interface PlannedNpmUpdate {
  name: string;
  kind: DependencyKind | 'transitive';
  /** The range package.json gives ('' for a transitive package). */
  spec: string;
  from: string;
  to: string;
  type: NpmUpdateType;
  /** When `to` was published. */
  releasedAt: Date | null;
  /** Not before this instant (the end of the soak); null when it has soaked. */
  soakingUntil: Date | null;
  advisories: Array<{ id: string; summary: string; severity: string | null }>;
}

export interface NpmPlan {
  updates: PlannedNpmUpdate[];
  /** Dependencies skipped, with why (not a registry range, unknown to the registry, ...). */
  skipped: Array<{ name: string; reason: string }>;
  /** Vulnerable packages for which no fixed version exists yet. */
  unfixed: Array<{ name: string; version: string; advisories: string[] }>;
  checked: number;
}

export interface PlanOptions {
  now: Date;
  soakMs: number;
  securitySoakMs: number;
  advisories: readonly Advisory[];
  concurrency?: number;
  signal?: AbortSignal;
}

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, { version?: string; dev?: boolean; link?: boolean }>;
}

export function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new DrydockError('CONFIG_INVALID', `cannot read ${what} at ${path}: ${(error as Error).message}`);
  }
}

/** Every installed package of a v2/v3 lockfile, direct and transitive: [name, version, lockfile path]. */
export function installedPackages(lock: Lockfile): Array<{ name: string; version: string; path: string }> {
  const out: Array<{ name: string; version: string; path: string }> = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path || entry.link || !entry.version) continue;
    const at = path.lastIndexOf('node_modules/');
    if (at < 0) continue;
    out.push({ name: path.slice(at + 'node_modules/'.length), version: entry.version, path });
  }
  return out;
}

/** A registry version range (not git, file:, link:, workspace:, npm: alias or a tag). */
function isRegistryRange(spec: string): boolean {
  return semver.validRange(spec) !== null && !/^(?:[a-z+]+:|\.|\/)/i.test(spec);
}

export function classify(from: string, to: string): 'patch' | 'minor' | 'major' {
  const a = semver.parse(from)!;
  const b = semver.parse(to)!;
  // Below 1.0.0 a minor bump is breaking by semver's own rule (as npm's ^ treats it).
  if (a.major !== b.major || (a.major === 0 && a.minor !== b.minor)) return 'major';
  if (a.minor !== b.minor) return 'minor';
  return 'patch';
}

function releases(doc: Packument, current: string): Array<{ version: string; at: Date | null }> {
  const pre = semver.prerelease(current) !== null;
  return Object.values(doc.versions)
    .filter((v) => semver.valid(v.version) && !v.deprecated && (pre || semver.prerelease(v.version) === null))
    .map((v) => ({ version: v.version, at: doc.time?.[v.version] ? new Date(doc.time[v.version]!) : null }))
    .sort((x, y) => semver.compare(x.version, y.version));
}

export async function planNpmUpdates(repo: string, registry: RegistryClient, options: PlanOptions): Promise<NpmPlan> {
  const manifest = readJson<Manifest>(join(repo, 'package.json'), 'package.json');
  const lockPath = join(repo, 'package-lock.json');
  const lock = existsSync(lockPath) ? readJson<Lockfile>(lockPath, 'package-lock.json') : { packages: {} };
  const installed = installedPackages(lock);
  const plan: NpmPlan = { updates: [], skipped: [], unfixed: [], checked: 0 };
  const direct: Array<{ name: string; spec: string; kind: DependencyKind; current: string }> = [];
  for (const kind of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
    for (const [name, spec] of Object.entries(manifest[kind] ?? {})) {
      if (!isRegistryRange(spec)) {
        plan.skipped.push({ name, reason: `"${spec}" is not a registry version range` });
        continue;
      }
      const locked = lock.packages?.[`node_modules/${name}`]?.version;
      const current = locked ?? semver.minVersion(spec)?.version;
      if (!current) {
        plan.skipped.push({ name, reason: `no installed version and "${spec}" has no lowest version` });
        continue;
      }
      direct.push({ name, spec, kind, current });
    }
  }
  const vulnerable = installed
    .map((p) => ({ ...p, hits: advisoriesFor(options.advisories, p.name, p.version) }))
    .filter((p) => p.hits.length > 0);
  const names = [...new Set([...direct.map((d) => d.name), ...vulnerable.map((v) => v.name)])];
  const docs = new Map<string, Packument | null>();
  await mapLimit(names, options.concurrency ?? 16, async (name) => {
    docs.set(name, await registry.packument(name, options.signal));
  });
  plan.checked = names.length;
  const soakEnd = (at: Date | null, ms: number) =>
    at && at.getTime() + ms > options.now.getTime() ? new Date(at.getTime() + ms) : null;
  const securityFor = new Set<string>();

  for (const v of vulnerable) {
    const doc = docs.get(v.name);
    const fixedAt = v.hits.map((h) => h.fixed).filter((f): f is string => f !== null);
    const advisories = v.hits.map((h) => ({
      id: h.advisory.id,
      summary: h.advisory.summary,
      severity: h.advisory.severity,
    }));
    const safe = doc
      ? releases(doc, v.version).filter(
          (r) => semver.gt(r.version, v.version) && advisoriesFor(options.advisories, v.name, r.version).length === 0,
        )
      : [];
    if (safe.length === 0 || fixedAt.length === 0) {
      plan.unfixed.push({ name: v.name, version: v.version, advisories: advisories.map((a) => a.id) });
      continue;
    }
    // The newest safe release of the same major, else the lowest safe release above it.
    const sameMajor = safe.filter((r) => semver.major(r.version) === semver.major(v.version));
    const pick = sameMajor.at(-1) ?? safe[0]!;
    const d = direct.find((x) => x.name === v.name && v.path === `node_modules/${v.name}`);
    if (plan.updates.some((u) => u.name === v.name && u.to === pick.version)) continue;
    plan.updates.push({
      name: v.name,
      kind: d ? d.kind : 'transitive',
      spec: d?.spec ?? '',
      from: v.version,
      to: pick.version,
      type: 'security',
      releasedAt: pick.at,
      soakingUntil: soakEnd(pick.at, options.securitySoakMs),
      advisories,
    });
    if (d) securityFor.add(d.name);
  }

  for (const d of direct) {
    const doc = docs.get(d.name);
    if (!doc) {
      plan.skipped.push({ name: d.name, reason: `the registry has no package "${d.name}"` });
      continue;
    }
    if (securityFor.has(d.name)) continue;
    const newer = releases(doc, d.current).filter((r) => semver.gt(r.version, d.current));
    const best = new Map<'patch' | 'minor' | 'major', { version: string; at: Date | null }>();
    for (const r of newer) best.set(classify(d.current, r.version), r); // sorted ascending: the last wins
    for (const [type, r] of best) {
      // Propose the newest release that has soaked; if none has, the newest one, marked as soaking.
      const soaked = newer
        .filter((x) => classify(d.current, x.version) === type && !soakEnd(x.at, options.soakMs))
        .at(-1);
      const pick = soaked ?? r;
      plan.updates.push({
        name: d.name,
        kind: d.kind,
        spec: d.spec,
        from: d.current,
        to: pick.version,
        type,
        releasedAt: pick.at,
        soakingUntil: soaked ? null : soakEnd(r.at, options.soakMs),
        advisories: [],
      });
    }
  }
  return plan;
}
