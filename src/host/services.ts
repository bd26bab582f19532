// Status of one configured service: a systemd unit, a process, a TCP port or an HTTP URL.
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename } from 'node:path';
import { exec } from '../adapters/exec.js';
import { DrydockError } from '../errors.js';
import type { Duration } from '../policy/values.js';

export type ServiceSpec =
  | { name: string; systemd: string }
  | { name: string; process: string }
  | { name: string; tcp: string }
  | { name: string; http: string; timeout?: Duration };

export interface ServiceStatus {
  name: string;
  kind: 'systemd' | 'process' | 'tcp' | 'http';
  /** up, down, or unknown when the status could not be read (e.g. no systemd on this host). */
  state: 'up' | 'down' | 'unknown';
  detail: string;
}

export function parseSystemctlShow(text: string): { active: string; sub: string } {
  const get = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return { active: get('ActiveState'), sub: get('SubState') };
}

async function systemdStatus(unit: string): Promise<Omit<ServiceStatus, 'name' | 'kind'>> {
  try {
    const { stdout } = await exec('systemctl', ['show', '-p', 'ActiveState,SubState,LoadState', unit], {
      timeoutMs: 5000,
    });
    const { active, sub } = parseSystemctlShow(stdout);
    if (/^LoadState=not-found$/m.test(stdout)) return { state: 'down', detail: `unit ${unit} not found` };
    return { state: active === 'active' ? 'up' : 'down', detail: `${unit}: ${active}/${sub}` };
  } catch (error) {
    const stderr = error instanceof DrydockError ? error.details.stderr : undefined;
    const text = typeof stderr === 'string' && stderr.trim() ? stderr : (error as Error).message;
    return {
      state: 'unknown',
      detail: `systemctl could not report ${unit}: ${text.trim().split('\n')[0]}`,
    };
  }
}

async function processStatus(name: string): Promise<Omit<ServiceStatus, 'name' | 'kind'>> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = (await readFile(`/proc/${entry}/comm`, 'utf8')).trim();
      const argv0 = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0')[0] ?? '';
      if (comm === name || basename(argv0) === name) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids.length > 0
    ? { state: 'up', detail: `${pids.length} process(es) named ${name} (pid ${pids.slice(0, 5).join(', ')})` }
    : { state: 'down', detail: `no process named ${name}` };
}

function tcpStatus(address: string, timeoutMs: number): Promise<Omit<ServiceStatus, 'name' | 'kind'>> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host, port });
    const done = (result: Omit<ServiceStatus, 'name' | 'kind'>) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ state: 'down', detail: `${address}: no answer within ${timeoutMs} ms` }));
    socket.once('connect', () =>
      done({ state: 'up', detail: `${address} accepts connections (${Date.now() - started} ms)` }),
    );
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ state: 'down', detail: `${address}: ${error.code ?? error.message}` }),
    );
  });
}

async function httpStatus(url: string, timeoutMs: number): Promise<Omit<ServiceStatus, 'name' | 'kind'>> {
  const started = Date.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    const ok = response.status < 400;
    return { state: ok ? 'up' : 'down', detail: `${url}: HTTP ${response.status} (${Date.now() - started} ms)` };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { state: 'down', detail: `${url}: ${reason}` };
  }
}

export async function serviceStatus(spec: ServiceSpec, timeoutMs = 5000): Promise<ServiceStatus> {
  if ('systemd' in spec) return { name: spec.name, kind: 'systemd', ...(await systemdStatus(spec.systemd)) };
  if ('process' in spec) return { name: spec.name, kind: 'process', ...(await processStatus(spec.process)) };
  if ('tcp' in spec) return { name: spec.name, kind: 'tcp', ...(await tcpStatus(spec.tcp, timeoutMs)) };
  return { name: spec.name, kind: 'http', ...(await httpStatus(spec.http, spec.timeout?.ms ?? timeoutMs)) };
}
