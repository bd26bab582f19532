// The newcomer's tour: each implemented procedure once, through the full lifecycle, on the demo's
// own infrastructure, then a point-in-time restore the tour carries out and checks, and a summary
// table. Every row is a real result.
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../app.js';
import { closeQuietly, connectPostgres, openPostgres, type PostgresTarget } from '../adapters/postgres.js';
import { restoreDatabase } from '../backup/commands.js';
import { startScratchServer, waitUntilConsistent } from '../backup/scratch-server.js';
import { dataDirectoryOwner } from '../backup/settings.js';
import { describeError } from '../errors.js';
import { describeRun } from '../engine/run-format.js';
import type { DemoInfrastructure } from './infrastructure.js';
import type pg from 'pg';
import { DrydockError } from '../errors.js';

export interface TourRow {
  task: string;
  outcome: string;
  detail: string;
}

/** Procedures that act on the host's own firewall, which the demo did not create: listed, not run. */
const HOST_ONLY: Readonly<Record<string, string>> = {
  'network.firewall.review': "reads the host's own firewall ruleset: not part of the tour",
  'network.firewall.updates': "changes the host's own firewall: not part of the tour",
};

const short = (text: string) => (text.length > 120 ? `${text.slice(0, 117)}...` : text);

/** Runs each implemented task once, then the point-in-time restore; returns the summary rows. */
export async function runTour(app: App, demo: DemoInfrastructure, print: (line: string) => void): Promise<TourRow[]> {
  const rows: TourRow[] = [];
  for (const task of app.registry.implemented()) {
    if (task.schedule(app.loaded.policy).kind === 'event') {
      rows.push({
        task: task.id,
        outcome: '-',
        detail: 'runs when its files change, not on a clock: not part of the tour',
      });
      continue;
    }
    const hostOnly = HOST_ONLY[task.id];
    if (hostOnly) {
      rows.push({ task: task.id, outcome: '-', detail: hostOnly });
      continue;
    }
    print(`\n=== ${task.id}: ${task.title}`);
    // The newcomer asked for this tour: it runs even inside a blackout, and the activity log says so.
    const run = await app.engine.run(task.id, { trigger: 'startup', force: true });
    print(describeRun(run, await app.store.listSteps(run.id)));
    rows.push({ task: task.id, outcome: run.status, detail: short(run.error ?? run.reason ?? run.summary[0] ?? '') });
  }
  print('\n=== point-in-time restore: back to a moment between two writes');
  try {
    const detail = await pointInTimeRestore(app, demo, print);
    rows.push({ task: 'point-in-time restore', outcome: 'succeeded', detail });
  } catch (error) {
    print(`  failed: ${describeError(error)}`);
    rows.push({ task: 'point-in-time restore', outcome: 'failed', detail: short(describeError(error)) });
  }
  await app.store.logActivity({
    at: app.clock.now(),
    kind: 'demo.tour',
    message: `demo tour: ${rows.filter((r) => r.outcome === 'succeeded').length} of ${rows.filter((r) => r.outcome !== '-').length} rows succeeded`,
    data: { rows },
  });
  return rows;
}

async function query<T extends pg.QueryResultRow>(
  target: PostgresTarget,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = await connectPostgres(target, { applicationName: 'drydock:demo-tour' });
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await closeQuietly(client);
  }
}

/**
 * Writes a row, notes the time, writes a second row, waits until the WAL holding both is archived,
 * restores the newest backup to the noted time into a scratch folder, starts it on a free port and
 * checks that the first row is there and the second is not. Returns the summary line.
 */
async function pointInTimeRestore(app: App, demo: DemoInfrastructure, print: (line: string) => void): Promise<string> {
  const target = demo.postgres;
  const policy = app.loaded.policy;
  await query(
    target,
    'CREATE TABLE IF NOT EXISTS demo_pitr (id bigserial PRIMARY KEY, note text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())',
  );
  const tag = Date.now().toString(36);
  await query(target, 'INSERT INTO demo_pitr (note) VALUES ($1)', [`before-${tag}`]);
  await new Promise((r) => setTimeout(r, 1100));
  const [{ at }] = (await query<{ at: string }>(
    target,
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00') AS at",
  )) as [{ at: string }];
  await new Promise((r) => setTimeout(r, 1100));
  await query(target, 'INSERT INTO demo_pitr (note) VALUES ($1)', [`after-${tag}`]);
  print(`  wrote "before-${tag}", target time ${at}, then wrote "after-${tag}"`);
  const [{ wal }] = (await query<{ wal: string }>(target, 'SELECT pg_walfile_name(pg_switch_wal()) AS wal')) as [
    { wal: string },
  ];
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [s] = await query<{ last: string | null; failed: string | null }>(
      target,
      'SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_stat_archiver',
    );
    if (s?.last && s.last >= wal) break;
    if (Date.now() > deadline)
      throw new DrydockError(
        'VALIDATION_FAILED',
        `WAL segment ${wal} was not archived within 2 minutes (last archived ${s?.last ?? 'none'}, last failed ${s?.failed ?? 'none'})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
  print(`  WAL up to ${wal} is in the repository (archived by \`drydock wal push\`)`);

  const owner = dataDirectoryOwner(policy);
  const scratch = mkdtempSync(join(demo.paths.root, 'pitr-'));
  if (owner) chownSync(scratch, owner.uid, owner.gid);
  const dataDir = join(scratch, 'data');
  let server: Awaited<ReturnType<typeof startScratchServer>> | undefined;
  try {
    const restored = await restoreDatabase(policy, {
      to: dataDir,
      targetTime: at,
      progress: false,
      ...(owner ? { owner } : {}),
    });
    print(`  restored ${restored.chain.join(' + ')} with recovery_target_time = '${at}' into ${dataDir}`);
    // A copy for inspection must not archive into the demo's repository.
    appendFileSync(join(dataDir, 'postgresql.auto.conf'), "archive_mode = 'off'\n");
    mkdirSync(join(scratch, 'socket'), { recursive: true });
    if (owner) chownSync(join(scratch, 'socket'), owner.uid, owner.gid);
    writeFileSync(join(scratch, 'README'), 'A point-in-time copy made by the demo tour; deleted when the tour ends.\n');
    server = await startScratchServer(policy.backup.postgres.bin_directory, dataDir, join(scratch, 'socket'));
    await waitUntilConsistent(server.connection(target.database), 120_000);
    const client = await openPostgres(server.connection(target.database), { applicationName: 'drydock demo tour' });
    let notes: string[];
    try {
      notes = (
        await client.query<{ note: string }>('SELECT note FROM demo_pitr WHERE note LIKE $1 ORDER BY id', [`%-${tag}`])
      ).rows.map((r) => r.note);
    } finally {
      await client.end();
    }
    print(`  the restored copy on port ${server.port} holds: ${notes.length ? notes.join(', ') : 'neither row'}`);
    if (!notes.includes(`before-${tag}`) || notes.includes(`after-${tag}`))
      throw new DrydockError(
        'VALIDATION_FAILED',
        `the copy restored to ${at} should hold "before-${tag}" and not "after-${tag}"; it holds ${JSON.stringify(notes)}`,
      );
    return `restored to ${at}: the row written before is there, the row written after is not`;
  } finally {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
