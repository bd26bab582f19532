import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/clock.js';
import { policySchema } from '../../src/policy/schema.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import type { ActivityEntry } from '../../src/store/types.js';
import { createWindowsModule } from '../../src/windows/module.js';
import { registerWindowsCommands, parseWhen } from '../../src/cli/commands/windows.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-windows-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A policy token must be 32+ random characters.
const CTO_TOKEN = 'cli_cto_Rk7Wq2Zp9Lx4Tn6Vb1Mc8Hd3Gf5Js0Y';
const policy = policySchema.parse({
  channels: { log: { type: 'log' }, status: { type: 'status_page' } },
  stakeholders: [
    { name: 'Alice', roles: ['SRE'], access: 'operator' },
    { name: 'Carol', roles: ['CTO'], token: { env: 'CLI_CTO_TOKEN' }, access: 'operator' },
    { name: 'Hank', roles: ['Head of Operations'] },
    { name: 'Ada', roles: ['Platform lead'], access: 'admin' },
  ],
});

function cli(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const activity: ActivityEntry[] = [];
  const clock = fixedClock(new Date('2026-11-25T12:00:00Z'));
  const path = join(dir, 'state.sqlite');
  const program = new Command('drydock')
    .exitOverride()
    .configureOutput({ writeErr: (t) => void out.push(`ERR ${t.trim()}`), writeOut: (t) => void out.push(t.trim()) });
  registerWindowsCommands(
    program,
    async () => {
      const db = openSqlite(path);
      const module = createWindowsModule({
        db,
        policy,
        clock,
        activity: (e) => void activity.push(e),
        env: { CLI_CTO_TOKEN: CTO_TOKEN },
        sleep: async () => {},
      });
      return { module, close: async () => void db.close() };
    },
    { out: (t) => void out.push(t), env },
  );
  const run = async (...args: string[]) => {
    out.length = 0;
    await program.parseAsync(args, { from: 'user' });
    return out.join('\n');
  };
  return { run, out, activity };
}

