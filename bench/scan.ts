// npm run bench:scan
//
// The daily vulnerability scan at realistic size: a package-lock.json of 1,500 packages against an
// OSV advisory file of 200,000 npm entries (~120 MB, one entry per line as the OSV exports are
// concatenated here), and a dpkg status of 2,000 installed packages (this machine's real entries plus
// generated ones) against a Debian security tracker file of ~35,000 source packages (~70 MB, the
// size of security-tracker.debian.org/tracker/data/json). Goal: both scans under 3 s and 300 MB RSS.
//
// Each side runs in its own child process so its peak RSS (getrusage maxrss) is its own:
//   drydock   src/security/scanners: the OSV file streamed line by line, only entries naming a
//             package of the lockfile parsed; the tracker scanned once for its top-level members,
//             only the installed source packages parsed. Then the findings are recorded (first day:
//             every finding new, patches reported) into an in-memory SQLite state.
//   baseline  the straightforward way osv-scanner's offline mode and debsecan work: JSON.parse the
//             whole advisory file and the whole tracker, index advisories by package name, match with
//             the same range and version rules (so both must find the same vulnerabilities).
// Prints figures and ratios; asserts nothing. Knob: DRYDOCK_BENCH_SCAN_DIR keeps the generated files.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exec } from '../src/adapters/exec.js';
import { PatchService } from '../src/approvals/patches.js';
import { systemClock } from '../src/engine/clock.js';
import { policySchema } from '../src/policy/schema.js';
import { compareDebianVersions } from '../src/security/debian-version.js';
import { FindingService } from '../src/security/findings.js';
import { readDpkgStatus, scanDebian } from '../src/security/scanners/debian.js';
import { readLockfile, scanNpm } from '../src/security/scanners/npm.js';
import { affects, type OsvEntry } from '../src/security/scanners/osv.js';
import { openSqlite } from '../src/store/sqlite/open.js';

const LOCK_PACKAGES = 1_500;
const OSV_ENTRIES = 200_000;
const DPKG_PACKAGES = 2_000;
const TRACKER_SOURCES = 35_000;
const HERE = import.meta.filename;

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

// A small deterministic generator, so every run scans the same files.
let seed = 13;
const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
const WORDS = [
  'json',
  'parse',
  'url',
  'path',
  'yaml',
  'stream',
  'buffer',
  'crypto',
  'auth',
  'cookie',
  'form',
  'http',
  'cache',
  'store',
  'proxy',
  'image',
  'html',
  'sanitize',
  'template',
  'markdown',
];
const version = () => `${Math.floor(rnd() * 6)}.${Math.floor(rnd() * 20)}.${Math.floor(rnd() * 10)}`;

