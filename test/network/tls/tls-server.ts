// Starts test/network/tls/tls-server-child.js in a child process and waits for its "ready" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/adapters/free-port.js';
import type { Issued } from './certs.js';

export interface ServerEntry {
  /** The certificate(s) served, leaf first (an incomplete chain is the leaf alone). */
  chain: Issued[];
  mode?: 'tls' | 'postgres' | 'hang';
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
  /** Serve existing files instead (the renewal tests' key_file/cert_file). */
  files?: { key: string; cert: string };
}

export interface RunningServers {
  ports: number[];
  pid: number;
  /** Every JSON event line the server printed. */
  events: Array<{ event: string }>;
  stop(): Promise<void>;
}

export async function startTlsServers(entries: ServerEntry[]): Promise<RunningServers> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-tls-srv-'));
  const servers = [];
  const ports: number[] = [];
  for (const [i, entry] of entries.entries()) {
    const port = await freePort();
    ports.push(port);
    let files = entry.files;
    if (!files) {
      files = { key: join(dir, `${i}.key`), cert: join(dir, `${i}.crt`) };
      writeFileSync(files.key, entry.chain[0]!.keyPem, { mode: 0o600 });
      writeFileSync(files.cert, entry.chain.map((c) => c.certPem).join(''));
    }
    servers.push({ port, mode: entry.mode ?? 'tls', ...files, ...pick(entry) });
  }
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ servers }));
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'tls-server-child.js'), configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<{ event: string }> = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const event = JSON.parse(line) as { event: string };
        events.push(event);
        if (event.event === 'ready') resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`tls-server exited (${code}): ${stderr}`)));
  });
  return {
    ports,
    pid: child.pid!,
    events,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pick(entry: ServerEntry) {
  return {
    ...(entry.minVersion ? { minVersion: entry.minVersion } : {}),
    ...(entry.maxVersion ? { maxVersion: entry.maxVersion } : {}),
    ...(entry.ciphers ? { ciphers: entry.ciphers } : {}),
  };
}
