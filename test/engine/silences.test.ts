// The engine silences alerts for what a run touches, and lifts the silence when the run ends.
import { afterEach, describe, expect, it } from 'vitest';
import type { ImplementedTask } from '../../src/engine/types.js';
import { schedule } from '../helpers/phrases.js';
import { windowCovers } from '../../src/windows/silence-source.js';
import { testApp, type TestApp } from '../helpers/app.js';

let app: TestApp | null = null;
afterEach(async () => {
  await app?.dispose();
  app = null;
});

function redisTask(seen: string[], validationOk: boolean): ImplementedTask {
  return {
    id: 'cache.eviction',
    title: 'touches redis',
    implemented: true,
    disruptive: false,
    class: 'maintenance',
    schedule: () => schedule('hourly'),
    resources: () => ['redis:127.0.0.1:6379'],
    execute: async () => {
      const at = app!.clock.now();
      seen.push(`during: ${app!.monitoring.silences.reason('redis:127.0.0.1:6379', at) ?? 'not silenced'}`);
      seen.push(`other: ${app!.monitoring.silences.reason('host', at) ?? 'not silenced'}`);
    },
    validate: async () => ({
      ok: validationOk,
      checks: [{ name: 'memory under threshold', ok: validationOk, detail: '' }],
    }),
  };
}

describe('alert silences during maintenance', () => {
  it('silences only the components a run touches, until the run has been validated', async () => {
    const seen: string[] = [];
    app = await testApp({}, { tasks: [redisTask(seen, true)] });
    const run = await app.engine.run('cache.eviction', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');
    expect(seen).toEqual([`during: maintenance run of cache.eviction (run ${run.id})`, 'other: not silenced']);
    expect(app.monitoring.silences.isSilenced('redis:127.0.0.1:6379', new Date())).toBe(false);
  });

  it('lifts the silence at once when validation fails, so the component alerts again', async () => {
    app = await testApp({}, { tasks: [redisTask([], false)] });
    const run = await app.engine.run('cache.eviction', { trigger: 'manual' });
    expect(run.status).toBe('validation_failed');
    expect(app.monitoring.silences.isSilenced('redis:127.0.0.1:6379', new Date())).toBe(false);
  });

  it('maps the components a maintenance window lists onto alert components', () => {
    expect(windowCovers(['Database'], 'postgres:127.0.0.1:5432/dokkerr')).toBe(true);
    expect(windowCovers(['Cache'], 'redis:127.0.0.1:6379')).toBe(true);
    expect(windowCovers(['Cache'], 'postgres:127.0.0.1:5432/dokkerr')).toBe(false);
    expect(windowCovers(['redis:10.0.0.5:6379'], 'redis:10.0.0.5:6379')).toBe(true);
    expect(windowCovers(['redis:10.0.0.5:6379'], 'redis:127.0.0.1:6379')).toBe(false);
  });
});
