// An offline OSV advisory database (https://ossf.github.io/osv-schema/) for one ecosystem, read from
// a file: a JSON array of OSV entries, {"vulns": [...]}, or JSON Lines. Only the entries that name a
// package we are asked about are parsed: a line is looked at by its package names first, so 200,000
// entries are read without holding them all (bench/scan.ts measures it against a whole-file parse).
import { createReadStream, readFileSync, statSync } from 'node:fs';
import semver from 'semver';
import { DrydockError } from '../../errors.js';
import { firstLines, normaliseSeverity, preferredId, type Severity } from '../types.js';

interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvEntry {
  schema_version?: string;
  id: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  modified?: string;
  withdrawn?: string;
  affected?: Array<{
    package?: { ecosystem?: string; name?: string };
    ranges?: Array<{ type?: string; events?: OsvEvent[] }>;
    versions?: string[];
    database_specific?: Record<string, unknown>;
  }>;
  database_specific?: { severity?: string } & Record<string, unknown>;
  severity?: Array<{ type: string; score: string }>;
}

export interface OsvMatch {
  entry: OsvEntry;
  ids: string[];
  vulnId: string;
  fixed: string | null;
  severity: Severity;
}

/** The OSV schema versions this reader understands (1.x). */
const SUPPORTED_SCHEMA = /^1\./;
const NAME_RE = /"name"\s*:\s*"((?:[^"\\]|\\.)*)"/g;

export class OsvIndex {
  private readonly byPackage = new Map<string, OsvEntry[]>();
  entries = 0;

  constructor(readonly ecosystem: string) {}

  add(entry: OsvEntry, wanted?: ReadonlySet<string>): void {
    if (entry.schema_version && !SUPPORTED_SCHEMA.test(entry.schema_version))
      throw new DrydockError(
        'VALIDATION_FAILED',
        `OSV entry ${entry.id} has schema_version ${entry.schema_version}; this version of Drydock reads OSV 1.x`,
        { details: { reason: 'unknown_format' } },
      );
    if (entry.withdrawn) return;
    this.entries++;
    for (const a of entry.affected ?? []) {
      if (a.package?.ecosystem !== this.ecosystem || !a.package.name) continue;
      if (wanted && !wanted.has(a.package.name)) continue;
      const list = this.byPackage.get(a.package.name) ?? [];
      if (!list.includes(entry)) list.push(entry);
      this.byPackage.set(a.package.name, list);
    }
  }

  /** The advisories that affect `name` at `version`. */
  match(name: string, version: string): OsvMatch[] {
    const out: OsvMatch[] = [];
    for (const entry of this.byPackage.get(name) ?? []) {
      for (const a of entry.affected ?? []) {
        if (a.package?.ecosystem !== this.ecosystem || a.package.name !== name) continue;
        const hit = affects(a, version);
        if (!hit.affected) continue;
        const ids = [entry.id, ...(entry.aliases ?? [])];
        out.push({ entry, ids, vulnId: preferredId(ids), fixed: hit.fixed, severity: osvSeverity(entry) });
        break;
      }
    }
    return out;
  }

  get packages(): number {
    return this.byPackage.size;
  }
}

export function osvSeverity(entry: OsvEntry): Severity {
  return normaliseSeverity(entry.database_specific?.severity) ?? 'medium';
}

const lowest = (v: string) => v === '0' || v === '';

function cmp(a: string, b: string): number {
  if (lowest(a)) return lowest(b) ? 0 : -1;
  if (lowest(b)) return 1;
  const va = semver.valid(a) ?? semver.valid(semver.coerce(a));
  const vb = semver.valid(b) ?? semver.valid(semver.coerce(b));
  if (!va || !vb) return a.localeCompare(b);
  return semver.compare(va, vb);
}

/** OSV range evaluation: the events sorted by version; the last one at or below the version decides. */
export function affects(
  affected: NonNullable<OsvEntry['affected']>[number],
  version: string,
): { affected: boolean; fixed: string | null } {
  if (affected.versions?.includes(version)) return { affected: true, fixed: firstFixed(affected, version) };
  for (const range of affected.ranges ?? []) {
    if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') continue;
    const events = [...(range.events ?? [])].sort((x, y) => cmp(eventVersion(x), eventVersion(y)));
    let hit = false;
    let fixed: string | null = null;
    for (const e of events) {
      if (e.introduced !== undefined && cmp(version, e.introduced) >= 0) hit = true;
      if (e.fixed !== undefined) {
        if (cmp(version, e.fixed) >= 0) hit = false;
        else if (hit && fixed === null) fixed = e.fixed;
      }
      if (e.last_affected !== undefined && cmp(version, e.last_affected) > 0) hit = false;
      if (e.limit !== undefined && cmp(version, e.limit) >= 0) hit = false;
    }
    if (hit) return { affected: true, fixed };
  }
  return { affected: false, fixed: null };
}

function eventVersion(e: OsvEvent): string {
  return e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '0';
}

