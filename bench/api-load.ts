// The load generator of bench/api.ts, in its own process so its work does not share the daemon's
// event loop. Usage: api-load.ts <base url> <token> <mode closed|open> <concurrency|rate> <seconds>
// Prints one JSON line: requests, errors, requests/s, p50/p99 latency in ms.
const [base, token, mode, amount, seconds] = process.argv.slice(2) as [string, string, string, string, string];
const PATHS = [
  '/api/runs?limit=50',
  '/api/status',
  '/api/activity?limit=100',
  '/api/tasks',
  '/api/plan?days=7&limit=200',
];
const durationMs = Number(seconds) * 1000;
const latencies: number[] = [];
let errors = 0;
const kinds: Record<string, number> = {};
let i = 0;

async function one(): Promise<void> {
  const path = PATHS[i++ % PATHS.length]!;
  const t = performance.now();
  try {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) {
      errors++;
      kinds[`HTTP ${res.status}`] = (kinds[`HTTP ${res.status}`] ?? 0) + 1;
    }
  } catch (error) {
    errors++;
    const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    kinds[code] = (kinds[code] ?? 0) + 1;
  }
  latencies.push(performance.now() - t);
}

const start = performance.now();
if (mode === 'closed') {
  await Promise.all(
    Array.from({ length: Number(amount) }, async () => {
      while (performance.now() - start < durationMs) await one();
    }),
  );
} else {
  // Open loop: a request every 1000/rate ms whatever the answers take (no coordinated omission).
  const rate = Number(amount);
  const pending: Array<Promise<void>> = [];
  for (let n = 0; performance.now() - start < durationMs; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(one());
  }
  await Promise.all(pending);
}
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, errors, kinds, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99) })}\n`,
);
