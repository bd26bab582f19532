// A network namespace made by the test (`ip netns add`), with loopback up and small TCP services
// running inside it: the only place the firewall tests run nft. remove() stops the services and
// deletes the namespace, and with it every rule the test made. The host's own rules are never read
// or touched.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../../helpers/wait.js';

export interface TestNamespace {
  name: string;
  /** Runs a program inside the namespace (test setup only: what Drydock does goes through its own code). */
  run(program: string, args: string[], input?: string): string;
  /** A TCP service listening on 127.0.0.1:port inside the namespace. */
  serve(port: number): Promise<void>;
  remove(): Promise<void>;
}

// A client that connects and leaves at once resets the socket: the error is ignored, the server stays up.
const SERVER = `require('net').createServer((s) => { s.on('error', () => {}); s.end('hello\\n'); }).listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));`;

export async function createNamespace(): Promise<TestNamespace> {
  const name = `drydock-fw-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  const children: ChildProcess[] = [];
  const ns: TestNamespace = {
    name,
    run: (program, args, input) =>
      execFileSync('ip', ['netns', 'exec', name, program, ...args], { input: input ?? '', encoding: 'utf8' }),
    async serve(port) {
      const child = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', SERVER, String(port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(
        `a service on port ${port} in ${name}`,
        () => (out.includes('listening') ? true : undefined),
        20_000,
      );
    },
    async remove() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      execFileSync('ip', ['netns', 'del', name]);
    },
  };
  return ns;
}
