/** @jsxImportSource hono/jsx */
// Server-rendered dashboard (hono/jsx escapes every value). No JavaScript needed.
import type { ActivityEntry, RunRecord } from '../store/types.js';
import type { PlannedRun } from '../schedule/planner.js';

const css = `body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:72rem;color:#1d2330}
table{border-collapse:collapse;width:100%;margin-bottom:2rem;font-size:.9rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
.succeeded{color:#137333}.failed,.validation_failed,.interrupted{color:#b3261e;font-weight:600}.skipped{color:#8a6d00}.running{color:#0b57d0}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}small{color:#5f6673}`;

const t = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');

export function Dashboard(props: {
  now: Date;
  runs: RunRecord[];
  upcoming: PlannedRun[];
  activity: ActivityEntry[];
  tasks: number;
  implemented: number;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Drydock</title>
        <style>{css}</style>
      </head>
      <body>
        <h1>Drydock</h1>
        <small>
          {t(props.now)} UTC · {props.implemented} of {props.tasks} procedures implemented
        </small>
        <h2>Recent runs</h2>
        <table>
          <thead>
            <tr>
              <th>Run</th>
              <th>Task</th>
              <th>Status</th>
              <th>Started (UTC)</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {props.runs.map((r) => (
              <tr>
                <td>
                  <a href={`/api/runs/${r.id}`}>#{r.id}</a>
                </td>
                <td>{r.taskId}</td>
                <td class={r.status}>{r.status}</td>
                <td>{t(r.startedAt)}</td>
                <td>{r.reason ?? r.error ?? r.summary[0] ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>Next runs</h2>
        <table>
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Task</th>
              <th>Schedule</th>
            </tr>
          </thead>
          <tbody>
            {props.upcoming.map((p) => (
              <tr>
                <td>{t(p.at)}</td>
                <td>{p.taskId}</td>
                <td>{p.schedule}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>Activity</h2>
        <table>
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Kind</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {props.activity.map((a) => (
              <tr>
                <td>{t(a.at)}</td>
                <td>{a.kind}</td>
                <td>{a.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </body>
    </html>
  );
}
