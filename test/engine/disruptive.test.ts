import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { indexRebuildTask } from '../../src/tasks/database/index-rebuild.js';
import { vacuumTask } from '../../src/tasks/database/vacuum.js';
import { windowGate } from '../../src/windows/gate.js';

describe('disruptive maintenance waits for a window', () => {
  const outsideWindow = new Date('2026-11-29T04:00:00Z'); // a Sunday, but not the first of the month
  const insideWindow = new Date('2026-12-06T03:00:00Z'); // first Sunday, 02:00-06:00 UTC

  it('a concurrent REINDEX runs on its own schedule; a plain REINDEX (blocks writes) waits for the window', async () => {
    const gate = windowGate();
    expect(await gate.check(indexRebuildTask, outsideWindow, parsePolicy({}))).toEqual({ decision: 'run' });
    const plain = parsePolicy({ database: { index_rebuild: { concurrent: false } } });
    const held = await gate.check(indexRebuildTask, outsideWindow, plain);
    expect(held).toMatchObject({ decision: 'delay', until: new Date('2026-12-06T02:00:00Z') });
    expect(held.decision !== 'run' && held.reason).toMatch(
      /disruptive task waits for the next maintenance window \(Sun 2026-12-06 02:00-06:00 UTC\)/,
    );
    expect(await gate.check(indexRebuildTask, insideWindow, plain)).toEqual({ decision: 'run' });
  });

  it('VACUUM FULL is disruptive, plain VACUUM is not', async () => {
    const gate = windowGate();
    const tuesday = new Date('2026-12-01T03:00:00Z');
    expect(await gate.check(vacuumTask, tuesday, parsePolicy({}))).toEqual({ decision: 'run' });
    const full = parsePolicy({ database: { vacuum: { options: { full: true } } } });
    expect((await gate.check(vacuumTask, tuesday, full)).decision).not.toBe('run');
  });
});
