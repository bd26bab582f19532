// Renders the monthly compliance report as JSON, HTML or PDF (the HTML printed by headless Chromium
// through playwright-core), stores it under security.scans.compliance.reports_dir with its SHA-256,
// and records it so `drydock compliance list` can show it and check it was not changed since.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { html } from 'hono/html';
import { DrydockError } from '../../errors.js';
import { FindingStore, type ComplianceReportRecord } from '../../store/sqlite/findings.js';
import type { Store } from '../../store/types.js';
import type { SecurityModule } from '../module.js';
import { buildComplianceReport, type ComplianceReport, type ControlStatus } from './controls.js';

export type ReportFormat = 'html' | 'pdf' | 'json';

const LABEL: Record<ControlStatus, string> = { met: 'MET', not_met: 'NOT MET', no_evidence: 'NO EVIDENCE' };

export async function renderHtml(report: ComplianceReport): Promise<string> {
  // hono/html escapes every interpolated value.
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Compliance evidence ${report.month}</title>
        <style>
          body {
            font: 11pt/1.4 sans-serif;
            margin: 2em;
            color: #111;
          }
          h1 {
            font-size: 18pt;
          }
          h2 {
            font-size: 13pt;
            margin-top: 1.6em;
          }
          .control {
            border-left: 4px solid #999;
            padding: 0.2em 0.8em;
            margin: 0.8em 0;
            page-break-inside: avoid;
          }
          .met {
            border-color: #1a7f37;
          }
          .not_met {
            border-color: #cf222e;
          }
          .no_evidence {
            border-color: #9a6700;
          }
          .status {
            font-weight: bold;
          }
          ul {
            margin: 0.3em 0;
            font-size: 9pt;
          }
        </style>
      </head>
      <body>
        <h1>Compliance evidence ${report.month}</h1>
        <p>
          Period ${report.period.from} to ${report.period.to}; generated ${report.generatedAt} by Drydock from its own
          records. Standards: ${report.standards.join(', ')}.
        </p>
        <p>
          Controls met: ${report.summary.met}; not met: ${report.summary.notMet}; no evidence:
          ${report.summary.noEvidence}.
        </p>
        ${['PCI-DSS', 'SOC 2', 'GDPR'].map((framework) => {
          const controls = report.controls.filter((c) => c.framework === framework);
          if (!controls.length) return '';
          return html`<h2>${framework}</h2>
            ${controls.map(
              (c) =>
                html`<div class="control ${c.status}">
                  <div><span class="status">${LABEL[c.status]}</span> ${c.framework} ${c.id}: ${c.title}</div>
                  <div>${c.detail}</div>
                  ${
                    c.evidence.length
                      ? html`<ul>
                          ${c.evidence.slice(0, 40).map((e) => html`<li>${e.text}</li>`)}
                          ${c.evidence.length > 40 ? html`<li>and ${c.evidence.length - 40} more</li>` : ''}
                        </ul>`
                      : ''
                  }
                </div>`,
            )}`;
        })}
      </body>
    </html>`;
  return (await page).toString();
}

export async function renderPdf(htmlText: string, chromium: string): Promise<Buffer> {
  const { chromium: browserType } = await import('playwright-core');
  let browser;
  try {
    browser = await browserType.launch({ executablePath: chromium, args: ['--no-sandbox'], timeout: 60_000 });
  } catch (error) {
    throw new DrydockError(
      'EXEC_FAILED',
      `Chromium (${chromium}) could not start to render the PDF: ${(error as Error).message.split('\n')[0]}`,
      {
        hint: 'install chromium or set security.scans.compliance.chromium',
      },
    );
  }
  try {
    const page = await browser.newPage();
    await page.setContent(htmlText, { waitUntil: 'load' });
    return await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' },
    });
  } finally {
    await browser.close();
  }
}

export interface GeneratedReport {
  record: ComplianceReportRecord;
  report: ComplianceReport;
}

/** Builds, renders, stores (atomically, with its checksum) and records one report. */
export async function generateComplianceReport(
  security: SecurityModule,
  store: Store,
  options: { month: string; format: ReportFormat; now: Date; by: string; runId?: number | null },
): Promise<GeneratedReport> {
  const settings = security.policy.security.scans.compliance;
  const report = await buildComplianceReport(options.month, {
    store,
    db: security.db,
    policy: security.policy,
    now: options.now,
  });
  let body: Buffer;
  if (options.format === 'json') body = Buffer.from(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const page = await renderHtml(report);
    body = options.format === 'html' ? Buffer.from(page) : await renderPdf(page, settings.chromium);
  }
  const dir = isAbsolute(settings.reports_dir) ? settings.reports_dir : resolve(security.baseDir, settings.reports_dir);
  mkdirSync(dir, { recursive: true });
  const stamp = options.now.toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `compliance-${options.month}-${stamp}.${options.format}`);
  writeFileSync(`${path}.partial`, body);
  renameSync(`${path}.partial`, path);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const record = new FindingStore(security.db).addReport({
    month: options.month,
    format: options.format,
    path,
    sha256,
    bytes: body.length,
    createdAt: options.now,
    createdBy: options.by,
    runId: options.runId ?? null,
    summary: report.summary,
  });
  return { record, report };
}

/** Whether a stored report's file is still the one recorded: "ok", "changed" or "missing". */
export function verifyReport(record: ComplianceReportRecord): 'ok' | 'changed' | 'missing' {
  try {
    return createHash('sha256').update(readFileSync(record.path)).digest('hex') === record.sha256 ? 'ok' : 'changed';
  } catch {
    return 'missing';
  }
}