function firstFixed(affected: NonNullable<OsvEntry['affected']>[number], version: string): string | null {
  for (const range of affected.ranges ?? [])
    for (const e of range.events ?? []) if (e.fixed && cmp(e.fixed, version) > 0) return e.fixed;
  return null;
}

function invalid(file: string, detail: string): DrydockError {
  return new DrydockError('VALIDATION_FAILED', `advisory file ${file} is not OSV JSON: ${detail}`, {
    details: { reason: 'invalid_output' },
  });
}

function fromWhole(text: string, file: string): OsvEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `${(error as Error).message}; it begins:\n${firstLines(text, 3)}`);
  }
  const list = Array.isArray(parsed)
    ? parsed
    : parsed && typeof parsed === 'object' && Array.isArray((parsed as { vulns?: unknown }).vulns)
      ? (parsed as { vulns: unknown[] }).vulns
      : null;
  if (!list) throw invalid(file, 'expected a list of OSV entries or {"vulns": [...]}');
  return list as OsvEntry[];
}

const NAME_KEY = Buffer.from('"name":"');
const NAME_LOOSE = Buffer.from('"name"');

/**
 * Loads the entries of `file` for `ecosystem` that name one of `wanted` (all when omitted). A file
 * larger than `streamAbove` bytes and written one entry per line is read in chunks, and a line is
 * decoded and parsed only when one of its package names is wanted; any other layout is parsed whole.
 */
export async function loadOsv(
  file: string,
  ecosystem: string,
  wanted?: ReadonlySet<string>,
  options: { streamAbove?: number } = {},
): Promise<OsvIndex> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new DrydockError('VALIDATION_FAILED', `advisory file ${file} cannot be read: ${(error as Error).message}`, {
      hint: 'refresh it (security.advisories.sources) or fix the path',
    });
  }
  const whole = () => {
    const index = new OsvIndex(ecosystem);
    for (const entry of fromWhole(readFileSync(file, 'utf8'), file)) index.add(entry, wanted);
    return index;
  };
  if (size <= (options.streamAbove ?? 8 * 1024 * 1024)) return whole();
  const index = new OsvIndex(ecosystem);
  let lineNo = 0;
  let layoutOk = true;
  const onLine = (buf: Buffer, from: number, to: number) => {
    lineNo++;
    while (from < to && (buf[from] === 0x20 || buf[from] === 0x09)) from++;
    while (to > from && [0x20, 0x09, 0x0d, 0x2c].includes(buf[to - 1]!)) to--;
    if (from === to) return;
    if (buf[from] !== 0x7b || buf[to - 1] !== 0x7d) {
      // "[", "]", '{"vulns": [' and "]}" frame the entries; anything else is another layout.
      const text = buf.toString('utf8', from, to).replace(/\s/g, '');
      if (['[', ']', '{"vulns":[', ']}'].includes(text)) return;
      layoutOk = false;
      return;
    }
    if (wanted && !lineWanted(buf, from, to, wanted)) {
      index.entries++;
      return;
    }
    let entry: OsvEntry;
    try {
      entry = JSON.parse(buf.toString('utf8', from, to)) as OsvEntry;
    } catch (error) {
      throw invalid(file, `line ${lineNo}: ${(error as Error).message}`);
    }
    index.add(entry, wanted);
  };
  await new Promise<void>((resolveRead, reject) => {
    let carry: Buffer | null = null;
    const stream = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
    stream.on('data', (data: string | Buffer) => {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      try {
        const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
        let start = 0;
        for (let nl = buf.indexOf(0x0a, start); nl >= 0 && layoutOk; nl = buf.indexOf(0x0a, start)) {
          onLine(buf, start, nl);
          start = nl + 1;
        }
        carry = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
        if (!layoutOk) stream.destroy();
      } catch (error) {
        stream.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    stream.on('close', () => {
      try {
        if (carry && layoutOk) onLine(carry, 0, carry.length);
        resolveRead();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    stream.on('error', reject);
  });
  return layoutOk ? index : whole();
}

/** Whether an entry's line names a wanted package, looking at its "name" values only. */
function lineWanted(buf: Buffer, from: number, to: number, wanted: ReadonlySet<string>): boolean {
  let at = buf.indexOf(NAME_KEY, from);
  if (at < 0 || at >= to) {
    // Not compact JSON ("name": "x"): decode the line and look with a pattern.
    const loose = buf.indexOf(NAME_LOOSE, from);
    return loose >= 0 && loose < to && namesWanted(buf.toString('utf8', from, to), wanted);
  }
  while (at >= 0 && at < to) {
    const start = at + NAME_KEY.length;
    const end = buf.indexOf(0x22, start);
    if (end < 0 || end > to) return false;
    const raw = buf.toString('utf8', start, end);
    if (wanted.has(raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw)) return true;
    at = buf.indexOf(NAME_KEY, end);
  }
  return false;
}

function namesWanted(line: string, wanted: ReadonlySet<string>): boolean {
  NAME_RE.lastIndex = 0;
  for (let m = NAME_RE.exec(line); m; m = NAME_RE.exec(line))
    if (wanted.has(JSON.parse(`"${m[1]}"`) as string)) return true;
  return false;
}
