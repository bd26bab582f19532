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
    // Weekly at 07:00: the Sunday run outside the first-Sunday window waits for the next window.
    const plain = parsePolicy({ database: { index_rebuild: { concurrent: false, time: '07:00 UTC' } } });
    const at7 = new Date('2026-11-29T07:00:00Z');
    const held = await gate.check(indexRebuildTask, at7, plain);
    expect(held).toMatchObject({ decision: 'delay', until: new Date('2026-12-06T02:00:00Z') });
    expect(held.decision !== 'run' && held.reason).toMatch(
      /disruptive task waits for the next maintenance window \(Sun 2026-12-06 02:00-06:00 UTC\)/,
    );
    // At 04:00 (the default) its own next slot already runs inside that window: once per window, so this one is skipped.
    const plainAt4 = parsePolicy({ database: { index_rebuild: { concurrent: false } } });
    const skipped = await gate.check(indexRebuildTask, outsideWindow, plainAt4);
    expect(skipped).toMatchObject({ decision: 'skip' });
    expect(skipped.decision !== 'run' && skipped.reason).toMatch(
      /next scheduled run \(2026-12-06T04:00:00.000Z\) runs in the same window .* once per table per window/,
    );
    expect(await gate.check(indexRebuildTask, insideWindow, plainAt4)).toEqual({ decision: 'run' });
  });

  it('VACUUM FULL is disruptive, plain VACUUM is not', async () => {
    const gate = windowGate();
    const tuesday = new Date('2026-12-01T03:00:00Z');
    expect(await gate.check(vacuumTask, tuesday, parsePolicy({}))).toEqual({ decision: 'run' });
    const full = parsePolicy({ database: { vacuum: { options: { full: true } } } });
    expect((await gate.check(vacuumTask, tuesday, full)).decision).not.toBe('run');
  });
});
