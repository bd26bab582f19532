// security.scans.compliance: once a month, the compliance evidence report of the previous month
// (PCI-DSS, SOC 2, GDPR art. 32 controls mapped to Drydock's own records), stored in each policy
// format with its checksum. Validation reads each stored file back and checks its checksum.
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import { generateComplianceReport, verifyReport } from '../../security/compliance/report.js';
import { securityFor } from '../../security/module.js';
import type { ComplianceReportRecord } from '../../store/sqlite/findings.js';
import { readFileSync } from 'node:fs';

export interface ComplianceRunResult {
  month: string;
  reports: ComplianceReportRecord[];
}

/** The month before `at`, as 2026-11. */
export function previousMonth(at: Date): string {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}

export const complianceReportTask: ImplementedTask<ComplianceRunResult> = {
  id: 'security.scans.compliance',
  title: 'Compliance evidence report (PCI-DSS, GDPR, SOC2)',
  implemented: true,
  disruptive: false,
  class: 'security',
  schedule: (policy) => toSchedule(policy.security.scans.compliance),
  resources: () => [],
  async execute(ctx: TaskContext): Promise<ComplianceRunResult> {
    const security = securityFor(ctx);
    const month = previousMonth(ctx.clock.now());
    const reports: ComplianceReportRecord[] = [];
    for (const format of ctx.policy.security.scans.compliance.formats) {
      await ctx.step(`report ${month} as ${format}`, async (step) => {
        const { record, report } = await generateComplianceReport(security, ctx.store!, {
          month,
          format,
          now: ctx.clock.now(),
          by: `drydock (run #${ctx.runId})`,
          runId: ctx.runId,
        });
        reports.push(record);
        step.output(`${record.path} (${record.bytes} bytes, sha256 ${record.sha256})`);
        if (reports.length === 1)
          ctx.summary(
            `${month}: ${report.summary.met} controls met, ${report.summary.notMet} not met, ${report.summary.noEvidence} without evidence`,
          );
        for (const c of report.controls.filter((x) => x.status === 'not_met'))
          if (reports.length === 1) ctx.summary(`NOT MET ${c.framework} ${c.id}: ${c.detail}`);
      });
    }
    const last = reports[0];
    if (last) {
      ctx.figure('controls.met', { value: last.summary.met });
      ctx.figure('controls.not_met', { value: last.summary.notMet });
      ctx.figure('controls.no_evidence', { value: last.summary.noEvidence });
    }
    return { month, reports };
  },
  validate(_ctx: TaskContext, result: ComplianceRunResult): Promise<ValidationResult> {
    const checks = result.reports.map((r) => {
      const state = verifyReport(r);
      const pdfOk =
        r.format !== 'pdf' || (state === 'ok' && readFileSync(r.path).subarray(0, 5).toString() === '%PDF-');
      return {
        name: `report ${r.month}.${r.format} stored`,
        ok: state === 'ok' && pdfOk,
        detail: `${r.path}: checksum ${state}${pdfOk ? '' : ', not a PDF'}`,
      };
    });
    return Promise.resolve({ ok: checks.length > 0 && checks.every((c) => c.ok), checks });
  },
};
