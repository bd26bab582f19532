// Measures issue 5's hot paths on loopback: email over STARTTLS+auth to a real smtp-server, SMS
// to a local Twilio-style HTTP server, gate decisions, and status-page rendering with many windows.
// Run: npx tsx bench/windows-notices.ts
import { performance } from 'node:perf_hooks';
import { fixedClock } from '../src/clock.js';
import { createEmailChannel } from '../src/notify/channels/email.js';
import { createSmsChannel } from '../src/notify/channels/sms.js';
import { policySchema } from '../src/policy/schema.js';
import { duration } from '../test/helpers/phrases.js';
import { openSqlite } from '../src/store/sqlite/open.js';
import { calendarOf, decide } from '../src/windows/calendar.js';
import { statusPageRoutes } from '../src/api/status-page/routes.js';
import { WindowStore } from '../src/store/sqlite/windows.js';
import { makeCert, startHttp, startSmtp } from '../test/helpers/peers.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const msg = (i: number) => ({
  id: `bench-${i}`,
  kind: 'update',
  subject: 'Maintenance update',
  text: 'Replica upgraded.',
  data: {},
  to: ['ops@example.test'],
});

const cert = makeCert();
const smtp = await startSmtp({ cert, secure: false, user: 'u', pass: 'benchpass' });
const email = createEmailChannel(
  'mail',
  {
    type: 'email',
    host: 'localhost',
    port: smtp.port,
    secure: false,
    require_tls: true,
    user: 'u',
    password: { env: 'P' },
    from: 'd@example.test',
    to: [],
    ca_file: cert.certFile,
    timeout: duration('5 seconds'),
  },
  { P: 'benchpass' },
);
const emailMs: number[] = [];
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  const r = await email.send(msg(i));
  if (!r.ok) throw new Error(r.detail);
  emailMs.push(performance.now() - t);
}
await smtp.close();
cert.cleanup();

const sms = await startHttp((_req, res) =>
  res.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SM1"}'),
);
const smsChannel = createSmsChannel(
  'sms',
  {
    type: 'sms',
    base_url: sms.url,
    account_sid: { env: 'A' },
    auth_token: { env: 'B' },
    from: '+1',
    to: [],
    timeout: duration('5 seconds'),
  },
  { A: 'AC1', B: 'tok-bench' },
);
const smsMs: number[] = [];
for (let i = 0; i < 100; i++) {
  const t = performance.now();
  await smsChannel.send({ ...msg(i), to: ['+15550001'] });
  smsMs.push(performance.now() - t);
}
await sms.close();

const policy = policySchema.parse({});
const cal = calendarOf(policy);
const task = { id: 'database.index_rebuild', disruptive: true, class: 'maintenance' as const };
let t = performance.now();
let n = 0;
for (let at = Date.UTC(2027, 0, 1); at < Date.UTC(2028, 0, 1); at += 3_600_000, n++)
  decide(task, new Date(at), policy, cal);
const gateUs = ((performance.now() - t) * 1000) / n;

const db = openSqlite(':memory:');
const store = new WindowStore(db);
const clock = fixedClock(new Date('2026-11-29T02:30:00Z'));
const change = {
  summary: 'work',
  rollbackPlan: 'undo',
  owner: 'A',
  standby: [],
  components: ['API', 'Database'],
  tasks: [],
  taskClass: 'maintenance' as const,
};
for (let i = 0; i < 300; i++) {
  const start = new Date(clock.now().getTime() + (i - 150) * 3 * 3_600_000);
  const w = store.insert({
    kind: 'planned',
    status: i < 150 ? 'completed' : 'scheduled',
    title: `Window ${i}`,
    start,
    end: new Date(start.getTime() + 3_600_000),
    change,
    requestedBy: 'A',
    planHash: 'x',
    at: clock.now(),
  });
  for (let u = 0; u < 5; u++)
    store.addUpdate({ windowId: w.id, at: start, phase: 'in_progress', message: `update ${u}`, author: 'A' });
}
const app = statusPageRoutes({ store, clock });
const pageMs: number[] = [];
let bytes = 0;
for (let i = 0; i < 30; i++) {
  t = performance.now();
  const res = await app.request('/');
  bytes = (await res.text()).length;
  pageMs.push(performance.now() - t);
}
db.close();

console.log(
  `email STARTTLS+AUTH, new connection per message: median ${median(emailMs).toFixed(1)} ms, p95 ${p95(emailMs).toFixed(1)} ms (n=30)`,
);
console.log(`sms POST round trip: median ${median(smsMs).toFixed(2)} ms, p95 ${p95(smsMs).toFixed(2)} ms (n=100)`);
console.log(
  `gate decision (disruptive task, default policy): ${gateUs.toFixed(1)} µs per decision over ${n} hourly instants of 2027`,
);
console.log(
  `status page, 300 windows x 5 updates in the store (${bytes} bytes of HTML): median ${median(pageMs).toFixed(1)} ms, p95 ${p95(pageMs).toFixed(1)} ms`,
);