describe('drydock windows CLI', () => {
  it('parses UTC times the way people write them', () => {
    expect(parseWhen('2026-12-06 02:00 UTC', '--start').toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(parseWhen('2026-12-06T02:00Z', '--start').toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(() => parseWhen('next sunday', '--start')).toThrow(/--start: expected a UTC date and time/);
  });

  it('schedules an emergency, approves it with two tokens and prints the whole story', async () => {
    // The first admin token is created once; every later token comes from an admin.
    const adaToken = (await cli().run('tokens', 'init', 'Ada')).trim();
    expect(adaToken).toMatch(/^ddk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    await expect(cli().run('tokens', 'init', 'Ada')).rejects.toThrow(/tokens init was already done/);
    const ada = cli({ DRYDOCK_TOKEN: adaToken });
    const aliceToken = (await ada.run('tokens', 'issue', 'Alice', '--label', 'laptop')).trim();
    const alice = cli({ DRYDOCK_TOKEN: aliceToken });
    const scheduled = await alice.run(
      'windows',
      'schedule',
      '--kind',
      'emergency',
      '--class',
      'critical_bug',
      '--title',
      'Rotate leaked DB password',
      '--public-title',
      'Database maintenance',
      '--what',
      'Rotate the application role password and restart the API',
      '--rollback',
      'Restore the previous password from the vault',
      '--owner',
      'Alice',
      '--standby',
      'Hank',
      '--components',
      'API',
      '--start',
      '2026-11-25 14:00 UTC',
      '--duration',
      '30 minutes',
    );
    expect(scheduled).toMatch(
      /^window #1 pending approval: Rotate leaked DB password, Wed 2026-11-25 14:00 UTC to 14:30 UTC/,
    );
    const plan = /plan ([0-9a-f]{64})/.exec(scheduled)![1]!;

    await expect(
      alice.run(
        'windows',
        'schedule',
        '--title',
        'x',
        '--what',
        'y',
        '--rollback',
        ' ',
        '--owner',
        'Alice',
        '--start',
        '2026-11-25 12:30 UTC',
        '--duration',
        '1 hour',
        '--kind',
        'emergency',
      ),
    ).rejects.toThrow(/no rollback plan[\s\S]*at least 60 minutes of notice; this one would start in 30 minutes/);

    // An operator cannot mint tokens: that is how one person used to approve as two.
    await expect(alice.run('tokens', 'issue', 'Hank', '--label', 'phone')).rejects.toThrow(
      /Alice has operator access; issuing a token needs admin/,
    );
    const issued = await ada.run('tokens', 'issue', 'Hank', '--label', 'phone');
    const hankToken = issued.trim();
    expect(hankToken).toMatch(/^ddk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);

    await expect(cli({}).run('windows', 'approve', '1', '--plan', plan)).rejects.toThrow(
      /needs your API token in DRYDOCK_TOKEN/,
    );
    await expect(
      cli({ DRYDOCK_TOKEN: 'unknown-token-xyz' }).run('windows', 'approve', '1', '--plan', plan),
    ).rejects.toThrow(/the token given is not valid \(unknown token\)/);
    expect(
      await cli({ DRYDOCK_TOKEN: CTO_TOKEN }).run(
        'windows',
        'approve',
        '1',
        '--plan',
        plan.slice(0, 12),
        '--comment',
        'leak confirmed',
      ),
    ).toBe('window #1: approved by Carol; status pending approval; still needs Head of Operations');
    expect(await cli({ DRYDOCK_TOKEN: hankToken }).run('windows', 'approve', '1', '--plan', plan)).toBe(
      'window #1: approved by Hank; status scheduled',
    );

    const story = await alice.run('windows', 'show', '1');
    expect(story).toContain('Window #1: Rotate leaked DB password');
    expect(story).toContain('Status: scheduled (approved by Carol (CTO) and Hank (Head of Operations))');
    expect(story).toContain('Rollback plan: Restore the previous password from the vault');
    expect(story).toContain('Carol (CTO) approved: leak confirmed');
    expect(story).not.toContain(hankToken);
    expect(story).not.toContain(CTO_TOKEN);

    const listed = await alice.run('windows', 'list');
    expect(listed).toMatch(
      /#1\s+scheduled\s+emergency Wed 2026-11-25 14:00 UTC to 14:30 UTC\s+Rotate leaked DB password/,
    );
    const calendar = await alice.run('windows', 'calendar', '--days', '45');
    expect(calendar).toContain('Sun 2026-12-06 02:00-06:00 UTC  [not announced]');
    // 3 January falls inside the holiday season: the calendar says so.
    expect(calendar).toContain(
      'Sun 2027-01-03 02:00-06:00 UTC  [inside blackout holiday_season: disruptive tasks wait until it ends; not announced]',
    );
    expect(calendar).toContain('holiday_season: Tue 2026-12-15 00:00-2027-01-06 00:00 UTC');
    expect(calendar).toContain('business_hours: every Mon,Tue,Wed,Thu,Fri 09:00-18:00 UTC');
  });

  it('refuses --as with the reason, and takes the requester from the token: Carol cannot approve her own change', async () => {
    await expect(
      cli({ DRYDOCK_TOKEN: CTO_TOKEN }).run('windows', 'update', '1', '--message', 'x', '--as', 'Alice'),
    ).rejects.toThrow(/--as is gone: Drydock records who acts from your API token/);
    await expect(
      cli({ DRYDOCK_TOKEN: CTO_TOKEN }).run(
        'patches',
        'report',
        '--ref',
        'CVE-1',
        '--title',
        't',
        '--severity',
        'high',
        '--as',
        'Bob',
      ),
    ).rejects.toThrow(/--as is gone/);
    // Carol files an emergency change as herself (her token): she cannot then approve it.
    const carol = cli({ DRYDOCK_TOKEN: CTO_TOKEN });
    const scheduled = await carol.run(
      'windows',
      'schedule',
      '--kind',
      'emergency',
      '--class',
      'critical_bug',
      '--title',
      'Hotfix',
      '--what',
      'Deploy a hotfix',
      '--rollback',
      'Redeploy the previous build',
      '--owner',
      'Carol',
      '--start',
      '2026-11-25 16:00 UTC',
      '--duration',
      '30 minutes',
    );
    const id = /^window #(\d+)/.exec(scheduled)![1]!;
    const plan = /plan ([0-9a-f]{64})/.exec(scheduled)![1]!;
    await expect(carol.run('windows', 'approve', id, '--plan', plan)).rejects.toThrow(
      /Carol requested window #\d+ and cannot approve or refuse their own request/,
    );
    const shown = await carol.run('windows', 'show', id, '--json');
    expect((JSON.parse(shown) as { window: { requestedBy: string } }).window.requestedBy).toBe('Carol');
  });
});
