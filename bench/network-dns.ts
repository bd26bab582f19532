// npm run bench:network:dns
//
// The hourly DNS health check on 100 records × 5 resolvers (plus the zone's authoritative server):
// knotd serves a zone of 100 A records on a loopback port, five unbound resolvers on loopback ports
// sit in front of it. Drydock's check (network.dns.health_check's code: 600 record questions + the
// SOA, in parallel over its own sockets, each answer checked) is timed beside a shell loop of `dig`
// doing the same questions and the same value comparison, one after the other. Both run after a
// warm-up pass, so the resolvers answer from their caches in both. Prints wall time and CPU (Drydock:
// this process; the loop: bash and every dig, from /usr/bin/time) and the ratios. Goal: under 5 s and
// faster than the loop. Asserts nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../src/adapters/exec.js';
import { checkDnsHealth } from '../src/network/dns/health.js';
import { policySchema } from '../src/policy/schema.js';
import { startKnot, startUnbound, zoneFile } from '../test/network/dns/servers.js';

const ZONE = 'bench.test';
const RECORDS = Number(process.env.DRYDOCK_BENCH_RECORDS ?? 100);
const RESOLVERS = Number(process.env.DRYDOCK_BENCH_RESOLVERS ?? 5);

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
const log = (line: string) => process.stdout.write(`${line}\n`);

const records = Array.from({ length: RECORDS }, (_, i) => ({
  name: `r${String(i).padStart(3, '0')}`,
  ttl: 3600,
  type: 'A',
  value: `192.0.${2 + Math.floor(i / 250)}.${(i % 250) + 1}`,
}));

async function main(): Promise<void> {
  log(`load average before: ${load()} (2 cores shared with other engineers: figures are taken under shared load)`);
  const knot = await startKnot(ZONE, zoneFile(ZONE, 1, records));
  const resolvers = await Promise.all(Array.from({ length: RESOLVERS }, () => startUnbound(ZONE, knot)));
  const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-dns-'));
  try {
    const addr = (s: { host: string; port: number }) => `${s.host}:${s.port}`;
    const policy = policySchema.parse({
      network: {
        dns: {
          resolvers: resolvers.map(addr),
          timeout: '2 seconds',
          zones: [
            {
              zone: ZONE,
              authoritative: [addr(knot)],
              records: records.map((r) => ({ name: r.name, type: 'A', value: r.value })),
            },
          ],
        },
      },
    });
    const drydock = async () => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const report = await checkDnsHealth(policy.network.dns);
      const wall = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const failed = report.zones.flatMap((z) => z.records).filter((r) => !r.ok).length;
      return { wall, cpu: (used.user + used.system) / 1e6, queries: report.queries, failed };
    };

    // The same questions for dig: every record at the authoritative server (no recursion) and at each resolver.
    const servers = [{ s: knot, flag: '+norecurse' }, ...resolvers.map((s) => ({ s, flag: '+recurse' }))];
    const lines = [`${knot.host} ${knot.port} ${ZONE} SOA x +norecurse`];
    for (const r of records)
      for (const { s, flag } of servers) lines.push(`${s.host} ${s.port} ${r.name}.${ZONE} A ${r.value} ${flag}`);
    writeFileSync(join(dir, 'questions'), `${lines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'loop.sh'),
      `fail=0\nwhile read -r host port name type want flag; do\n` +
        `  got=$(dig @"$host" -p "$port" "$name" "$type" +short +time=2 +tries=1 "$flag" | sort | tr '\\n' ' ')\n` +
        `  if [ "$type" = A ] && [ "$got" != "$want " ]; then fail=$((fail+1)); echo "FAIL $host:$port $name: $got"; fi\n` +
        `done < "$1"\necho "failed=$fail"\n`,
    );
    const loop = async () => {
      const r = await exec(
        '/usr/bin/time',
        ['-f', 'TIME %e %U %S', 'bash', join(dir, 'loop.sh'), join(dir, 'questions')],
        {
          timeoutMs: 600_000,
        },
      );
      const [, wall, user, sys] = /TIME (\S+) (\S+) (\S+)/.exec(r.stderr)!;
      return {
        wall: Number(wall),
        cpu: Number(user) + Number(sys),
        failed: Number(/failed=(\d+)/.exec(r.stdout)?.[1]),
      };
    };

    const warm = await drydock();
    log(`warm-up: ${warm.queries} questions, ${warm.failed} records failed, ${warm.wall.toFixed(2)} s`);
    const shell = await loop();
    const ours = [await drydock(), await drydock()];
    const best = ours.reduce((a, b) => (a.wall <= b.wall ? a : b));
    log(`\n${RECORDS} records × ${RESOLVERS} resolvers + 1 authoritative (${best.queries} questions), loopback`);
    log(
      `drydock check   wall ${ours.map((o) => o.wall.toFixed(3)).join(' / ')} s, cpu ${best.cpu.toFixed(3)} s, records failed ${best.failed}`,
    );
    log(
      `dig shell loop  wall ${shell.wall.toFixed(2)} s, cpu ${shell.cpu.toFixed(2)} s, answers failed ${shell.failed}`,
    );
    log(
      `ratio (loop / drydock): wall ${(shell.wall / best.wall).toFixed(1)}×, cpu ${(shell.cpu / best.cpu).toFixed(1)}×; goal < 5 s: ${best.wall < 5 ? 'met' : 'NOT met'}, faster than the loop: ${best.wall < shell.wall ? 'met' : 'NOT met'}`,
    );
    log(`load average after: ${load()}`);
  } finally {
    await Promise.all([knot.stop(), ...resolvers.map((r) => r.stop())]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
