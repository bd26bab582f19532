// The Node application's dependencies: every package of its package-lock.json (lockfile versions
// 1-3) matched against an offline OSV advisory file, and, when the policy asks, `npm audit --json`
// (the registry's advisory service). npm audit needs the registry to answer; when it does not, the
// scan says so and uses the file alone. Dev dependencies are scanned too (they run in CI).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exec } from '../../adapters/exec.js';
import { DrydockError, describeError } from '../../errors.js';
import { scannerFailure } from './failure.js';
import { firstLines, normaliseSeverity, preferredId, type Observation, type ScannerOutcome } from '../types.js';
import { advisoryAge } from './advisory-age.js';
import { loadOsv } from './osv.js';

export interface LockedPackage {
  name: string;
  version: string;
  /** "node_modules/a/node_modules/b" (v2/v3) or the nesting path (v1). */
  path: string;
  dev: boolean;
}

interface LockV1Dep {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, LockV1Dep>;
}

/** The installed packages of a package-lock.json. Unknown lockfile versions are refused, never guessed. */
export function readLockfile(text: string, file: string): LockedPackage[] {
  let lock: {
    lockfileVersion?: number;
    packages?: Record<string, Record<string, unknown>>;
    dependencies?: Record<string, LockV1Dep>;
  };
  try {
    lock = JSON.parse(text) as typeof lock;
  } catch (error) {
    throw new DrydockError('VALIDATION_FAILED', `${file} is not JSON: ${(error as Error).message}`, {
      details: { reason: 'invalid_output' },
    });
  }
  const version = lock.lockfileVersion;
  if (version !== 1 && version !== 2 && version !== 3)
    throw new DrydockError(
      'VALIDATION_FAILED',
      `${file} has lockfileVersion ${JSON.stringify(version)}; Drydock reads lockfile versions 1, 2 and 3`,
      { details: { reason: 'unknown_format' } },
    );
  const out: LockedPackage[] = [];
  if (lock.packages) {
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link === true || typeof entry.version !== 'string') continue;
      const at = path.lastIndexOf('node_modules/');
      if (at < 0) continue; // a workspace folder, not an installed package
      const name = typeof entry.name === 'string' ? entry.name : path.slice(at + 'node_modules/'.length);
      out.push({ name, version: entry.version, path, dev: entry.dev === true });
    }
    return out;
  }
  const walk = (deps: Record<string, LockV1Dep> | undefined, prefix: string) => {
    for (const [name, dep] of Object.entries(deps ?? {})) {
      const path = `${prefix}node_modules/${name}`;
      if (dep.version && !dep.version.startsWith('file:'))
        out.push({ name, version: dep.version, path, dev: dep.dev === true });
      walk(dep.dependencies, `${path}/`);
    }
  };
  walk(lock.dependencies, '');
  return out;
}

export interface NpmScanOptions {
  lockfile: string;
  advisories: string;
  audit: boolean;
  timeoutMs: number;
  host: string;
  signal?: AbortSignal;
}