function generate(dir: string): void {
  // package-lock.json v3 with 1,500 packages, some nested.
  const packages: Record<string, unknown> = { '': { name: 'dokkerr-web', version: '3.14.0' } };
  const lockNames: string[] = [];
  for (let i = 0; i < LOCK_PACKAGES; i++) {
    const name = i % 7 === 0 ? `@dokkerr/${pick(WORDS)}-${i}` : `${pick(WORDS)}-${pick(WORDS)}-${i}`;
    lockNames.push(name);
    const path =
      i % 10 === 0 && i > 0 ? `node_modules/${lockNames[i - 1]}/node_modules/${name}` : `node_modules/${name}`;
    packages[path] = {
      version: version(),
      resolved: `https://registry.npmjs.org/${name}/-/${name}.tgz`,
      integrity: `sha512-${'x'.repeat(86)}==`,
    };
  }
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'dokkerr-web', lockfileVersion: 3, requires: true, packages }, null, 2),
  );

  // 200,000 OSV entries: 1 in 100 about a package of the lockfile, the rest about 30,000 others.
  const osv = join(dir, 'osv-npm.json');
  writeFileSync(osv, '[\n');
  let chunk: string[] = [];
  for (let i = 0; i < OSV_ENTRIES; i++) {
    const name = i % 100 === 0 ? lockNames[(i / 100) % LOCK_PACKAGES]! : `${pick(WORDS)}-${pick(WORDS)}-x${i % 30_000}`;
    const entry: OsvEntry = {
      schema_version: '1.6.0',
      id: `GHSA-${i.toString(36).padStart(4, '0')}-bnch-${(i * 7).toString(36).slice(-4).padStart(4, '0')}`,
      modified: '2026-11-20T09:12:00Z',
      aliases: [`CVE-20${10 + (i % 17)}-${10_000 + i}`],
      summary: `${pick(['Prototype pollution', 'Regular expression denial of service', 'Path traversal', 'Command injection', 'Server-side request forgery'])} in ${name}`,
      details: 'Affected versions of this package are vulnerable when untrusted input reaches the parser. '.repeat(2),
      affected: [
        {
          package: { ecosystem: 'npm', name },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: version() }] }],
          database_specific: { source: 'https://github.com/advisories' },
        },
      ],
      database_specific: { severity: pick(['LOW', 'MODERATE', 'HIGH', 'CRITICAL']) },
    };
    chunk.push(JSON.stringify(entry));
    if (chunk.length === 5_000 || i === OSV_ENTRIES - 1) {
      appendFileSync(osv, chunk.join(',\n') + (i === OSV_ENTRIES - 1 ? '\n]\n' : ',\n'));
      chunk = [];
    }
  }

  // dpkg status: this machine's real entries, then generated ones up to 2,000.
  const real = existsSync('/var/lib/dpkg/status') ? readFileSync('/var/lib/dpkg/status', 'utf8').trim() : '';
  const paragraphs = real ? real.split(/\n\s*\n/).slice(0, DPKG_PACKAGES) : [];
  for (let i = paragraphs.length; i < DPKG_PACKAGES; i++)
    paragraphs.push(
      [
        `Package: lib${pick(WORDS)}${i}`,
        'Status: install ok installed',
        'Priority: optional',
        'Section: libs',
        `Installed-Size: ${100 + i}`,
        'Maintainer: Debian Maintainers <debian@lists.debian.org>',
        'Architecture: amd64',
        'Multi-Arch: same',
        `Source: src${i % 600}`,
        `Version: ${version()}-${1 + (i % 3)}+deb12u${i % 5}`,
        'Depends: libc6 (>= 2.34)',
        `Description: generated library ${i}`,
        ' A long description line as dpkg keeps it.',
      ].join('\n'),
    );
  writeFileSync(join(dir, 'dpkg-status'), `${paragraphs.join('\n\n')}\n`);

  // The tracker: the installed source packages (so they match) and filler up to 35,000 sources.
  const sources = [...new Set(readDpkgStatus(readFileSync(join(dir, 'dpkg-status'), 'utf8')).map((p) => p.source))];
  const tracker = join(dir, 'debian-tracker.json');
  writeFileSync(tracker, '{');
  let parts: string[] = [];
  for (let i = 0; i < TRACKER_SOURCES; i++) {
    const source = i < sources.length ? sources[i]! : `${pick(WORDS)}${pick(WORDS)}${i}`;
    const cves: Record<string, unknown> = {};
    const count = 1 + Math.floor(rnd() * 7);
    for (let c = 0; c < count; c++) {
      const release = () =>
        rnd() < 0.3
          ? {
              status: 'open',
              repositories: { x: version() },
              urgency: pick(['low', 'medium', 'unimportant', 'not yet assigned']),
            }
          : {
              status: 'resolved',
              repositories: { x: version() },
              fixed_version: `${version()}-1`,
              urgency: pick(['low', 'medium', 'high']),
            };
      cves[`CVE-20${10 + (c % 17)}-${20_000 + i * 10 + c}`] = {
        description: `Issue ${c} in ${source}: a crafted input may cause a denial of service or memory corruption.`,
        scope: pick(['local', 'remote']),
        releases: { bullseye: release(), bookworm: release(), trixie: release(), sid: release() },
      };
    }
    parts.push(`${JSON.stringify(source)}:${JSON.stringify(cves)}`);
    if (parts.length === 2_000 || i === TRACKER_SOURCES - 1) {
      appendFileSync(tracker, parts.join(',') + (i === TRACKER_SOURCES - 1 ? '}' : ','));
      parts = [];
    }
  }
}

