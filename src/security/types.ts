// The one shape every scanner adapter produces (an observation: one vulnerability in one package at
// one place, seen now), and what a scanner run returns. Findings (store/sqlite/findings.ts) are
// observations de-duplicated across scanners and days.
export type Severity = 'critical' | 'high' | 'medium' | 'low';

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

export type ScannerKind = 'npm' | 'debian' | 'trivy' | 'grype' | 'nessus';

export interface Observation {
  /** The preferred id: the CVE when there is one, else the scanner's (GHSA-..., DSA-..., nessus:12345). */
  vulnId: string;
  /** Every id the advisory is known by, the preferred one included. */
  aliases: string[];
  /** Package name as its ecosystem writes it (npm name, Debian source package, Nessus plugin family). */
  package: string;
  ecosystem: 'npm' | 'debian' | 'container' | 'host';
  installedVersion: string;
  /** The first version without the vulnerability; null when no fix is available. */
  fixedVersion: string | null;
  severity: Severity;
  title: string;
  /** The host the package runs on. */
  host: string;
  /** Where it was found: "package-lock.json /srv/app", "image node:20", "dpkg /var/lib/dpkg/status". */
  location: string;
  scanner: ScannerKind;
}

export interface AdvisoryAge {
  file: string;
  /** When the database was last refreshed (file modification time). */
  modifiedAt: Date;
  ageMs: number;
}

export type ScannerOutcome =
  | {
      scanner: ScannerKind;
      ok: true;
      observations: Observation[];
      /** What was scanned, for the run record: "1,512 packages in /srv/app/package-lock.json". */
      scanned: string;
      advisories: AdvisoryAge[];
      notes: string[];
    }
  | {
      scanner: ScannerKind;
      ok: false;
      /** "not_installed" is a failed scan too: never a silent pass. */
      reason: 'not_installed' | 'crashed' | 'timeout' | 'invalid_output' | 'unknown_format' | 'unreachable' | 'error';
      /** Names the scanner and quotes what it printed (first lines). */
      error: string;
    };

export function normaliseSeverity(text: string | undefined | null): Severity | null {
  switch ((text ?? '').trim().toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'high':
    case 'important':
      return 'high';
    case 'medium':
    case 'moderate':
      return 'medium';
    case 'low':
    case 'negligible':
    case 'unimportant':
    case 'info':
    case 'none':
      return 'low';
    default:
      return null;
  }
}

/** The CVE among the ids if any (the id two scanners most likely share), else the first id. */
export function preferredId(ids: readonly string[]): string {
  return ids.find((id) => /^CVE-\d{4}-\d+$/i.test(id)) ?? ids[0]!;
}

/** The first lines of what a program printed, for an error message. */
export function firstLines(text: string, lines = 5): string {
  const all = text.trim().split('\n').slice(0, lines);
  return all.map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l)).join('\n') || '(nothing)';
}
