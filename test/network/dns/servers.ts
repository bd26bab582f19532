// Real DNS servers for the network tests, each on a free loopback port in its own temp dir:
// knotd and nsd (authoritative, Debian packages) and unbound (a caching resolver whose stub-zone
// points at one of them). Each start waits until the server answers; stop() kills it and removes
// its folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/adapters/free-port.js';
import { query, type DnsServer } from '../../../src/network/dns/client.js';
import { waitFor } from '../../helpers/wait.js';

export interface ZoneRecord {
  name: string;
  ttl?: number;
  type: string;
  value: string;
}

/** A zone file: SOA with the given serial and negative TTL, NS records, then the records. */
export function zoneFile(
  zone: string,
  serial: number,
  records: ZoneRecord[],
  options: { minimum?: number; soaTtl?: number } = {},
) {
  const lines = [
    `$ORIGIN ${zone}.`,
    `$TTL 300`,
    `@ ${options.soaTtl ?? 300} IN SOA ns1.${zone}. hostmaster.${zone}. ${serial} 3600 600 86400 ${options.minimum ?? 60}`,
    `@ 300 IN NS ns1.${zone}.`,
    `@ 300 IN NS ns2.${zone}.`,
    `ns1 300 IN A 127.0.0.1`,
    `ns2 300 IN A 127.0.0.2`,
    ...records.map((r) => `${r.name} ${r.ttl ?? 300} IN ${r.type} ${r.value}`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface RunningServer extends DnsServer {
  dir: string;
  process: ChildProcess;
  stderr: () => string;
  /** Rewrites the zone file and makes the server load it. */
  reload(zoneText: string): Promise<void>;
  stop(): Promise<void>;
}

function start(program: string, args: string[], dir: string): { child: ChildProcess; stderr: () => string } {
  const child = spawn(program, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function answering(server: DnsServer, zone: string, serial: number | null, stderr: () => string) {
  await waitFor(
    `${server.name} to serve ${zone}${serial === null ? '' : ` at serial ${serial}`} (${stderr().slice(-400)})`,
    async () => {
      try {
        const reply = await query(server, zone, 'SOA', { timeoutMs: 500, attempts: 1 });
        const soa = reply.answers.find((a) => a.type === 'SOA');
        if (reply.rcode !== 'NOERROR' || !soa || soa.type !== 'SOA') return undefined;
        return serial === null || soa.data.serial === serial ? true : undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
  );
}

function serialOf(zoneText: string): number {
  const m = /IN SOA \S+ \S+ (\d+)/.exec(zoneText);
  return Number(m?.[1]);
}

export async function startKnot(
  zone: string,
  zoneText: string,
  options: { host?: string; port?: number; sign?: { rrsigLifetime: string; refresh: string } } = {},
): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-knot-'));
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  writeFileSync(join(dir, `${zone}.zone`), zoneText);
  const policy = options.sign
    ? `policy:\n  - id: test\n    algorithm: ecdsap256sha256\n    rrsig-lifetime: ${options.sign.rrsigLifetime}\n    rrsig-refresh: ${options.sign.refresh}\n    rrsig-pre-refresh: 1s\n    zone-max-ttl: 300\n    dnskey-ttl: 300\n`
    : '';
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:\n  rundir: "${dir}"\n  listen: ${host}@${port}\n  background-workers: 1\n  udp-workers: 1\n  tcp-workers: 1\n` +
      `log:\n  - target: stderr\n    any: info\n` +
      `database:\n  storage: "${dir}"\n` +
      policy +
      `template:\n  - id: default\n    storage: "${dir}"\n    file: "%s.zone"\n    zonefile-sync: -1\n    zonefile-load: difference-no-serial\n    journal-content: all\n` +
      `zone:\n  - domain: ${zone}\n${options.sign ? '    dnssec-signing: on\n    dnssec-policy: test\n' : ''}`,
  );
  const { child, stderr } = start('knotd', ['-c', join(dir, 'knot.conf')], dir);
  const server: RunningServer = {
    name: `knotd ${host}:${port}`,
    host,
    port,
    dir,
    process: child,
    stderr,
    async reload(text) {
      writeFileSync(join(dir, `${zone}.zone`), text);
      child.kill('SIGHUP');
      await answering(server, zone, serialOf(text), stderr);
    },
    stop: () => stopChild(child, dir),
  };
  try {
    await answering(server, zone, options.sign ? null : serialOf(zoneText), stderr);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

export async function startNsd(
  zone: string,
  zoneText: string,
  options: { host?: string; port?: number } = {},
): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-nsd-'));
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  writeFileSync(join(dir, `${zone}.zone`), zoneText);
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:\n  ip-address: ${host}@${port}\n  port: ${port}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n` +
      `  logfile: "${dir}/nsd.log"\n  server-count: 1\n  verbosity: 1\n  reuseport: no\n` +
      `remote-control:\n  control-enable: no\n` +
      `zone:\n  name: ${zone}\n  zonefile: "${zone}.zone"\n`,
  );
  const { child, stderr } = start('nsd', ['-d', '-c', join(dir, 'nsd.conf')], dir);
  const server: RunningServer = {
    name: `nsd ${host}:${port}`,
    host,
    port,
    dir,
    process: child,
    stderr,
    async reload(text) {
      writeFileSync(join(dir, `${zone}.zone`), text);
      child.kill('SIGHUP');
      await answering(server, zone, serialOf(text), stderr);
    },
    stop: () => stopChild(child, dir),
  };
  try {
    await answering(server, zone, serialOf(zoneText), stderr);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** unbound as a caching resolver; the zone is a stub pointing at `upstream` (no DNSSEC validation). */
export async function startUnbound(zone: string, upstream: DnsServer, options: { name?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-unbound-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'unbound.conf'),
    `server:\n  interface: 127.0.0.1@${port}\n  port: ${port}\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n` +
      `  pidfile: "${dir}/unbound.pid"\n  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 0\n` +
      `  num-threads: 1\n  so-reuseport: no\n  do-not-query-localhost: no\n  module-config: "iterator"\n` +
      `  access-control: 127.0.0.0/8 allow\n  domain-insecure: "${zone}"\n  outgoing-range: 64\n  prefetch: no\n  serve-expired: no\n` +
      // unbound answers the special-use names (.test, .example, ...) itself unless told not to.
      `  local-zone: "${zone.split('.').pop()}." nodefault\n` +
      `stub-zone:\n  name: "${zone}"\n  stub-addr: ${upstream.host}@${upstream.port}\n`,
  );
  const { child, stderr } = start('unbound', ['-d', '-c', join(dir, 'unbound.conf')], dir);
  const server = {
    name: options.name ?? `unbound 127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    dir,
    process: child,
    stderr,
    stop: () => stopChild(child, dir),
  };
  try {
    await waitFor(
      `unbound on ${port} (${stderr().slice(-400)})`,
      async () => {
        try {
          const r = await query(server, zone, 'SOA', { timeoutMs: 500, attempts: 1, recursion: true });
          return r.rcode === 'NOERROR' ? true : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
