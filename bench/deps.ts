// npm run bench:deps
//
// Dependency planning and automerge cost against a local verdaccio registry (free port, temp dir):
// 300 packages published in 1.0.0, an application depending on all 300 (^1.0.0, installed and
// locked by npm), then 1.0.1, 1.1.0 and 2.0.0 of each. Measures:
//   - the time Drydock takes to plan every update of the 300 direct dependencies (patch, minor and
//     major per package, soak and advisories included), beside `npx ncu` (npm-check-updates 17)
//     planning the same package.json against the same registry;
//   - the time of one automerged patch update of a trivial application (worktree, npm install,
//     the application's test, commit, fast-forward merge).
// Prints figures and ratios with the load average; asserts nothing.
//
// Knobs: DRYDOCK_BENCH_PACKAGES (300), DRYDOCK_BENCH_ROUNDS (3).
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { exec } from '../src/adapters/exec.js';
import { applyNpmUpdate } from '../src/dependencies/npm/apply.js';
import { classify, planNpmUpdates } from '../src/dependencies/npm/plan.js';
import { registryClient } from '../src/dependencies/npm/registry.js';
import { createNpmApp, removeNpmApps } from '../test/dependencies/helpers/npm-app.js';
import { startRegistry } from '../test/dependencies/helpers/verdaccio.js';

const PACKAGES = Number(process.env.DRYDOCK_BENCH_PACKAGES ?? 300);
const ROUNDS = Number(process.env.DRYDOCK_BENCH_ROUNDS ?? 3);

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const registry = await startRegistry();
  try {
    const names = Array.from({ length: PACKAGES }, (_, i) => `bench-dep-${String(i).padStart(3, '0')}`);
    log(`publishing ${PACKAGES} packages at 1.0.0 (load ${load()})`);
    for (const name of names) await registry.publish({ name, version: '1.0.0' });
    log('installing the application (npm install of all of them)');
    const repo = await createNpmApp({
      registry: registry.url,
      dependencies: Object.fromEntries(names.map((n) => [n, '^1.0.0'])),
      test: 'console.log("ok")\n',
    });
    log('publishing 1.0.1, 1.1.0 and 2.0.0 of each');
    for (const name of names)
      for (const version of ['1.0.1', '1.1.0', '2.0.0']) await registry.publish({ name, version });

    const client = registryClient(registry.url);
    const drydock: number[] = [];
    let found = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      const plan = await planNpmUpdates(repo.dir, client, {
        now: new Date(Date.now() + 30 * 86_400_000),
        soakMs: 3 * 86_400_000,
        securitySoakMs: 0,
        advisories: [],
      });
      drydock.push(performance.now() - started);
      found = plan.updates.length;
    }
    log(
      `drydock plan: ${found} updates for ${PACKAGES} dependencies; ${drydock.map((ms) => ms.toFixed(0)).join(', ')} ms (load ${load()})`,
    );

    const ncu: number[] = [];
    let ncuFound = 0;
    const ncuBin = join(process.cwd(), 'node_modules', '.bin', 'ncu');
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      const r = await exec(
        ncuBin,
        ['--registry', registry.url, '--packageFile', join(repo.dir, 'package.json'), '--jsonUpgraded'],
        {
          cwd: repo.dir,
          timeoutMs: 10 * 60_000,
        },
      );
      ncu.push(performance.now() - started);
      ncuFound = Object.keys(JSON.parse(r.stdout) as Record<string, string>).length;
    }
    log(
      `npm-check-updates: ${ncuFound} upgrades (latest only); ${ncu.map((ms) => ms.toFixed(0)).join(', ')} ms (load ${load()})`,
    );

    // One automerged patch update of a trivial app per round.
    const small = await createNpmApp({
      registry: registry.url,
      dependencies: { [names[0]!]: '1.0.0' },
      test: 'console.log("ok")\n',
    });
    const apply: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const base = await small.git('rev-parse', 'HEAD');
      const to = i === 0 ? '1.0.1' : i === 1 ? '1.1.0' : '2.0.0';
      const from = i === 0 ? '1.0.0' : i === 1 ? '1.0.1' : '1.1.0';
      const started = performance.now();
      const r = await applyNpmUpdate(
        {
          name: names[0]!,
          kind: 'dependencies',
          spec: from,
          from,
          to,
          type: classify(from, to),
          releasedAt: null,
          soakingUntil: null,
          advisories: [],
        },
        {
          repo: small.dir,
          branch: 'main',
          base,
          registry: registry.url,
          testCommand: ['node', 'test.js'],
          installTimeoutMs: 5 * 60_000,
          testTimeoutMs: 60_000,
          advisories: [],
          mergeBlockedBy: () => null,
          changeRecord: i + 1,
        },
      );
      apply.push(performance.now() - started);
      if (r.outcome !== 'merged') throw new Error(`update ${i + 1} was not merged: ${JSON.stringify(r)}`);
    }
    log(
      `automerged update (worktree + npm install + tests + commit + merge): ${apply.map((ms) => ms.toFixed(0)).join(', ')} ms (load ${load()})`,
    );

    const ours = median(drydock);
    const theirs = median(ncu);
    process.stdout.write(
      [
        '',
        `planning ${PACKAGES} direct dependencies against verdaccio on loopback (median of ${ROUNDS}, load ${load()}, shared machine):`,
        `  drydock            ${ours.toFixed(0)} ms  (${found} updates: patch, minor and major per package)`,
        `  npm-check-updates  ${theirs.toFixed(0)} ms  (${ncuFound} upgrades, latest only)`,
        `  ratio              ${(theirs / ours).toFixed(2)}x ${ours < theirs ? 'faster (goal met)' : 'slower (goal not met)'}`,
        `automerged update of a trivial app: median ${median(apply).toFixed(0)} ms`,
        '',
      ].join('\n'),
    );
  } finally {
    removeNpmApps();
    await registry.stop();
  }
}

await main();
