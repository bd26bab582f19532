// Nessus through its REST API (the scans API of Nessus 8-10): launch a scan defined in Nessus (its
// policy and targets live there), poll it until it completes, request a CSV export, wait for the
// export and download it. Authentication is the X-ApiKeys header built from two secrets, never logged.
// Rows become observations: the host is the scanned host, the CVEs and "nessus:<plugin id>" are the
// ids, and the installed and fixed versions come from the plugin output when Nessus gives them
// ("Remote package installed : openssl_3.0.9-1" / "Should be : openssl_3.0.11-1~deb12u2", or
// "Installed version : ..." / "Fixed version : ...").
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parse } from 'csv-parse/sync';
import { DrydockError } from '../../errors.js';
import { firstLines, normaliseSeverity, preferredId, type Observation, type ScannerOutcome } from '../types.js';
import { scannerFailure } from './failure.js';

export interface NessusScanOptions {
  url: string;
  accessKey: string;
  secretKey: string;
  scanId: number;
  pollMs: number;
  timeoutMs: number;
  caFile?: string;
  signal?: AbortSignal;
  /** Injected by tests that must not wait the policy's poll interval. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface Response {
  status: number;
  body: string;
}

function call(options: NessusScanOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  const url = new URL(path.replace(/^\//, ''), options.url.endsWith('/') ? options.url : `${options.url}/`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          'X-ApiKeys': `accessKey=${options.accessKey}; secretKey=${options.secretKey}`,
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
        ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
        timeout: 60_000,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new DrydockError(
          'TARGET_UNREACHABLE',
          `Nessus at ${url.host} cannot be reached: ${error.code ?? error.message}`,
          {
            retryable: true,
            details: { reason: 'unreachable' },
          },
        ),
      ),
    );
    if (payload) req.write(payload);
    req.end();
  });
}

function json<T>(r: Response, what: string): T {
  if (r.status === 401 || r.status === 403)
    throw new DrydockError('TARGET_AUTH_FAILED', `Nessus refused ${what} (HTTP ${r.status}): check the API keys`);
  if (r.status < 200 || r.status >= 300)
    throw new DrydockError('EXEC_FAILED', `Nessus answered ${what} with HTTP ${r.status}: ${firstLines(r.body, 3)}`, {
      details: { reason: 'crashed' },
    });
  try {
    return JSON.parse(r.body) as T;
  } catch {
    throw new DrydockError('VALIDATION_FAILED', `Nessus answered ${what} with invalid JSON:\n${firstLines(r.body)}`, {
      details: { reason: 'invalid_output' },
    });
  }
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Launch, poll, export, download: the CSV report of one run of the scan. */
export async function runNessusScan(
  options: NessusScanOptions,
): Promise<{ csv: string; scanUuid: string; polls: number }> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const started = now();
  const id = options.scanId;
  const launched = json<{ scan_uuid?: string }>(
    await call(options, 'POST', `/scans/${id}/launch`, {}),
    `the launch of scan ${id}`,
  );
  if (!launched.scan_uuid)
    throw new DrydockError('VALIDATION_FAILED', `Nessus did not return a scan_uuid for scan ${id}`, {
      details: { reason: 'unknown_format' },
    });
  let polls = 0;
  for (;;) {
    const details = json<{ info?: { status?: string } }>(
      await call(options, 'GET', `/scans/${id}`),
      `the status of scan ${id}`,
    );
    polls++;
    const status = details.info?.status;
    if (status === 'completed') break;
    if (status === 'canceled' || status === 'aborted' || status === 'stopped' || status === 'empty')
      throw new DrydockError('EXEC_FAILED', `Nessus scan ${id} ended ${status}`, { details: { reason: 'crashed' } });
    if (!status)
      throw new DrydockError('VALIDATION_FAILED', `Nessus scan ${id} details have no info.status`, {
        details: { reason: 'unknown_format' },
      });
    if (now() - started > options.timeoutMs)
      throw new DrydockError(
        'EXEC_TIMEOUT',
        `Nessus scan ${id} did not complete within ${Math.round(options.timeoutMs / 60_000)} minutes (last status ${status})`,
        {
          retryable: true,
          details: { reason: 'timeout' },
        },
      );
    await sleep(options.pollMs);
  }
  const exported = json<{ file?: number }>(
    await call(options, 'POST', `/scans/${id}/export`, { format: 'csv' }),
    `the export of scan ${id}`,
  );
  if (exported.file === undefined)
    throw new DrydockError('VALIDATION_FAILED', 'Nessus export answer has no file id', {
      details: { reason: 'unknown_format' },
    });
  for (;;) {
    const s = json<{ status?: string }>(
      await call(options, 'GET', `/scans/${id}/export/${exported.file}/status`),
      `the export status of scan ${id}`,
    );
    if (s.status === 'ready') break;
    if (now() - started > options.timeoutMs)
      throw new DrydockError('EXEC_TIMEOUT', `the Nessus export of scan ${id} was not ready in time`, {
        details: { reason: 'timeout' },
      });
    await sleep(Math.min(options.pollMs, 5_000));
  }
  const download = await call(options, 'GET', `/scans/${id}/export/${exported.file}/download`);
  if (download.status !== 200)
    throw new DrydockError('EXEC_FAILED', `Nessus download of scan ${id} answered HTTP ${download.status}`, {
      details: { reason: 'crashed' },
    });
  return { csv: download.body, scanUuid: launched.scan_uuid, polls };
}

