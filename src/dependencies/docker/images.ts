// Base images: the FROM lines of a Dockerfile, the newer tags of the same flavour ("20.11.0-bookworm"
// → "20.11.1-bookworm", never "-alpine"), and the scan report of a candidate image (Trivy or Grype
// JSON) summed up by severity against the policy's threshold.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { DrydockError } from '../../errors.js';
import { classify } from '../npm/plan.js';

export interface FromLine {
  line: number;
  text: string;
  image: string;
}

/** The FROM lines naming a registry image (not scratch, not an earlier stage, not built from ARGs). */
export function readFromLines(path: string): FromLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DrydockError('CONFIG_INVALID', `cannot read the Dockerfile ${path}: ${(error as Error).message}`, {
      hint: 'dependencies.docker.dockerfiles lists Dockerfile paths',
    });
  }
  const stages = new Set<string>();
  const out: FromLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(raw);
    if (!m) return;
    const image = m[1]!;
    const known = image === 'scratch' || image.includes('$') || stages.has(image.toLowerCase());
    if (m[2]) stages.add(m[2].toLowerCase());
    if (!known) out.push({ line: i + 1, text: raw, image });
  });
  return out;
}

interface TagVersion {
  tag: string;
  version: string;
  suffix: string;
  parts: number;
}

/** "20.11.0-bookworm" → version 20.11.0, suffix "-bookworm", 3 parts; "latest" → null. */
export function tagVersion(tag: string): TagVersion | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/.exec(tag);
  if (!m) return null;
  const parts = m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1;
  return { tag, version: `${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}`, suffix: m[4]!, parts };
}

/** The newest tag of the same flavour (suffix and precision) above `current`, with its update type. */
export function newerTag(
  current: string,
  tags: readonly string[],
): { tag: string; type: 'patch' | 'minor' | 'major' } | null {
  const cur = tagVersion(current);
  if (!cur) return null;
  const candidates = tags
    .map(tagVersion)
    .filter(
      (t): t is TagVersion =>
        t !== null && t.suffix === cur.suffix && t.parts === cur.parts && semver.gt(t.version, cur.version),
    )
    .sort((a, b) => semver.compare(a.version, b.version));
  const best = candidates.at(-1);
  return best ? { tag: best.tag, type: classify(cur.version, best.version) } : null;
}

export type Severity = 'unknown' | 'low' | 'medium' | 'high' | 'critical';
const ORDER: Severity[] = ['unknown', 'low', 'medium', 'high', 'critical'];

export interface ScanSummary {
  tool: string;
  counts: Record<Severity, number>;
  /** Findings at or above the threshold (at most 20 kept). */
  blocking: Array<{ id: string; package: string; severity: Severity; fixedIn: string | null }>;
  threshold: Severity;
  blocked: boolean;
}

function severity(text: string | undefined): Severity {
  const s = (text ?? '').toLowerCase();
  return s === 'moderate' ? 'medium' : ORDER.includes(s as Severity) ? (s as Severity) : 'unknown';
}

/** Reads a Trivy (`Results[].Vulnerabilities[]`) or Grype (`matches[]`) JSON report. */
export function summariseScan(json: string, tool: string, threshold: Severity): ScanSummary {
  let report: unknown;
  try {
    report = JSON.parse(json);
  } catch (error) {
    throw new DrydockError('DEPENDENCY_UPDATE_STOPPED', `the ${tool} report is not JSON: ${(error as Error).message}`);
  }
  const findings: Array<{ id: string; package: string; severity: Severity; fixedIn: string | null }> = [];
  const r = report as {
    Results?: Array<{
      Vulnerabilities?: Array<{
        VulnerabilityID?: string;
        PkgName?: string;
        Severity?: string;
        FixedVersion?: string;
      }> | null;
    }>;
    matches?: Array<{
      vulnerability?: { id?: string; severity?: string; fix?: { versions?: string[] } };
      artifact?: { name?: string };
    }>;
  };
  if (Array.isArray(r.Results)) {
    for (const result of r.Results)
      for (const v of result.Vulnerabilities ?? [])
        findings.push({
          id: v.VulnerabilityID ?? '?',
          package: v.PkgName ?? '?',
          severity: severity(v.Severity),
          fixedIn: v.FixedVersion || null,
        });
  } else if (Array.isArray(r.matches)) {
    for (const m of r.matches)
      findings.push({
        id: m.vulnerability?.id ?? '?',
        package: m.artifact?.name ?? '?',
        severity: severity(m.vulnerability?.severity),
        fixedIn: m.vulnerability?.fix?.versions?.[0] ?? null,
      });
  } else {
    throw new DrydockError(
      'DEPENDENCY_UPDATE_STOPPED',
      `the ${tool} report has neither "Results" (Trivy) nor "matches" (Grype)`,
    );
  }
  const counts = Object.fromEntries(ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  const at = ORDER.indexOf(threshold);
  const blocking = findings.filter((f) => ORDER.indexOf(f.severity) >= at);
  return { tool, counts, blocking: blocking.slice(0, 20), threshold, blocked: blocking.length > 0 };
}

/** The default scanner command of a tool, as a list of arguments with an "{image}" placeholder. */
export function defaultScanCommand(tool: string): string[] {
  if (/grype/i.test(tool)) return ['grype', '{image}', '-o', 'json'];
  if (/trivy/i.test(tool)) return ['trivy', 'image', '--format', 'json', '--quiet', '{image}'];
  throw new DrydockError('CONFIG_INVALID', `dependencies.docker.scan.tool "${tool}" is neither Trivy nor Grype`, {
    hint: 'give dependencies.docker.scan.command for another scanner (it must print Trivy or Grype JSON)',
  });
}
