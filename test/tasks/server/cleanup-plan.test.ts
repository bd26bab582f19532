import { describe, expect, it } from 'vitest';
import { lexicalProblem } from '../../../src/tasks/server/cleanup-paths.js';
import { planDeployments, type Release } from '../../../src/tasks/server/deployments.js';
import {
  decideRotation,
  expiredCopies,
  globToRegExp,
  rotatedCopies,
  rotationStamp,
} from '../../../src/tasks/server/log-rotation.js';

const DAY = 86_400_000;

describe('lexicalProblem', () => {
  it('refuses /, relative paths, paths outside roots and a root of /', () => {
    expect(lexicalProblem('/', ['/srv'])).toMatch(/points at "\/"/);
    expect(lexicalProblem('/srv/../', ['/srv'])).toMatch(/points at "\/"/);
    expect(lexicalProblem('/etc/passwd', ['/srv'])).toMatch(/outside the configured roots/);
    expect(lexicalProblem('/srv2/x', ['/srv'])).toMatch(/outside/);
    expect(lexicalProblem('/srv/../etc', ['/srv'])).toMatch(/outside/);
    expect(lexicalProblem('tmp', ['/srv'])).toMatch(/not an absolute path/);
    expect(lexicalProblem('/srv/tmp', ['/'])).toMatch(/root "\/" is refused/);
    expect(lexicalProblem('/srv/tmp', [])).toMatch(/roots is empty/);
    expect(lexicalProblem('/srv/tmp', ['/srv'])).toBeNull();
  });
});

describe('decideRotation', () => {
  const base = { lastRotatedAt: null, createdAt: 0, now: DAY, maxSize: 1000, maxAgeMs: null, blockSize: 4096 };
  it('rotates by size in whole blocks, strictly less than the file', () => {
    expect(decideRotation({ ...base, size: 10_000 })).toMatchObject({ rotate: true, cut: 8192 });
    expect(decideRotation({ ...base, size: 8192 })).toMatchObject({ rotate: true, cut: 4096 });
  });
  it('keeps a file under one block', () => {
    expect(decideRotation({ ...base, size: 2000 })).toMatchObject({ rotate: false });
  });
  it('rotates by age since the last rotation', () => {
    const aged = { ...base, maxSize: null, maxAgeMs: DAY, size: 50_000 };
    expect(decideRotation({ ...aged, lastRotatedAt: 0, now: DAY }).rotate).toBe(true);
    expect(decideRotation({ ...aged, lastRotatedAt: DAY / 2, now: DAY }).rotate).toBe(false);
  });
});

describe('rotated copies', () => {
  it('finds and expires copies by the stamp in their name', () => {
    const now = Date.UTC(2026, 10, 26);
    const names = [
      'app.log',
      `app.log.${rotationStamp(new Date(now - 31 * DAY))}.gz`,
      `app.log.${rotationStamp(new Date(now - DAY))}.gz`,
      'app.log.old.gz',
      'other.log.20260101T000000000Z.gz',
    ];
    const copies = rotatedCopies('app.log', names);
    expect(copies).toHaveLength(2);
    expect(expiredCopies(copies, now, 30 * DAY).map((c) => c.at)).toEqual([now - 31 * DAY]);
  });
  it('reads globs', () => {
    expect(globToRegExp('*.log').test('api.log')).toBe(true);
    expect(globToRegExp('*.log').test('api.log.1.gz')).toBe(false);
  });
});

describe('planDeployments', () => {
  const now = 100 * DAY;
  const ok = (name: string, day: number): Release => ({
    name,
    successful: true,
    deployedAt: day * DAY,
    mtime: day * DAY,
  });
  const bad = (name: string, day: number): Release => ({ name, successful: false, deployedAt: null, mtime: day * DAY });

  it('keeps the newest 5 successful; failed releases neither count nor push good ones out', () => {
    const releases = [
      ok('r1', 1),
      ok('r2', 2),
      ok('r3', 3),
      ok('r4', 4),
      ok('r5', 5),
      ok('r6', 6),
      ok('r7', 7),
      bad('r8', 8),
      bad('r9', 99.9),
    ];
    const plan = planDeployments(releases, 'r7', 5, now);
    expect(plan.keep.map((k) => k.name).sort()).toEqual(['r3', 'r4', 'r5', 'r6', 'r7', 'r9']);
    expect(plan.remove.map((r) => r.name).sort()).toEqual(['r1', 'r2', 'r8']);
  });
  it('never removes the release current points to, even beyond the newest 5', () => {
    const releases = [ok('r1', 1), ok('r2', 2), ok('r3', 3), ok('r4', 4), ok('r5', 5), ok('r6', 6), ok('r7', 7)];
    const plan = planDeployments(releases, 'r1', 5, now);
    expect(plan.remove.map((r) => r.name)).toEqual(['r2']);
    expect(plan.keep.find((k) => k.name === 'r1')!.reason).toBe('current release');
  });
});
