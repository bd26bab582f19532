// Shared set-up for the security tests: a temp dir with copies of the recorded inputs, stand-in
// scanner programs for the fault cases (Trivy and Grype are not installable here), a webhook peer
// that receives alerts, and an App on a hand-moved clock.
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/engine/clock.js';
import { startHttp, type HttpPeer } from '../helpers/peers.js';
import { testApp, type TestApp } from '../helpers/app.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const CTO_TOKEN = 'cto-Qm3vX9pL2kTz8RwC4nYb7HdJ5sGf1Ae6Uo0';

export interface SecurityBed {
  dir: string;
  hook: HttpPeer;
  /** Alerts and notices received by the webhook. */
  received(): Array<{ id: string; kind: string; subject: string; text: string; data: Record<string, unknown> }>;
  /** Writes an executable stand-in scanner whose body is Node code. */
  program(name: string, body: string): string;
  app(
    policy: Record<string, unknown>,
    start: Date,
    dir?: string,
  ): Promise<TestApp & { clock: ReturnType<typeof fixedClock> }>;
  close(): Promise<void>;
}

export async function securityBed(): Promise<SecurityBed> {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-security-'));
  for (const name of [
    'package-lock.json',
    'osv-npm.json',
    'dpkg-status',
    'debian-tracker.json',
    'grype-dir-app.json',
    'trivy-image-node20.json',
  ])
    copyFileSync(join(FIXTURES, name), join(dir, name));
  const hook = await startHttp((_req, res) => res.writeHead(200).end('ok'));
  const apps: TestApp[] = [];
  return {
    dir,
    hook,
    received: () => hook.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body) as never),
    program(name, body) {
      const file = join(dir, name);
      writeFileSync(file, `#!/usr/bin/env node\n${body}\n`);
      chmodSync(file, 0o755);
      return file;
    },
    async app(policy, start, dir) {
      const clock = fixedClock(start);
      const app = await testApp(
        {
          channels: { hook: { type: 'webhook', url: `${hook.url}/alerts` } },
          stakeholders: [
            { name: 'Carol', roles: ['CTO'], channels: ['hook'], token: { env: 'SECURITY_CTO_TOKEN' } },
            { name: 'Hank', roles: ['Head of Operations'], channels: ['hook'], access: 'admin' },
          ],
          ...policy,
        },
        { clock, env: { ...process.env, SECURITY_CTO_TOKEN: CTO_TOKEN }, ...(dir ? { dir } : {}) },
      );
      apps.push(app);
      return Object.assign(app, { clock });
    },
    async close() {
      // Newest first: an app opened on another app's state dir closes before that dir is removed.
      for (const app of apps.reverse()) await app.dispose();
      await hook.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
