// The status page as an Atom feed (RFC 4287): one entry per public update of a maintenance window.
import type { StatusSnapshot } from './data.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function atomFeed(snapshot: StatusSnapshot, options: { title: string; baseUrl: string }): string {
  const base = options.baseUrl.replace(/\/+$/, '');
  const windows = [...snapshot.inProgress, ...snapshot.upcoming, ...snapshot.recent];
  const entries = windows
    .flatMap((w) => w.updates.map((u, i) => ({ w, u, n: w.updates.length - i })))
    .sort((a, b) => b.u.at.getTime() - a.u.at.getTime());
  const updated = entries[0]?.u.at ?? snapshot.generatedAt;
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <title>${esc(options.title)}</title>`,
    `  <id>${esc(base)}/</id>`,
    `  <link rel="alternate" type="text/html" href="${esc(base)}/"/>`,
    `  <link rel="self" type="application/atom+xml" href="${esc(base)}/feed.atom"/>`,
    `  <updated>${updated.toISOString()}</updated>`,
    '  <author><name>Drydock</name></author>',
  ];
  for (const { w, u, n } of entries) {
    lines.push(
      '  <entry>',
      `    <id>${esc(base)}/windows/${w.id}#update-${n}</id>`,
      `    <title>${esc(`${w.title}: ${u.phase.replace('_', ' ')}`)}</title>`,
      `    <updated>${u.at.toISOString()}</updated>`,
      `    <link rel="alternate" type="text/html" href="${esc(base)}/#window-${w.id}"/>`,
      `    <summary>${esc(`${u.message} (window ${w.start.toISOString()} to ${w.end.toISOString()})`)}</summary>`,
      '  </entry>',
    );
  }
  lines.push('</feed>');
  return `${lines.join('\n')}\n`;
}
