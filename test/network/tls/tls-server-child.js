// A real TLS server for the tests, run as its own process: `node tls-server-child.js CONFIG.json`.
// Each entry of CONFIG.servers listens on its port: mode "tls" (TLS from the first byte),
// "postgres" (answers PostgreSQL's SSLRequest with S, then TLS) or "hang" (accepts TCP and never
// answers). SIGHUP re-reads every key and certificate file, the way nginx reloads; each event is a
// JSON line on stdout ({"event":"ready"}, {"event":"reloaded"}).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import process from 'node:process';
import tls from 'node:tls';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const servers = [];

function contextOptions(entry) {
  return {
    key: readFileSync(entry.key),
    cert: readFileSync(entry.cert),
    ...(entry.minVersion ? { minVersion: entry.minVersion } : {}),
    ...(entry.maxVersion ? { maxVersion: entry.maxVersion } : {}),
    ...(entry.ciphers ? { ciphers: entry.ciphers } : {}),
  };
}

function say(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

for (const entry of config.servers) {
  let server;
  if (entry.mode === 'hang') {
    server = net.createServer((socket) => socket.on('error', () => undefined));
  } else if (entry.mode === 'postgres') {
    let context = tls.createSecureContext(contextOptions(entry));
    server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write('S');
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
        secure.on('error', () => undefined);
        secure.on('secure', () => secure.end());
      });
    });
    server.reload = () => (context = tls.createSecureContext(contextOptions(entry)));
  } else {
    server = tls.createServer(contextOptions(entry), (socket) => {
      socket.on('error', () => undefined);
      socket.end('hello\n');
    });
    server.on('tlsClientError', () => undefined);
    server.reload = () => server.setSecureContext(contextOptions(entry));
  }
  servers.push(server);
  server.listen(entry.port, '127.0.0.1');
}

await Promise.all(servers.map((s) => (s.listening ? null : new Promise((r) => s.once('listening', r)))));
process.on('SIGHUP', () => {
  try {
    for (const s of servers) s.reload?.();
    say({ event: 'reloaded' });
  } catch (error) {
    say({ event: 'reload_failed', error: String(error) });
  }
});
process.on('SIGTERM', () => process.exit(0));
say({ event: 'ready', pid: process.pid });
