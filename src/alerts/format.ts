// Text for `drydock alerts`.
import type { AlertHistoryRow, AlertStateRow } from '../store/sqlite/alerts.js';

const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));

export function formatAlertStates(states: readonly AlertStateRow[]): string {
  if (states.length === 0) return 'No alert is pending or firing.\n';
  const lines = states.map(
    (s) => `${s.status.toUpperCase().padEnd(8)} ${s.rule.padEnd(20)} since ${when(s.since)}  ${s.message ?? ''}`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatAlertHistory(rows: readonly AlertHistoryRow[]): string {
  if (rows.length === 0) return 'No alert history.\n';
  return `${rows.map((r) => `${when(r.at)}  ${r.rule.padEnd(20)} ${r.event.padEnd(12)} ${r.message}`).join('\n')}\n`;
}
