// "on change": the daemon starts backup.files.configuration when a watched file changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { testApp, type TestApp } from '../../helpers/app.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-config-watch-'));
let app: TestApp | null = null;
afterAll(async () => {
  await app?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function settle(a: TestApp) {
  await a.daemon.settlePeriodic();
  for (let i = 0; i < 200 && a.daemon.activeRuns > 0; i++) await new Promise((r) => setTimeout(r, 25));
}

describe('configuration backup on change', () => {
  it('runs when a watched file changes, and not otherwise', async () => {
    const file = join(dir, 'app.yml');
    writeFileSync(file, 'port: 3000\n');
    const clock = fixedClock(new Date('2026-11-26T10:00:00Z'));
    app = await testApp(
      {
        backup: { repository: { path: join(dir, 'repo') }, files: { configuration: { paths: [file] } } },
        maintenance_windows: { blackout: { periods: [] } },
      },
      {
        clock,
        tasks: (await import('../../../src/tasks/registry.js')).IMPLEMENTED.filter(
          (t) => t.id === 'backup.files.configuration',
        ),
      },
    );
    await app.daemon.register();
    const runs = async () => (await app!.store.listRuns({ taskId: 'backup.files.configuration' })).reverse();

    await app.daemon.tick();
    await settle(app);
    expect((await runs()).map((r) => [r.trigger, r.status])).toEqual([['change', 'succeeded']]);

    clock.advance(60_000);
    await app.daemon.tick();
    await settle(app);
    expect(await runs()).toHaveLength(1);

    writeFileSync(file, 'port: 3001\n');
    clock.advance(60_000);
    await app.daemon.tick();
    await settle(app);
    const all = await runs();
    expect(all.map((r) => [r.trigger, r.status])).toEqual([
      ['change', 'succeeded'],
      ['change', 'succeeded'],
    ]);
  });
});
