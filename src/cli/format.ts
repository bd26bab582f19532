// Plain-text tables for the terminal. Hand-written: a dozen lines, not worth a dependency. A run as text
// lives in engine/run-format.ts (the demo tour prints runs too); re-exported here for the commands.
export { describeRun, iso, runDuration } from '../engine/run-format.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