export async function scanNpm(options: NpmScanOptions): Promise<ScannerOutcome> {
  const notes: string[] = [];
  let packages: LockedPackage[];
  try {
    packages = readLockfile(readFileSync(options.lockfile, 'utf8'), options.lockfile);
  } catch (error) {
    return scannerFailure('npm', error, `cannot read ${options.lockfile}`);
  }
  const names = new Set(packages.map((p) => p.name));
  let index;
  try {
    index = await loadOsv(options.advisories, 'npm', names);
  } catch (error) {
    return scannerFailure('npm', error, `advisory file ${options.advisories}`);
  }
  const location = `package-lock.json ${options.lockfile}`;
  const byKey = new Map<string, Observation>();
  for (const p of packages) {
    for (const m of index.match(p.name, p.version)) {
      const key = `${m.vulnId}|${p.name}|${p.version}`;
      if (byKey.has(key)) continue; // the same version installed at two paths is one finding
      byKey.set(key, {
        vulnId: m.vulnId,
        aliases: m.ids,
        package: p.name,
        ecosystem: 'npm',
        installedVersion: p.version,
        fixedVersion: m.fixed,
        severity: m.severity,
        title: m.entry.summary ?? m.entry.id,
        host: options.host,
        location,
        scanner: 'npm',
      });
    }
  }
  if (options.audit) {
    const audit = await npmAudit(options, packages);
    if (audit.ok) {
      let added = 0;
      for (const o of audit.observations) {
        const key = `${o.vulnId}|${o.package}|${o.installedVersion}`;
        const same = [...byKey.values()].find(
          (x) =>
            x.package === o.package &&
            x.installedVersion === o.installedVersion &&
            x.aliases.some((a) => o.aliases.includes(a)),
        );
        if (same || byKey.has(key)) continue;
        byKey.set(key, { ...o, location });
        added++;
      }
      notes.push(`npm audit answered: ${audit.observations.length} advisories, ${added} not in the offline file`);
    } else notes.push(`npm audit did not answer (${audit.error}); the offline advisory file was used alone`);
  }
  let age;
  try {
    age = advisoryAge(options.advisories);
  } catch (error) {
    return scannerFailure('npm', error, `advisory file ${options.advisories}`);
  }
  return {
    scanner: 'npm',
    ok: true,
    observations: [...byKey.values()],
    scanned: `${packages.length} packages in ${options.lockfile} against ${index.entries} OSV entries`,
    advisories: [age],
    notes,
  };
}

type AuditResult = { ok: true; observations: Observation[] } | { ok: false; error: string };

interface AuditVia {
  source?: number;
  name?: string;
  title?: string;
  url?: string;
  severity?: string;
  range?: string;
}

/** `npm audit --json --package-lock-only` in the lockfile's directory (npm 7+ report, auditReportVersion 2). */
async function npmAudit(options: NpmScanOptions, packages: LockedPackage[]): Promise<AuditResult> {
  let stdout: string;
  try {
    // npm audit exits 1 when it finds vulnerabilities; the JSON is on stdout either way.
    const result = await exec('npm', ['audit', '--json', '--package-lock-only'], {
      cwd: dirname(options.lockfile),
      timeoutMs: options.timeoutMs,
      okCodes: [0, 1],
      what: 'npm audit',
      inheritEnv: ['npm_config_registry', 'NPM_CONFIG_REGISTRY'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    stdout = result.stdout;
  } catch (error) {
    return { ok: false, error: firstLines(describeError(error), 2) };
  }
  return parseNpmAudit(stdout, packages, options.host);
}

export function parseNpmAudit(stdout: string, packages: LockedPackage[], host: string): AuditResult {
  let report: {
    auditReportVersion?: number;
    vulnerabilities?: Record<string, { via?: Array<AuditVia | string> }>;
    error?: { summary?: string };
  };
  try {
    report = JSON.parse(stdout) as typeof report;
  } catch {
    return { ok: false, error: `npm audit printed no JSON: ${firstLines(stdout, 2)}` };
  }
  if (report.error) return { ok: false, error: report.error.summary ?? 'npm audit reported an error' };
  if (report.auditReportVersion !== 2)
    return { ok: false, error: `npm audit report version ${String(report.auditReportVersion)} is not 2` };
  const out: Observation[] = [];
  for (const [name, vuln] of Object.entries(report.vulnerabilities ?? {})) {
    for (const via of vuln.via ?? []) {
      if (typeof via === 'string' || !via.url) continue;
      const ghsa = /GHSA-[\w-]+/.exec(via.url)?.[0];
      const ids = ghsa ? [ghsa] : [`npm-advisory-${via.source}`];
      for (const p of packages.filter((x) => x.name === name)) {
        out.push({
          vulnId: preferredId(ids),
          aliases: ids,
          package: name,
          ecosystem: 'npm',
          installedVersion: p.version,
          fixedVersion: null,
          severity: normaliseSeverity(via.severity) ?? 'medium',
          title: via.title ?? ids[0]!,
          host,
          location: '',
          scanner: 'npm',
        });
      }
    }
  }
  return { ok: true, observations: out };
}
