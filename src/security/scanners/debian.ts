// The host's Debian packages, as debsecan does it: the installed packages of a dpkg status file,
// grouped by source package, against the Debian security tracker's JSON
// (security-tracker.debian.org/tracker/data/json: source package → CVE → release → status,
// fixed_version, urgency). A source package is vulnerable when the release's entry is open or
// undetermined (no fix yet), or resolved in a version newer than the installed one.
import { readFileSync } from 'node:fs';
import { DrydockError } from '../../errors.js';
import { type Observation, type ScannerOutcome, type Severity } from '../types.js';
import { compareDebianVersions } from '../debian-version.js';
import { advisoryAge } from './advisory-age.js';
import { eachTopLevelMember, eachTopLevelMemberOfFile } from './json-scan.js';
import { scannerFailure } from './failure.js';

export interface InstalledDebPackage {
  name: string;
  version: string;
  source: string;
  sourceVersion: string;
}

/** Packages whose Status is "install ok installed" in a dpkg status file (RFC 822-style paragraphs). */
export function readDpkgStatus(text: string): InstalledDebPackage[] {
  const out: InstalledDebPackage[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let name = '';
    let version = '';
    let status = '';
    let source = '';
    for (const line of paragraph.split('\n')) {
      if (line.startsWith(' ') || line.startsWith('\t')) continue;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (field === 'Package') name = value;
      else if (field === 'Version') version = value;
      else if (field === 'Status') status = value;
      else if (field === 'Source') source = value;
    }
    if (!name || !version || !status.endsWith(' installed')) continue;
    // "Source: openssl (3.0.11-1~deb12u2)" when the source version differs from the binary's.
    const m = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(source);
    out.push({ name, version, source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version });
  }
  return out;
}

interface TrackerRelease {
  status?: string;
  fixed_version?: string;
  urgency?: string;
  nodsa?: string;
}

interface TrackerCve {
  description?: string;
  releases?: Record<string, TrackerRelease>;
}

/** The tracker's urgency as a severity ("low**" means the urgency was guessed; the stars are dropped). */
export function urgencySeverity(urgency: string | undefined): Severity | null {
  const u = (urgency ?? '')
    .replace(/[^a-z ]/gi, '')
    .trim()
    .toLowerCase();
  if (u === 'high') return 'high';
  if (u === 'medium' || u === 'not yet assigned' || u === '') return 'medium';
  if (u === 'low' || u === 'unimportant') return 'low';
  if (u === 'endoflife') return 'medium';
  return 'medium';
}

export function osRelease(file = '/etc/os-release'): string | null {
  try {
    return /^VERSION_CODENAME=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.replace(/"/g, '').trim() ?? null;
  } catch {
    return null;
  }
}

export interface DebianScanOptions {
  statusFile: string;
  tracker: string;
  release: string;
  host: string;
}

export function matchDebian(
  installed: InstalledDebPackage[],
  /** The tracker file's bytes, or its path to read it in chunks. */
  tracker: Buffer | string,
  options: Pick<DebianScanOptions, 'tracker' | 'release' | 'host' | 'statusFile'>,
): { observations: Observation[]; sources: number; trackerPackages: number } {
  const bySource = new Map<string, InstalledDebPackage[]>();
  for (const p of installed) bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
  const observations: Observation[] = [];
  const location = `dpkg ${options.statusFile}`;
  const what = `Debian security tracker file ${options.tracker}`;
  const want = (key: string) => bySource.has(key);
  const onMember = (source: string, value: unknown) => {
    const cves = value as Record<string, TrackerCve>;
    if (!cves || typeof cves !== 'object') return;
    // Several binaries of one source may be installed at different source versions (rare): use the oldest.
    const versions = bySource.get(source)!.map((p) => p.sourceVersion);
    const installedVersion = versions.sort(compareDebianVersions)[0]!;
    for (const [cve, info] of Object.entries(cves)) {
      const rel = info.releases?.[options.release];
      if (!rel) continue;
      const status = rel.status ?? '';
      let fixed: string | null = null;
      if (status === 'resolved') {
        if (!rel.fixed_version || rel.fixed_version === '0') continue;
        if (compareDebianVersions(installedVersion, rel.fixed_version) >= 0) continue;
        fixed = rel.fixed_version;
      } else if (status !== 'open' && status !== 'undetermined') continue;
      observations.push({
        vulnId: cve,
        aliases: [cve],
        package: source,
        ecosystem: 'debian',
        installedVersion,
        fixedVersion: fixed,
        severity: urgencySeverity(rel.urgency) ?? 'medium',
        title: (info.description ?? cve).slice(0, 200),
        host: options.host,
        location,
        scanner: 'debian',
      });
    }
  };
  const trackerPackages =
    typeof tracker === 'string'
      ? eachTopLevelMemberOfFile(tracker, what, want, onMember)
      : eachTopLevelMember(tracker, what, want, onMember);
  return { observations, sources: bySource.size, trackerPackages };
}

export function scanDebian(options: DebianScanOptions): ScannerOutcome {
  let installed: InstalledDebPackage[];
  try {
    installed = readDpkgStatus(readFileSync(options.statusFile, 'utf8'));
  } catch (error) {
    return scannerFailure('debian', error, `cannot read the dpkg status file ${options.statusFile}`);
  }
  if (installed.length === 0)
    return scannerFailure(
      'debian',
      new DrydockError('VALIDATION_FAILED', 'it lists no installed package', { details: { reason: 'invalid_output' } }),
      `dpkg status file ${options.statusFile}`,
    );
  try {
    const result = matchDebian(installed, options.tracker, options);
    return {
      scanner: 'debian',
      ok: true,
      observations: result.observations,
      scanned: `${installed.length} installed packages (${result.sources} source packages) of ${options.statusFile} against ${result.trackerPackages} tracker source packages (${options.release})`,
      advisories: [advisoryAge(options.tracker)],
      notes: [],
    };
  } catch (error) {
    return scannerFailure('debian', error, `tracker file ${options.tracker}`);
  }
}
