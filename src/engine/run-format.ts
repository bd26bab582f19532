// A run as plain text for people: `drydock runs show`, `drydock backup`, the demo tour.
import type { RunRecord, StepRecord } from '../store/types.js';

export function iso(date: Date | null | undefined): string {
  return date ? date.toISOString().replace('.000Z', 'Z') : '-';
}

function seconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function runDuration(run: RunRecord): string {
  return run.endedAt ? seconds(run.endedAt.getTime() - run.startedAt.getTime()) : 'running';
}

function formatFigure(name: string, f: { before?: number; after?: number; value?: number; unit?: string }): string {
  const unit = f.unit ? ` ${f.unit}` : '';
  if (f.before !== undefined || f.after !== undefined) return `${name}: ${f.before ?? '?'} → ${f.after ?? '?'}${unit}`;
  return `${name}: ${f.value ?? '?'}${unit}`;
}

export function describeRun(run: RunRecord, steps: StepRecord[]): string {
  const out = [
    `run #${run.id}  ${run.taskId}  ${run.status}${run.reason ? ` (${run.reason})` : ''}`,
    `  trigger ${run.trigger}${run.slotAt ? ` slot ${iso(run.slotAt)}` : ''}, attempt ${run.attempt}, started ${iso(run.startedAt)}, ended ${iso(run.endedAt)}, took ${runDuration(run)}`,
  ];
  for (const step of steps) {
    out.push(
      `  step ${step.seq} ${step.name}: ${step.status} in ${seconds(step.durationMs)}${step.error ? ` — ${step.error}` : ''}`,
    );
    for (const line of step.output.split('\n').filter(Boolean).slice(0, 40)) out.push(`      ${line}`);
  }
  if (Object.keys(run.figures).length > 0) {
    out.push('  figures:');
    for (const [name, figure] of Object.entries(run.figures)) out.push(`    ${formatFigure(name, figure)}`);
  }
  if (run.validation) {
    out.push(`  validation: ${run.validation.ok ? 'passed' : 'FAILED'}`);
    for (const check of run.validation.checks)
      out.push(`    ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  }
  for (const line of run.summary) out.push(`  ${line}`);
  if (run.error) out.push(`  error: ${run.error}`);
  return out.join('\n');
}
