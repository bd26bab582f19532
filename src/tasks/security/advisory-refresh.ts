// drydock.advisories.refresh: downloads each advisory database of security.advisories.sources (an
// OSV JSON file, the Debian security tracker's JSON) and replaces its file only once the download is
// whole and is JSON, so a scan never reads a half-written or an error page. A source that cannot be
// reached fails its step, naming host and port, and leaves the file as it is: the scan then uses it
// as it is and reports its age.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { DrydockError } from '../../errors.js';
import { toSchedule } from '../../schedule/frequency.js';
import { eachTopLevelMember } from '../../security/scanners/json-scan.js';
import { securityFor } from '../../security/module.js';
import { firstLines } from '../../security/types.js';

export interface RefreshResult {
  sources: Array<{ url: string; file: string; ok: boolean; bytes?: number; sha256?: string; error?: string }>;
}

/** Throws unless `body` is one JSON object, one JSON list, or JSON Lines. */
export function checkAdvisoryJson(body: Buffer, what: string): void {
  let i = 0;
  while (i < body.length && [0x20, 0x0a, 0x0d, 0x09].includes(body[i]!)) i++;
  try {
    if (body[i] === 0x7b && body.indexOf(0x0a, i) < 0) {
      eachTopLevelMember(
        body,
        what,
        () => false,
        () => undefined,
      );
      return;
    }
    const text = body.toString('utf8');
    try {
      JSON.parse(text);
    } catch {
      // JSON Lines: every non-empty line a JSON value.
      const lines = text.split('\n').filter((l) => l.trim());
      if (!lines.length) throw new Error('it is empty');
      for (const line of lines) JSON.parse(line);
    }
  } catch (error) {
    throw new DrydockError(
      'VALIDATION_FAILED',
      `${what} is not JSON (${(error as Error).message}); it begins:\n${firstLines(body.subarray(0, 400).toString('utf8'), 3)}`,
    );
  }
}

async function download(url: string, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  const where = new URL(url);
  const hostPort = `${where.hostname}:${where.port || (where.protocol === 'https:' ? 443 : 80)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new DrydockError(
      'TARGET_UNREACHABLE',
      `advisory source ${hostPort} cannot be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      { retryable: true },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new DrydockError(
      'EXEC_FAILED',
      `advisory source ${hostPort} answered HTTP ${response.status} for ${where.pathname}`,
      {
        retryable: response.status >= 500,
      },
    );
  }
  return Buffer.from(await response.arrayBuffer());
}

export const advisoryRefreshTask: ImplementedTask<RefreshResult> = {
  id: 'drydock.advisories.refresh',
  title: 'Refresh the vulnerability advisory databases',
  implemented: true,
  disruptive: false,
  class: 'security',
  schedule: (policy) => toSchedule(policy.security.advisories),
  resources: () => ['security:advisories'],
  async execute(ctx: TaskContext): Promise<RefreshResult> {
    const security = securityFor(ctx);
    const sources = ctx.policy.security.advisories.sources;
    if (!sources.length)
      ctx.summary('no advisory source configured (security.advisories.sources): the files are used as they are');
    const result: RefreshResult = { sources: [] };
    for (const source of sources) {
      const file = isAbsolute(source.file) ? source.file : resolve(security.baseDir, source.file);
      const entry: RefreshResult['sources'][number] = { url: source.url, file, ok: false };
      result.sources.push(entry);
      await ctx.step(
        `refresh ${file}`,
        async (step) => {
          try {
            const body = await download(source.url, source.timeout.ms, ctx.signal);
            checkAdvisoryJson(body, `the download of ${source.url}`);
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(`${file}.partial`, body);
            renameSync(`${file}.partial`, file);
            entry.ok = true;
            entry.bytes = body.length;
            entry.sha256 = createHash('sha256').update(body).digest('hex');
            step.output(`${body.length} bytes, sha256 ${entry.sha256}`);
            ctx.summary(`${file}: refreshed (${body.length} bytes)`);
          } catch (error) {
            entry.error = (error as Error).message;
            let age: string;
            try {
              age = ` (${((ctx.clock.now().getTime() - statSync(file).mtime.getTime()) / 86_400_000).toFixed(1)} days old)`;
            } catch {
              age = ' (no file yet)';
            }
            ctx.summary(`${file}: not refreshed, used as it is${age}: ${entry.error}`);
            throw error;
          }
        },
        { continueOnError: true },
      );
    }
    return result;
  },
  validate(_ctx: TaskContext, result: RefreshResult): Promise<ValidationResult> {
    const checks = result.sources.map((s) => ({
      name: `refreshed ${s.file}`,
      ok: s.ok,
      detail: s.ok ? `${s.bytes ?? 0} bytes from ${s.url}` : (s.error ?? 'failed'),
    }));
    return Promise.resolve({ ok: checks.every((c) => c.ok), checks });
  },
};
