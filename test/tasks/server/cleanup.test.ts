import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DrydockError } from '../../../src/errors.js';
import { createCleanupTask } from '../../../src/tasks/server/cleanup.js';
import { rotationStamp } from '../../../src/tasks/server/log-rotation.js';
import { policyFrom, taskContext } from '../cache/task-context.js';

let root: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'drydock-cleanup-'));
  outside = mkdtempSync(join(tmpdir(), 'drydock-outside-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const DAY = 86_400_000;
const age = (path: string, days: number) => {
  const t = new Date(Date.now() - days * DAY);
  utimesSync(path, t, t);
};

describe('log rotation with a writer running', () => {
  it('never loses or duplicates a line', async () => {
    const logs = join(root, 'logs');
    mkdirSync(logs);
    const log = join(logs, 'api.log');
    writeFileSync(log, '');
    const lines = 150_000;
    const writer = spawn(process.execPath, [
      '-e',
      `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(log)},'a');let i=1;` +
        `function burst(){for(let j=0;j<300&&i<=${lines};j++,i++)fs.writeSync(fd,'line '+i+' of the api log\\n');if(i<=${lines})setTimeout(burst,1);else fs.closeSync(fd);}burst();`,
    ]);
    const exited = new Promise<number | null>((resolve) => writer.once('exit', resolve));
    let running = true;
    void exited.then(() => {
      running = false;
    });
    const policy = policyFrom({
      server: {
        cleanup: { roots: [root], tasks: ['log_rotation'], logs: [{ path: join(logs, '*.log'), max_size: '32KB' }] },
      },
    });
    const task = createCleanupTask();
    let rotations = 0;
    while (running) {
      const run = taskContext(policy);
      const result = await task.execute(run.ctx);
      rotations += result.actions.filter((a) => a.action === 'rotate').length;
      expect((await task.validate(run.ctx, result)).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await exited).toBe(0);
    expect(rotations).toBeGreaterThanOrEqual(3);
    const copies = readdirSync(logs)
      .filter((n) => n.endsWith('.gz'))
      .sort();
    expect(copies.length).toBe(rotations);
    const text =
      copies.map((n) => gunzipSync(readFileSync(join(logs, n))).toString()).join('') + readFileSync(log, 'utf8');
    const got = text.split('\n').filter(Boolean);
    expect(got.length).toBe(lines);
    expect(got.every((line, i) => line === `line ${i + 1} of the api log`)).toBe(true);
  }, 60_000);

  it('deletes rotated copies older than 30 days and lists them', async () => {
    const logs = join(root, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'web.log'), 'x\n');
    const old = join(logs, `web.log.${rotationStamp(new Date(Date.now() - 31 * DAY))}.gz`);
    const recent = join(logs, `web.log.${rotationStamp(new Date(Date.now() - 2 * DAY))}.gz`);
    writeFileSync(old, 'old');
    writeFileSync(recent, 'recent');
    const policy = policyFrom({
      server: {
        cleanup: { roots: [root], tasks: ['log_rotation'], logs: [{ path: join(logs, 'web.log'), max_age: '1 day' }] },
      },
    });
    const run = taskContext(policy);
    const result = await createCleanupTask().execute(run.ctx);
    expect(result.actions.map((a) => [a.action, a.path])).toEqual([['delete', old]]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(run.summary).toContain(`delete ${old}`);
  });
});

describe('log rotation on a file system without collapse-range (tmpfs)', () => {
  it('refuses with a clear error and leaves the log untouched, never lossy', async () => {
    const shm = mkdtempSync('/dev/shm/drydock-rotate-');
    try {
      const log = join(shm, 'app.log');
      const content = Array.from({ length: 3000 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
      writeFileSync(log, content);
      const policy = policyFrom({
        server: {
          cleanup: {
            roots: [shm],
            allowed_prefixes: ['/dev/shm'],
            tasks: ['log_rotation'],
            logs: [{ path: log, max_size: '4KB' }],
          },
        },
      });
      const error = await createCleanupTask()
        .execute(taskContext(policy).ctx)
        .catch((e: unknown) => e);
      expect((error as DrydockError).message).toMatch(
        /cannot rotate without losing lines: fallocate --collapse-range failed/,
      );
      expect(readFileSync(log, 'utf8')).toBe(content);
      expect(readdirSync(shm)).toEqual(['app.log']);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });
});

describe('temp files', () => {
  it('removes files older than the age, removes links without touching their targets, and dry-run changes nothing', async () => {
    const tmp = join(root, 'tmp');
    mkdirSync(join(tmp, 'session-1'), { recursive: true });
    writeFileSync(join(tmp, 'old.bin'), 'x'.repeat(100));
    writeFileSync(join(tmp, 'new.bin'), 'y');
    writeFileSync(join(tmp, 'session-1', 'part'), 'z');
    writeFileSync(join(outside, 'precious'), 'keep me');
    symlinkSync(join(outside, 'precious'), join(tmp, 'link-out'));
    age(join(tmp, 'old.bin'), 10);
    age(join(tmp, 'session-1', 'part'), 10);
    age(join(tmp, 'session-1'), 10);
    utimesSync(join(outside, 'precious'), new Date(), new Date());
    // lutimes: age the link itself
    const { lutimesSync } = await import('node:fs');
    const t = new Date(Date.now() - 10 * DAY);
    lutimesSync(join(tmp, 'link-out'), t, t);

    const policy = policyFrom({
      server: { cleanup: { roots: [root], tasks: ['temp_files'], temp: [{ dir: tmp, older_than: '7 days' }] } },
    });
    const dry = taskContext(policy);
    const planned = await createCleanupTask({ dryRun: true }).execute(dry.ctx);
    const expected = [
      join(tmp, 'link-out'),
      join(tmp, 'old.bin'),
      join(tmp, 'session-1'),
      join(tmp, 'session-1', 'part'),
    ].sort();
    expect(planned.actions.map((a) => a.path).sort()).toEqual(expected);
    expect(existsSync(join(tmp, 'old.bin'))).toBe(true);
    expect(dry.summary[0]).toMatch(/^dry run: would rotate 0 log\(s\), would delete 4 item/);

    const run = taskContext(policy);
    const task = createCleanupTask();
    const result = await task.execute(run.ctx);
    expect(result.actions.map((a) => a.path).sort()).toEqual(expected);
    expect(readdirSync(tmp)).toEqual(['new.bin']);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep me');
    expect((await task.validate(run.ctx, result)).ok).toBe(true);
  });
});

describe('old deployments', () => {
  it('keeps the newest 5 successful releases and the current one; failed ones do not count', async () => {
    const releases = join(root, 'releases');
    mkdirSync(releases);
    const make = (name: string, daysAgo: number, ok: boolean) => {
      const dir = join(releases, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'app.js'), name);
      if (ok) {
        writeFileSync(join(dir, '.deployed'), '');
        age(join(dir, '.deployed'), daysAgo);
      }
      age(dir, daysAgo);
    };
    for (let i = 1; i <= 8; i += 1) make(`2026-11-0${i}`, 20 - i, true);
    make('2026-11-09-failed', 10, false);
    make('2026-11-10-half', 0, false);
    symlinkSync(join(releases, '2026-11-01'), join(releases, 'current')); // rolled back to the oldest
    const policy = policyFrom({
      server: { cleanup: { roots: [root], tasks: ['old_deployments'], deployments: { root: releases } } },
    });
    const run = taskContext(policy);
    const task = createCleanupTask();
    const result = await task.execute(run.ctx);
    expect(result.actions.map((a) => a.path.slice(releases.length + 1)).sort()).toEqual([
      '2026-11-02',
      '2026-11-03',
      '2026-11-09-failed',
    ]);
    expect(readdirSync(releases).sort()).toEqual([
      '2026-11-01',
      '2026-11-04',
      '2026-11-05',
      '2026-11-06',
      '2026-11-07',
      '2026-11-08',
      '2026-11-10-half',
      'current',
    ]);
    expect((await task.validate(run.ctx, result)).ok).toBe(true);
  });
});

describe('refused rules', () => {
  const refused = async (cleanup: Record<string, unknown>) => {
    const policy = policyFrom({ server: { cleanup } });
    const error = await createCleanupTask()
      .execute(taskContext(policy).ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrydockError);
    expect((error as DrydockError).code).toBe('CONFIG_INVALID');
    return (error as DrydockError).message;
  };

  it('refuses /, a path outside the roots and a link leading out, deleting nothing', async () => {
    writeFileSync(join(outside, 'old'), 'x');
    age(join(outside, 'old'), 30);
    symlinkSync(outside, join(root, 'escape'));
    expect(await refused({ roots: [root], temp: [{ dir: '/', older_than: '1 day' }] })).toMatch(
      /temp\[0\]\.dir: "\/" points at "\/"/,
    );
    expect(await refused({ roots: ['/'], temp: [{ dir: '/tmp', older_than: '1 day' }] })).toMatch(
      /root "\/" is refused/,
    );
    expect(await refused({ roots: [root], temp: [{ dir: outside, older_than: '1 day' }] })).toMatch(
      /outside the configured roots/,
    );
    expect(await refused({ roots: [root], temp: [{ dir: join(root, 'escape'), older_than: '1 day' }] })).toMatch(
      /link leading out of the configured roots/,
    );
    expect(await refused({ roots: [root], deployments: { root: join(root, 'escape') } })).toMatch(
      /deployments\.root: .* link leading out/,
    );
    expect(existsSync(join(outside, 'old'))).toBe(true);
  });
});
