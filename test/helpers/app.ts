// An App on a temp-dir state file with a policy built in the test. The SQLite file, the engine
// and the store are the real ones.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openApp, type App, type AppOptions } from '../../src/app.js';
import { parsePolicy } from '../../src/policy/load.js';

export interface TestApp extends App {
  dir: string;
  dispose(): Promise<void>;
}

export async function testApp(
  policy: Record<string, unknown> = {},
  options: Partial<AppOptions> & { dir?: string } = {},
): Promise<TestApp> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'drydock-test-'));
  // The backup repository defaults to a path under the test's own dir, never the machine's.
  const backup = (policy.backup ?? {}) as Record<string, unknown>;
  const repository = { path: join(dir, 'repository'), ...((backup.repository ?? {}) as Record<string, unknown>) };
  const loaded = {
    policy: parsePolicy({ ...policy, backup: { ...backup, repository }, state: { path: join(dir, 'state.sqlite') } }),
    file: null,
    baseDir: dir,
  };
  const app = await openApp({
    loaded,
    logger: pino({ level: 'silent' }),
    notifierOptions: { attempts: 2, backoffMs: 10 },
    lockPollMs: 50,
    ...options,
  });
  return {
    ...app,
    dir,
    async dispose() {
      await app.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