interface Measured {
  ms: number;
  /** User + system CPU time of the child: what the work costs, less the waiting a loaded machine adds. */
  cpuMs: number;
  npmMs?: number;
  recordMs?: number;
  recordCpuMs?: number;
  rss: number;
  npm: number;
  debian: number;
  findings?: number;
}

async function measureDrydock(dir: string): Promise<Measured> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const npm = await scanNpm({
    lockfile: join(dir, 'package-lock.json'),
    advisories: join(dir, 'osv-npm.json'),
    audit: false,
    timeoutMs: 60_000,
    host: 'web-1',
  });
  const npmMs = performance.now() - started;
  const debian = scanDebian({
    statusFile: join(dir, 'dpkg-status'),
    tracker: join(dir, 'debian-tracker.json'),
    release: 'bookworm',
    host: 'web-1',
  });
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (!npm.ok || !debian.ok) throw new Error(`scan failed: ${JSON.stringify([npm, debian].filter((o) => !o.ok))}`);
  const policy = policySchema.parse({});
  const db = openSqlite(':memory:');
  const patches = new PatchService({ db, policy, clock: systemClock, channels: new Map() });
  const findings = new FindingService({ db, policy, clock: systemClock, channels: new Map(), patches });
  const recordStarted = performance.now();
  const recordCpu = process.cpuUsage();
  const recorded = await findings.record([npm, debian], 1, 'bench');
  const recordMs = performance.now() - recordStarted;
  const recordUsed = process.cpuUsage(recordCpu);
  return {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    npmMs,
    recordMs,
    recordCpuMs: (recordUsed.user + recordUsed.system) / 1000,
    rss: process.resourceUsage().maxRSS * 1024,
    npm: npm.observations.length,
    debian: debian.observations.length,
    findings: recorded.created.length,
  };
}

function measureBaseline(dir: string): Measured {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const entries = JSON.parse(readFileSync(join(dir, 'osv-npm.json'), 'utf8')) as OsvEntry[];
  const byName = new Map<string, Array<NonNullable<OsvEntry['affected']>[number]>>();
  for (const e of entries)
    for (const a of e.affected ?? [])
      if (a.package?.name) byName.set(a.package.name, [...(byName.get(a.package.name) ?? []), a]);
  let npm = 0;
  const seen = new Set<string>();
  for (const p of readLockfile(readFileSync(join(dir, 'package-lock.json'), 'utf8'), 'lock')) {
    for (const a of byName.get(p.name) ?? []) {
      const key = `${p.name}@${p.version}#${JSON.stringify(a.ranges)}`;
      if (!seen.has(key) && affects(a, p.version).affected) npm++;
      seen.add(key);
    }
  }
  const tracker = JSON.parse(readFileSync(join(dir, 'debian-tracker.json'), 'utf8')) as Record<
    string,
    Record<string, { releases?: Record<string, { status?: string; fixed_version?: string }> }>
  >;
  let debian = 0;
  const installed = new Map<string, string>();
  for (const p of readDpkgStatus(readFileSync(join(dir, 'dpkg-status'), 'utf8'))) {
    const old = installed.get(p.source);
    if (!old || compareDebianVersions(p.sourceVersion, old) < 0) installed.set(p.source, p.sourceVersion);
  }
  for (const [source, v] of installed)
    for (const cve of Object.values(tracker[source] ?? {})) {
      const rel = cve.releases?.bookworm;
      if (!rel) continue;
      if (rel.status === 'open' || rel.status === 'undetermined') debian++;
      else if (
        rel.status === 'resolved' &&
        rel.fixed_version &&
        rel.fixed_version !== '0' &&
        compareDebianVersions(v, rel.fixed_version) < 0
      )
        debian++;
    }
  const used = process.cpuUsage(cpu);
  return {
    ms: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    rss: process.resourceUsage().maxRSS * 1024,
    npm,
    debian,
  };
}

