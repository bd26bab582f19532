// Container images and file systems, through Trivy or Grype when installed: their JSON reports
// (Trivy SchemaVersion 2; Grype's matches) become observations. A scanner that is not installed,
// crashes, times out, prints something that is not JSON or a report of a format version this code
// does not know is a failed scan naming the scanner and quoting what it printed: never a silent pass.
import { exec } from '../../adapters/exec.js';
import { DrydockError } from '../../errors.js';
import { firstLines, normaliseSeverity, preferredId, type Observation, type ScannerOutcome } from '../types.js';
import { scannerFailure } from './failure.js';

export type ScanTarget = { image: string } | { fs: string };

const targetName = (t: ScanTarget) => ('image' in t ? `image ${t.image}` : `file system ${t.fs}`);

function unknownFormat(what: string, text: string): DrydockError {
  return new DrydockError('VALIDATION_FAILED', `${what}; it printed:\n${firstLines(text)}`, {
    details: { reason: 'unknown_format' },
  });
}

function parseJson(scanner: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DrydockError('VALIDATION_FAILED', `${scanner} printed invalid JSON; it printed:\n${firstLines(text)}`, {
      details: { reason: 'invalid_output' },
    });
  }
}

interface TrivyReport {
  SchemaVersion?: number;
  Results?: Array<{
    Target?: string;
    Vulnerabilities?: Array<{
      VulnerabilityID: string;
      VendorIDs?: string[];
      PkgName: string;
      InstalledVersion: string;
      FixedVersion?: string;
      Severity?: string;
      Title?: string;
    }>;
  }>;
}

export function parseTrivy(text: string, location: string, host: string): Observation[] {
  const report = parseJson('trivy', text) as TrivyReport;
  if (!report || typeof report !== 'object' || report.SchemaVersion !== 2)
    throw unknownFormat(`trivy report SchemaVersion ${JSON.stringify(report?.SchemaVersion)} is not 2`, text);
  const out: Observation[] = [];
  for (const r of report.Results ?? [])
    for (const v of r.Vulnerabilities ?? []) {
      const ids = [v.VulnerabilityID, ...(v.VendorIDs ?? [])];
      out.push({
        vulnId: preferredId(ids),
        aliases: ids,
        package: v.PkgName,
        ecosystem: 'container',
        installedVersion: v.InstalledVersion,
        // "1.2.3, 1.3.1": the first listed fix.
        fixedVersion: v.FixedVersion ? v.FixedVersion.split(',')[0]!.trim() : null,
        severity: normaliseSeverity(v.Severity) ?? 'medium',
        title: v.Title ?? v.VulnerabilityID,
        host,
        location: `${location}${r.Target ? ` (${r.Target})` : ''}`,
        scanner: 'trivy',
      });
    }
  return out;
}

interface GrypeReport {
  descriptor?: { name?: string; version?: string };
  matches?: Array<{
    vulnerability: {
      id: string;
      severity?: string;
      description?: string;
      fix?: { versions?: string[]; state?: string };
    };
    relatedVulnerabilities?: Array<{ id: string }>;
    artifact: { name: string; version: string };
  }>;
}

export function parseGrype(text: string, location: string, host: string): Observation[] {
  const report = parseJson('grype', text) as GrypeReport;
  if (!report || typeof report !== 'object' || !Array.isArray(report.matches) || report.descriptor?.name !== 'grype')
    throw unknownFormat('grype report has no "matches" list or descriptor.name "grype"', text);
  return report.matches.map((m) => {
    const ids = [m.vulnerability.id, ...(m.relatedVulnerabilities ?? []).map((r) => r.id)];
    return {
      vulnId: preferredId(ids),
      aliases: [...new Set(ids)],
      package: m.artifact.name,
      ecosystem: 'container' as const,
      installedVersion: m.artifact.version,
      fixedVersion: m.vulnerability.fix?.state === 'fixed' ? (m.vulnerability.fix.versions?.[0] ?? null) : null,
      severity: normaliseSeverity(m.vulnerability.severity) ?? 'medium',
      title: (m.vulnerability.description ?? m.vulnerability.id).slice(0, 200),
      host,
      location,
      scanner: 'grype' as const,
    };
  });
}

export interface ContainerScanOptions {
  kind: 'trivy' | 'grype';
  program: string;
  targets: ScanTarget[];
  timeoutMs: number;
  host: string;
  signal?: AbortSignal;
}

function argsFor(kind: 'trivy' | 'grype', t: ScanTarget): string[] {
  if (kind === 'trivy')
    return 'image' in t
      ? ['image', '--format', 'json', '--quiet', '--scanners', 'vuln', t.image]
      : ['fs', '--format', 'json', '--quiet', '--scanners', 'vuln', t.fs];
  return ['image' in t ? t.image : `dir:${t.fs}`, '-o', 'json', '-q'];
}

export async function scanContainers(options: ContainerScanOptions): Promise<ScannerOutcome> {
  const observations: Observation[] = [];
  for (const target of options.targets) {
    const name = targetName(target);
    let stdout: string;
    try {
      const result = await exec(options.program, argsFor(options.kind, target), {
        timeoutMs: options.timeoutMs,
        what: options.kind,
        inheritEnv: ['DOCKER_HOST', 'TRIVY_CACHE_DIR', 'GRYPE_DB_CACHE_DIR'],
        hint: `${options.kind} is run as ${options.program}; install it or set security.scans.vulnerability.scanners.${options.kind}.program`,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      stdout = result.stdout;
    } catch (error) {
      const failed = scannerFailure(options.kind, error, `scanning ${name}`);
      if (failed.reason === 'not_installed')
        failed.error = `${options.kind} scanner not installed: ${options.program} was not found (scanning ${name}); install ${options.kind} or remove it from security.scans.vulnerability.scanners`;
      return failed;
    }
    try {
      observations.push(
        ...(options.kind === 'trivy' ? parseTrivy : parseGrype)(stdout, `${options.kind} ${name}`, options.host),
      );
    } catch (error) {
      return scannerFailure(options.kind, error, `scanning ${name}`);
    }
  }
  return {
    scanner: options.kind,
    ok: true,
    observations,
    scanned: `${options.targets.map(targetName).join(', ')} with ${options.program}`,
    advisories: [],
    notes: [],
  };
}
