// `drydock deps list|show|approve` as a person runs them: a real process, a real policy file and
// state file, the approver proven by the API token named in the policy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { exec } from '../../src/adapters/exec.js';
import { DependencyStore } from '../../src/dependencies/store.js';
import { openSqlite } from '../../src/store/sqlite/open.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let policy: string;

const drydock = (args: string[], env: Record<string, string> = {}) =>
  exec(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), '--policy', policy, ...args],
    {
      cwd: dir,
      okCodes: [0, 1, 2],
      timeoutMs: 60_000,
      env: { DRYDOCK_POLICY: '', ...env },
      inheritEnv: ['ADA_TOKEN', 'BOB_TOKEN'],
    },
  );

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-deps-cli-'));
  policy = join(dir, 'drydock.yaml');
  writeFileSync(
    policy,
    stringify({
      state: { path: 'state.sqlite' },
      stakeholders: [
        { name: 'Ada', roles: ['CTO'], token: { env: 'ADA_TOKEN' } },
        { name: 'Bob', roles: ['Developer'], token: { env: 'BOB_TOKEN' } },
      ],
    }),
  );
  process.env.ADA_TOKEN = 'ada-T4kP9wQ2mZx7Lc3Rv8Nb5Hy1Js6Df0Gu';
  process.env.BOB_TOKEN = 'bob-M8nR3tX6qWp1Zk9Lc4Vb7Hy2Js5Df0Ge';
});

afterAll(() => {
  delete process.env.ADA_TOKEN;
  delete process.env.BOB_TOKEN;
  rmSync(dir, { recursive: true, force: true });
});

describe('drydock deps', () => {
  it('lists and shows change records, and approves one only for a token holding an approver role and the plan seen', async () => {
    // The state file exists once a command has opened it (migrations applied); then a run records an update.
    expect((await drydock(['deps', 'list'])).stdout).toContain('no dependency updates recorded');
    const db = openSqlite(join(dir, 'state.sqlite'));
    const store = new DependencyStore(db);
    const { update } = store.propose(
      {
        ecosystem: 'npm',
        target: '/srv/app',
        package: 'left-pad',
        fromVersion: '1.3.0',
        toVersion: '2.0.0',
        type: 'major',
        status: 'pending_approval',
      },
      new Date('2027-02-10T03:00:00Z'),
    );
    db.close();

    const list = await drydock(['deps', 'list']);
    expect(list.stdout).toMatch(
      new RegExp(
        `#${update.id}\\s+npm\\s+left-pad\\s+1\\.3\\.0 -> 2\\.0\\.0\\s+major\\s+pending_approval\\s+${update.planHash.slice(0, 12)}`,
      ),
    );
    const shown = await drydock(['deps', 'show', String(update.id)]);
    expect(shown.stdout).toContain(`plan hash:  ${update.planHash}`);

    const noToken = await drydock(['deps', 'approve', String(update.id), '--plan', update.planHash]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('approve a dependency update needs your API token in DRYDOCK_TOKEN');
    const bob = await drydock(['deps', 'approve', String(update.id), '--plan', update.planHash], {
      DRYDOCK_TOKEN: 'bob-M8nR3tX6qWp1Zk9Lc4Vb7Hy2Js5Df0Ge',
    });
    expect(bob.code).toBe(1);
    expect(bob.stderr).toContain('Bob does not hold a role that can approve npm update');
    const ada = await drydock(['deps', 'approve', String(update.id), '--plan', update.planHash.slice(0, 12)], {
      DRYDOCK_TOKEN: 'ada-T4kP9wQ2mZx7Lc3Rv8Nb5Hy1Js6Df0Gu',
    });
    expect(ada.stdout).toContain(`#${update.id} left-pad 2.0.0: approved (Ada)`);
    const json = JSON.parse((await drydock(['deps', 'show', String(update.id), '--json'])).stdout) as {
      status: string;
      approvals: Array<{ person: string; role: string }>;
    };
    expect(json.status).toBe('approved');
    expect(json.approvals).toMatchObject([{ person: 'Ada', role: 'CTO' }]);
  }, 120_000);
});
