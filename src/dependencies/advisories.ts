// Security advisories in the OSV format (https://ossf.github.io/osv-schema/), read from a JSON file:
// a list of OSV records, or {"vulns": [...]} as the OSV API's querybatch/query answers.
// Issue 13 is building a shared advisory reader under src/security/; it was not on main when this
// was written, so this is a small reader of the fields dependency updates need (affected npm
// package, SEMVER/ECOSYSTEM ranges, explicit versions, severity). Replace it with theirs once landed.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { DrydockError } from '../errors.js';

export interface Advisory {
  id: string;
  summary: string;
  severity: string | null;
  /** For each affected package name: the ranges, as [introduced, fixed | undefined, lastAffected | undefined]. */
  affected: Array<{
    name: string;
    ranges: Array<{ introduced: string; fixed?: string; lastAffected?: string }>;
    versions: string[];
  }>;
}

interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
}

interface OsvRecord {
  id?: string;
  summary?: string;
  details?: string;
  database_specific?: { severity?: string };
  affected?: Array<{
    package?: { ecosystem?: string; name?: string };
    ranges?: Array<{ type?: string; events?: OsvEvent[] }>;
    versions?: string[];
  }>;
}

export function readAdvisories(path: string): Advisory[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DrydockError('CONFIG_INVALID', `cannot read the advisories file ${path}: ${(error as Error).message}`, {
      hint: 'dependencies.npm.advisories must name an OSV JSON file (a list of records or {"vulns": [...]})',
    });
  }
  const records = Array.isArray(raw) ? raw : ((raw as { vulns?: unknown[] }).vulns ?? []);
  return (records as OsvRecord[]).map((r, i) => ({
    id: r.id ?? `advisory-${i + 1}`,
    summary: r.summary ?? r.details?.split('\n')[0] ?? '',
    severity: r.database_specific?.severity?.toLowerCase() ?? null,
    affected: (r.affected ?? [])
      .filter((a) => (a.package?.ecosystem ?? '').toLowerCase() === 'npm' && a.package?.name)
      .map((a) => ({
        name: a.package!.name!,
        versions: a.versions ?? [],
        ranges: (a.ranges ?? [])
          .filter((range) => range.type === 'SEMVER' || range.type === 'ECOSYSTEM')
          .flatMap((range) => rangesOf(range.events ?? [])),
      })),
  }));
}

/** OSV events in order: each "introduced" opens a range that the next "fixed" or "last_affected" closes. */
function rangesOf(events: OsvEvent[]): Advisory['affected'][number]['ranges'] {
  const out: Advisory['affected'][number]['ranges'] = [];
  let open: { introduced: string; fixed?: string; lastAffected?: string } | null = null;
  for (const e of events) {
    if (e.introduced !== undefined) {
      if (open) out.push(open);
      open = { introduced: e.introduced === '0' ? '0.0.0' : e.introduced };
    } else if (open && e.fixed !== undefined) {
      out.push({ ...open, fixed: e.fixed });
      open = null;
    } else if (open && e.last_affected !== undefined) {
      out.push({ ...open, lastAffected: e.last_affected });
      open = null;
    }
  }
  if (open) out.push(open);
  return out;
}

/** The advisories that affect `name@version`, with the version that fixes each (if the advisory names one). */
export function advisoriesFor(
  advisories: readonly Advisory[],
  name: string,
  version: string,
): Array<{ advisory: Advisory; fixed: string | null }> {
  const hits: Array<{ advisory: Advisory; fixed: string | null }> = [];
  for (const advisory of advisories) {
    for (const a of advisory.affected) {
      if (a.name !== name) continue;
      if (a.versions.includes(version)) {
        const fixed = a.ranges.find((r) => r.fixed && semver.gt(r.fixed, version))?.fixed ?? null;
        hits.push({ advisory, fixed });
        continue;
      }
      for (const r of a.ranges) {
        if (!semver.valid(version) || semver.lt(version, r.introduced)) continue;
        if (r.fixed && !semver.lt(version, r.fixed)) continue;
        if (r.lastAffected && semver.gt(version, r.lastAffected)) continue;
        hits.push({ advisory, fixed: r.fixed ?? null });
        break;
      }
    }
  }
  return hits;
}

export function isAffected(advisories: readonly Advisory[], name: string, version: string): boolean {
  return advisoriesFor(advisories, name, version).length > 0;
}
