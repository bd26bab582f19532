/** @jsxImportSource hono/jsx */
// The public status page: server-rendered (hono/jsx escapes every value), no JavaScript, one
// column that reads on a phone. Times are written in UTC with the weekday.
import type { PublicWindow, StatusSnapshot } from './data.js';
import { STATUS_TEXT } from './data.js';

const css = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9;line-height:1.45}
main{max-width:46rem;margin:0 auto;padding:1rem}
header h1{font-size:1.5rem;margin:.5rem 0}
.banner{border-radius:.5rem;padding:1rem;margin:1rem 0;font-size:1.15rem;font-weight:600;color:#fff}
.s-operational{background:#137333}.s-under_maintenance{background:#0b57d0}.s-degraded{background:#b06000}
.s-partial_outage{background:#c5221f}.s-major_outage{background:#8c1d18}
section{margin:1.5rem 0}
h2{font-size:1.1rem;margin:0 0 .5rem}
ul.components{list-style:none;padding:0;margin:0;background:#fff;border:1px solid #dfe3ea;border-radius:.5rem}
ul.components li{display:flex;justify-content:space-between;gap:1rem;padding:.75rem 1rem;border-bottom:1px solid #eef0f4}
ul.components li:last-child{border-bottom:0}
.tag{font-weight:600;white-space:nowrap}
.t-operational{color:#137333}.t-under_maintenance{color:#0b57d0}.t-degraded{color:#b06000}.t-partial_outage,.t-major_outage{color:#c5221f}
article{background:#fff;border:1px solid #dfe3ea;border-radius:.5rem;padding:1rem;margin-bottom:.75rem}
article h3{font-size:1rem;margin:0 0 .25rem}
.when{color:#4a5160;font-size:.95rem;margin:0 0 .5rem}
.affects{font-size:.9rem;color:#4a5160}
ol.updates{list-style:none;padding:0;margin:.5rem 0 0;border-left:3px solid #dfe3ea}
ol.updates li{padding:.25rem 0 .25rem .75rem}
ol.updates b{text-transform:capitalize}
.empty{color:#5f6673}
footer{color:#5f6673;font-size:.85rem;margin:2rem 0 1rem}
a{color:#0b57d0}
`;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
function when(d: Date): string {
  const iso = d.toISOString();
  return `${DAYS[d.getUTCDay()]} ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
function span(w: PublicWindow): string {
  const sameDay = w.start.toISOString().slice(0, 10) === w.end.toISOString().slice(0, 10);
  return `${when(w.start)} – ${sameDay ? `${w.end.toISOString().slice(11, 16)} UTC` : when(w.end)}`;
}

function WindowCard(props: { w: PublicWindow }) {
  const w = props.w;
  const label =
    w.status === 'cancelled'
      ? 'Cancelled'
      : w.status === 'completed'
        ? w.outcome === 'succeeded' || !w.outcome
          ? 'Completed'
          : `Completed (${w.outcome.replace('_', ' ')})`
        : w.status === 'in_progress'
          ? 'In progress'
          : 'Scheduled';
  return (
    <article id={`window-${w.id}`} data-window={String(w.id)}>
      <h3>
        {w.kind === 'emergency' ? 'Emergency maintenance: ' : ''}
        {w.title}
      </h3>
      <p class="when">
        <time datetime={w.start.toISOString()}>{span(w)}</time> · <span class="state">{label}</span>
      </p>
      <p>{w.summary}</p>
      {w.components.length > 0 && <p class="affects">Affects: {w.components.join(', ')}</p>}
      {w.updates.length > 0 && (
        <ol class="updates">
          {w.updates.map((u) => (
            <li>
              <b>{u.phase.replace('_', ' ')}</b> <time datetime={u.at.toISOString()}>{when(u.at)}</time>: {u.message}
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

function Windows(props: { id: string; title: string; list: PublicWindow[]; empty: string }) {
  return (
    <section id={props.id}>
      <h2>{props.title}</h2>
      {props.list.length === 0 ? <p class="empty">{props.empty}</p> : props.list.map((w) => <WindowCard w={w} />)}
    </section>
  );
}

export function StatusPage(props: { snapshot: StatusSnapshot; title: string; base: string }) {
  const s = props.snapshot;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <link
          rel="alternate"
          type="application/atom+xml"
          title={`${props.title} (Atom)`}
          href={`${props.base}/feed.atom`}
        />
        <style dangerouslySetInnerHTML={{ __html: css }} />
      </head>
      <body>
        <main>
          <header>
            <h1>{props.title}</h1>
          </header>
          <div class={`banner s-${s.overall.status}`} role="status">
            {s.overall.text}
          </div>
          <section id="components">
            <h2>Components</h2>
            {s.components.length === 0 ? (
              <p class="empty">No components are reported yet.</p>
            ) : (
              <ul class="components">
                {s.components.map((c) => (
                  <li data-component={c.name}>
                    <span>{c.name}</span>
                    <span class={`tag t-${c.status}`}>{STATUS_TEXT[c.status]}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <Windows
            id="in-progress"
            title="Maintenance in progress"
            list={s.inProgress}
            empty="No maintenance is in progress."
          />
          <Windows id="upcoming" title="Scheduled maintenance" list={s.upcoming} empty="No maintenance is scheduled." />
          <Windows
            id="history"
            title="Recent maintenance"
            list={s.recent}
            empty="No maintenance in the last two weeks."
          />
          <footer>
            Updated <time datetime={s.generatedAt.toISOString()}>{when(s.generatedAt)}</time> ·{' '}
            <a href={`${props.base}/feed.atom`}>Atom feed</a> · <a href={`${props.base}/status.json`}>JSON</a>
          </footer>
        </main>
      </body>
    </html>
  );
}
