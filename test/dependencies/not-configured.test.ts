// The spec schedules the three dependency tasks for everyone. With a policy that names nothing to
// update (the defaults), a run does nothing, touches nothing and says why in its summary.
import { afterAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.dispose();
});

describe('dependency tasks without a target', () => {
  it.each([
    ['dependencies.npm', 'not configured: dependencies.npm.repository is not set'],
    ['dependencies.docker', 'not configured: dependencies.docker.dockerfiles is empty'],
    [
      'dependencies.system',
      'not configured: dependencies.system.testing.required is true and dependencies.system.staging is not set',
    ],
  ])('%s says it is not configured', async (task, words) => {
    const app = await testApp({});
    apps.push(app);
    const run = await app.engine.run(task, { trigger: 'manual', force: true });
    expect(run.status).toBe('succeeded');
    expect(run.summary.join('\n')).toContain(words);
    expect(await app.store.db.prepare('SELECT count(*) AS n FROM dependency_updates').get()).toEqual({ n: 0 });
  });
});
