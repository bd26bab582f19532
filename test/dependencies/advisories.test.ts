// The OSV reader and the semver classification the npm plan rests on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advisoriesFor, readAdvisories } from '../../src/dependencies/advisories.js';
import { classify } from '../../src/dependencies/npm/plan.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-osv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OSV advisories', () => {
  const file = join(dir, 'osv.json');
  writeFileSync(
    file,
    JSON.stringify({
      vulns: [
        {
          id: 'GHSA-1',
          summary: 'two ranges',
          affected: [
            {
              package: { ecosystem: 'npm', name: 'a' },
              ranges: [
                {
                  type: 'SEMVER',
                  events: [{ introduced: '0' }, { fixed: '1.2.3' }, { introduced: '2.0.0' }, { fixed: '2.0.5' }],
                },
              ],
            },
            {
              package: { ecosystem: 'PyPI', name: 'a' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
            },
          ],
        },
        {
          id: 'GHSA-2',
          affected: [
            {
              package: { ecosystem: 'npm', name: 'b' },
              ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { last_affected: '1.4.0' }] }],
            },
            { package: { ecosystem: 'npm', name: 'c' }, versions: ['0.9.1'] },
          ],
        },
      ],
    }),
  );
  const advisories = readAdvisories(file);

  it('matches versions inside each introduced..fixed range and names the fix', () => {
    expect(advisoriesFor(advisories, 'a', '1.2.2').map((h) => [h.advisory.id, h.fixed])).toEqual([['GHSA-1', '1.2.3']]);
    expect(advisoriesFor(advisories, 'a', '1.2.3')).toEqual([]);
    expect(advisoriesFor(advisories, 'a', '2.0.4').map((h) => h.fixed)).toEqual(['2.0.5']);
    expect(advisoriesFor(advisories, 'a', '2.0.5')).toEqual([]);
  });

  it('honours last_affected, explicit versions, and ignores other ecosystems', () => {
    expect(advisoriesFor(advisories, 'b', '1.4.0').map((h) => [h.advisory.id, h.fixed])).toEqual([['GHSA-2', null]]);
    expect(advisoriesFor(advisories, 'b', '1.4.1')).toEqual([]);
    expect(advisoriesFor(advisories, 'b', '0.9.0')).toEqual([]);
    expect(advisoriesFor(advisories, 'c', '0.9.1')).toHaveLength(1);
    expect(advisoriesFor(advisories, 'c', '0.9.2')).toEqual([]);
  });

  it('says which file it cannot read', () => {
    expect(() => readAdvisories(join(dir, 'missing.json'))).toThrow(/cannot read the advisories file .*missing\.json/);
  });
});

describe('semver classification', () => {
  it('treats a minor bump below 1.0.0 as major, as npm ^ ranges do', () => {
    expect(classify('1.2.3', '1.2.4')).toBe('patch');
    expect(classify('1.2.3', '1.3.0')).toBe('minor');
    expect(classify('1.2.3', '2.0.0')).toBe('major');
    expect(classify('0.2.3', '0.3.0')).toBe('major');
    expect(classify('0.2.3', '0.2.9')).toBe('patch');
  });
});
