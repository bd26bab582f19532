// The policy of issue 13: which vulnerability scanners run (a policy choice; the spec names Nessus),
// where their inputs and advisory databases are, the SLA alert threshold, accepted risks
// (exceptions, each with an owner, a reason and an expiry) and where compliance reports are kept.
// Imported into the `security` section of schema.ts.
import { z } from 'zod';
import { bool, calendarDate, duration, frequency, int, list, positiveDuration, str, timeOfDay } from './fields.js';

const secret = z
  .strictObject({ env: str('an environment variable name').optional(), file: str('a file path').optional() })
  .refine((s) => Boolean(s.env) !== Boolean(s.file), { message: 'expected exactly one of "env" or "file"' });

/** What a container/file-system scanner looks at: `image: node:20` or `fs: /srv/dokkerr`. */
const scanTarget = z.union([
  z.strictObject({ image: str('an image reference') }),
  z.strictObject({ fs: str('a directory') }),
]);

const containerScanner = z.strictObject({
  /** The program; a bare name is looked up on PATH. */
  program: str('a program path'),
  targets: list(scanTarget).min(1, { message: 'give at least one target ({image: ...} or {fs: ...})' }),
  timeout: duration().prefault('15 minutes'),
});

export const vulnerabilityScanners = z.strictObject({
  /** The Node application's dependencies: its package-lock.json against an OSV advisory file. */
  npm: z
    .strictObject({
      lockfile: str('a package-lock.json path'),
      /** Offline advisory database: an OSV JSON file (a list of OSV entries, or {vulns: [...]}). */
      advisories: str('an OSV JSON file'),
      /** Also ask `npm audit --json` (the registry's advisory service); its failure falls back to the file. */
      audit: bool().default(false),
      timeout: duration().prefault('2 minutes'),
    })
    .optional(),
  /** The host's Debian packages (dpkg status) against a Debian security tracker JSON file, as debsecan does. */
  debian: z
    .strictObject({
      status_file: str('a dpkg status file').default('/var/lib/dpkg/status'),
      tracker: str('a Debian security tracker JSON file'),
      /** The release codename whose entries apply; default: VERSION_CODENAME of /etc/os-release. */
      release: str('a Debian codename like "bookworm"').optional(),
    })
    .optional(),
  trivy: containerScanner.extend({ program: str('a program path').default('trivy') }).optional(),
  grype: containerScanner.extend({ program: str('a program path').default('grype') }).optional(),
  /** Nessus over its REST API: launch a scan defined in Nessus (with its policy and targets), poll, export. */
  nessus: z
    .strictObject({
      url: str('a URL').url({ message: 'expected an http(s) URL' }),
      access_key: secret,
      secret_key: secret,
      /** The id of the scan (with its policy and targets) to launch. */
      scan_id: int(1),
      poll: duration().prefault('15 seconds'),
      timeout: duration().prefault('4 hours'),
      /** PEM file of a CA to trust (Nessus's own self-signed certificate). */
      ca_file: str('a file path').optional(),
    })
    .optional(),
});

/** An accepted risk: never without an owner, a reason and an expiry date. */
export const findingException = z.strictObject({
  /** A vulnerability id or alias: CVE-..., GHSA-..., a Nessus plugin id. */
  finding: str('a vulnerability id like CVE-2024-1234'),
  /** Limits the exception to one package (default: every package with that vulnerability). */
  package: str('a package name').optional(),
  /** Limits the exception to one host. */
  host: str('a host name').optional(),
  owner: str('a stakeholder name').min(1),
  reason: str('why the risk is accepted').min(10, { message: 'give a reason of at least 10 characters' }),
  expires: calendarDate('2026-12-31'),
});

export const vulnerabilityScanFields = {
  /** Scanners to run, by kind; a scanner not listed here is not run. */
  scanners: vulnerabilityScanners.prefault({}),
  /** The host name findings are recorded under (default: this machine's host name). */
  host: str('a host name').optional(),
  /** An advisory database older than this makes the scan a warning in the run record. */
  advisory_max_age: positiveDuration().prefault('7 days'),
};

export const complianceFields = {
  /** Where generated reports are stored (relative paths are under the state file's directory). */
  reports_dir: str('a directory').default('compliance-reports'),
  /** Formats the monthly task stores for the previous month. */
  formats: list(z.enum(['html', 'pdf', 'json']))
    .min(1)
    .default(['pdf', 'json']),
  /** The Chromium that renders the PDF report (headless, through playwright-core). */
  chromium: str('a program path').default('/usr/bin/chromium'),
};

export const exceptionsField = list(findingException).prefault([]);

/** `security.advisories`: the daily refresh of the advisory database files (drydock.advisories.refresh). */
export const advisoriesSection = z
  .strictObject({
    frequency: frequency().prefault('daily'),
    /** Before the daily scan (05:00 UTC), so it runs on the fresh files. */
    time: timeOfDay().prefault('04:30 UTC'),
    /** Sources to download; each replaces its file only after the download parsed as JSON. */
    sources: list(
      z.strictObject({
        url: str('a URL').url({ message: 'expected an http(s) URL' }),
        file: str('the advisory file it refreshes'),
        timeout: duration().prefault('2 minutes'),
      }),
    ).prefault([]),
  })
  .prefault({});