const REQUIRED = ['Plugin ID', 'CVE', 'Risk', 'Host', 'Name'];

/** Nessus's CSV export: one row per plugin, host, port and CVE; rows of one plugin on one host are one observation. */
export function parseNessusCsv(csv: string): Observation[] {
  let rows: Array<Record<string, string>>;
  try {
    rows = parse<Record<string, string>>(csv, { columns: true, skip_empty_lines: true, relax_column_count: true });
  } catch (error) {
    throw new DrydockError(
      'VALIDATION_FAILED',
      `the Nessus export is not CSV: ${(error as Error).message}:\n${firstLines(csv)}`,
      {
        details: { reason: 'invalid_output' },
      },
    );
  }
  const header = rows[0] ? Object.keys(rows[0]) : REQUIRED;
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length)
    throw new DrydockError(
      'VALIDATION_FAILED',
      `the Nessus export lacks the columns ${missing.join(', ')}; it begins:\n${firstLines(csv, 2)}`,
      {
        details: { reason: 'unknown_format' },
      },
    );
  const byKey = new Map<string, Observation>();
  for (const row of rows) {
    const severity = normaliseSeverity(row.Risk);
    if (!severity || row.Risk === 'None') continue;
    const key = `${row['Plugin ID']}|${row.Host}`;
    const existing = byKey.get(key);
    const cve = (row.CVE ?? '').trim();
    if (existing) {
      if (cve && !existing.aliases.includes(cve)) existing.aliases.push(cve);
      existing.vulnId = preferredId(existing.aliases);
      continue;
    }
    const output = row['Plugin Output'] ?? '';
    const installed = /(?:Remote package installed|Installed version)\s*:\s*(\S+)/.exec(output)?.[1] ?? '';
    const fixed = /(?:Should be|Fixed version)\s*:\s*(\S+)/.exec(output)?.[1] ?? null;
    // Debian/Ubuntu local checks print "name_version".
    const underscore = installed.indexOf('_');
    const pkg = underscore > 0 ? installed.slice(0, underscore) : row.Name!;
    const aliases = [...(cve ? [cve] : []), `nessus:${row['Plugin ID']}`];
    byKey.set(key, {
      vulnId: preferredId(aliases),
      aliases,
      package: pkg,
      ecosystem: 'host',
      installedVersion: underscore > 0 ? installed.slice(underscore + 1) : installed,
      fixedVersion: fixed && fixed.includes('_') ? fixed.slice(fixed.indexOf('_') + 1) : fixed,
      severity,
      title: row.Name ?? `Nessus plugin ${row['Plugin ID']}`,
      host: row.Host!,
      location: `nessus ${row.Host}${row.Port && row.Port !== '0' ? `:${row.Port}/${row.Protocol ?? 'tcp'}` : ''}`,
      scanner: 'nessus',
    });
  }
  return [...byKey.values()];
}

export async function scanNessus(options: NessusScanOptions): Promise<ScannerOutcome> {
  try {
    const run = await runNessusScan(options);
    const observations = parseNessusCsv(run.csv);
    return {
      scanner: 'nessus',
      ok: true,
      observations,
      scanned: `Nessus scan ${options.scanId} (${run.scanUuid}) at ${new URL(options.url).host}, ${run.polls} status polls`,
      advisories: [],
      notes: [],
    };
  } catch (error) {
    return scannerFailure('nessus', error, `scan ${options.scanId} at ${new URL(options.url).host}`);
  }
}
