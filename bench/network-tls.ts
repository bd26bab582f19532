// npm run bench:network:tls
//
// The daily TLS check of 100 endpoints on loopback (node:tls servers in one child process, each with
// its own ECDSA certificate under a test root and intermediate), done in one run by Drydock's
// checker (network/tls/endpoints.ts: handshake, chain, hostname, TLS 1.0 and 1.1 probes, weak-suite
// probe, 16 endpoints at a time), beside the same checks by a shell loop of `openssl s_client` (four
// invocations per endpoint: the verified handshake, -tls1, -tls1_1, and the weak-suite list).
// Goal: under 5 s wall and faster than the loop. Prints figures; asserts nothing.
//
// Knobs: DRYDOCK_BENCH_ENDPOINTS (100), DRYDOCK_BENCH_CONCURRENCY (network.ssl.validation.concurrency, 16).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../src/adapters/exec.js';
import { WEAK_CIPHERS } from '../src/network/tls/check.js';
import { checkTargets, type EndpointTarget } from '../src/network/tls/endpoints.js';
import { policySchema } from '../src/policy/schema.js';
import { issue, testPki } from '../test/network/tls/certs.js';
import { startTlsServers } from '../test/network/tls/tls-server.js';

const COUNT = Number(process.env.DRYDOCK_BENCH_ENDPOINTS ?? 100);
const CONCURRENCY = Number(process.env.DRYDOCK_BENCH_CONCURRENCY ?? 16);

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');

const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-tls-'));
const pki = await testPki();
const leaves = [];
for (let i = 0; i < COUNT; i += 1) leaves.push(await issue(pki.intermediate, { cn: `app-${i}.test` }));
const servers = await startTlsServers(leaves.map((leaf) => ({ chain: [leaf, pki.intermediate] })));
const caFile = join(dir, 'root.pem');
writeFileSync(caFile, pki.root.certPem);
log(`${COUNT} TLS endpoints on loopback (one node:tls process), load average ${load()}`);

try {
  const policy = policySchema.parse({ network: { ssl: { validation: { concurrency: CONCURRENCY } } } });
  const targets: EndpointTarget[] = servers.ports.map((port, i) => ({
    name: `app-${i}`,
    endpoint: { host: '127.0.0.1', port, servername: `app-${i}.test`, protocol: 'tls' },
    caFile,
  }));

  // Drydock: one run over every endpoint.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const reports = await checkTargets(policy, targets);
  const wall = (performance.now() - t0) / 1000;
  const cpuUsage = process.cpuUsage(cpu0);
  const cpu = (cpuUsage.user + cpuUsage.system) / 1e6;
  const clean = reports.filter((r) => r.reachable && r.problems.length === 0).length;
  log(
    `drydock: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU, ${clean}/${COUNT} endpoints checked clean, load average ${load()}`,
  );

  // The shell loop: the same four connections per endpoint with openssl s_client.
  const lines = servers.ports.map((port, i) => {
    const base = `openssl s_client -connect 127.0.0.1:${port} -servername app-${i}.test </dev/null >/dev/null 2>&1`;
    return [
      `openssl s_client -connect 127.0.0.1:${port} -servername app-${i}.test -CAfile ${caFile} -verify_hostname app-${i}.test -verify_return_error </dev/null >/dev/null 2>&1`,
      base.replace('s_client', 's_client -tls1 -cipher DEFAULT@SECLEVEL=0'),
      base.replace('s_client', 's_client -tls1_1 -cipher DEFAULT@SECLEVEL=0'),
      base.replace('s_client', `s_client -tls1_2 -cipher '${WEAK_CIPHERS}'`),
    ].join('\n');
  });
  const script = join(dir, 'loop.sh');
  writeFileSync(script, `${lines.join('\n')}\ntimes\n`);
  const s0 = performance.now();
  const result = await exec('bash', [script], { timeoutMs: 600_000 });
  const shellWall = (performance.now() - s0) / 1000;
  // `times`: the shell's own user/sys, then its children's.
  const toSeconds = (m: string, s: string) => Number(m) * 60 + Number(s);
  const times = [...result.stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => toSeconds(m[1]!, m[2]!));
  const shellCpu = times.reduce((a, b) => a + b, 0);
  log(
    `openssl s_client loop: ${shellWall.toFixed(2)} s wall, ${shellCpu.toFixed(2)} s CPU (${COUNT * 4} invocations), load average ${load()}`,
  );
  log(
    `ratio: drydock/loop wall ${(wall / shellWall).toFixed(3)}×, CPU ${(cpu / shellCpu).toFixed(3)}×; goal < 5 s wall: ${wall < 5 ? 'met' : 'NOT met'}; faster than the loop: ${wall < shellWall ? 'yes' : 'NO'}`,
  );
  log('(CPU of the TLS servers, shared by both, is not counted; figures taken on a shared machine)');
} finally {
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
}