async function child(mode: 'drydock' | 'baseline', dir: string): Promise<Measured> {
  const result = await exec(process.execPath, ['--import', 'tsx', HERE, '--measure', mode, dir], {
    timeoutMs: 10 * 60_000,
    what: `bench ${mode}`,
  });
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Measured;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') {
    const dir = process.argv[4]!;
    const measured = process.argv[3] === 'drydock' ? await measureDrydock(dir) : measureBaseline(dir);
    process.stdout.write(`${JSON.stringify(measured)}\n`);
    return;
  }
  const keep = process.env.DRYDOCK_BENCH_SCAN_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'drydock-bench-scan-'));
  mkdirSync(dir, { recursive: true });
  try {
    if (!existsSync(join(dir, 'debian-tracker.json'))) {
      const t = performance.now();
      generate(dir);
      process.stdout.write(`generated inputs in ${((performance.now() - t) / 1000).toFixed(1)} s in ${dir}\n`);
    }
    const size = (f: string) => mb(readFileSync(join(dir, f)).length);
    process.stdout.write(
      `inputs: package-lock.json ${LOCK_PACKAGES} packages; osv-npm.json ${OSV_ENTRIES} entries (${size('osv-npm.json')}); dpkg status ${DPKG_PACKAGES} packages; tracker ${TRACKER_SOURCES} source packages (${size('debian-tracker.json')})\n`,
    );
    process.stdout.write(
      `load average before: ${load()} (2 cores shared with other engineers: figures are taken under shared load)\n`,
    );
    const ours = await child('drydock', dir);
    const base = await child('baseline', dir);
    process.stdout.write(`load average after: ${load()}\n\n`);
    const row = (name: string, m: Measured) =>
      `${name.padEnd(9)} ${(m.ms / 1000).toFixed(2).padStart(7)} s ${(m.cpuMs / 1000).toFixed(2).padStart(7)} s ${mb(m.rss).padStart(8)}   npm ${m.npm}  debian ${m.debian}`;
    process.stdout.write(`side       wall time  CPU time  peak RSS   vulnerable package versions found\n`);
    process.stdout.write(`${row('drydock', ours)}\n${row('baseline', base)}\n`);
    process.stdout.write(
      `\ndrydock: npm ${((ours.npmMs ?? 0) / 1000).toFixed(2)} s, debian ${((ours.ms - (ours.npmMs ?? 0)) / 1000).toFixed(2)} s (wall)\nrecording ${ours.findings} new findings (first day, patches reported) into SQLite: ${((ours.recordMs ?? 0) / 1000).toFixed(2)} s more (CPU ${((ours.recordCpuMs ?? 0) / 1000).toFixed(2)} s)\n`,
    );
    process.stdout.write(
      `drydock vs baseline: ${(base.ms / ours.ms).toFixed(1)}x faster (CPU ${(base.cpuMs / ours.cpuMs).toFixed(1)}x), ${(base.rss / ours.rss).toFixed(1)}x less memory; same matches: ${ours.npm === base.npm && ours.debian === base.debian ? 'yes' : 'NO'}\n`,
    );
    const total = (ours.ms + (ours.recordMs ?? 0)) / 1000;
    const cpu = (ours.cpuMs + (ours.recordCpuMs ?? 0)) / 1000;
    const small = ours.rss < 300 * 1024 * 1024;
    process.stdout.write(
      `goal (< 3 s and < 300 MB for the daily scan of both, findings recorded): wall ${total.toFixed(2)} s (${total < 3 && small ? 'met' : 'NOT met'} at this load), CPU ${cpu.toFixed(2)} s (${cpu < 3 && small ? 'met' : 'NOT met'}), ${mb(ours.rss)}\n`,
    );
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
