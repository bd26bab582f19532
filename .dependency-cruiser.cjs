/* global module */
// The layering of src/, checked by `npm run lint` (dependency-cruiser). Folders are listed from the
// bottom up: a module may import its own layer and the layers listed before it, never one listed
// after it (a "back edge"), so the folder graph has no cycles. Type-only imports count too: a type
// pulls its folder's design along. README "Code layout" says the same in prose.
//
// Known, not yet fixed violations are in .dependency-cruiser-known-violations.json (features that
// still import store/sqlite/ directly instead of their own store interface); `npm run lint`
// ignores those and fails on any new one. Regenerate that file only when removing entries:
//   npx depcruise src --output-type baseline > .dependency-cruiser-known-violations.json
/** @type {Array<[string, string]>} [name, path regex], bottom first. */
const LAYERS = [
  ['kernel', '^src/(errors|clock)\\.ts$'],
  ['policy', '^src/policy/'],
  ['logger', '^src/logger\\.ts$'],
  ['adapters', '^src/adapters/'],
  ['host', '^src/host/'],
  ['schedule', '^src/schedule/'],
  ['store', '^src/store/[^/]+$'], // the Store interface and record types, not the SQLite implementation
  ['notify', '^src/notify/'],
  ['engine', '^src/engine/'],
  ['backup', '^src/backup/'],
  ['metrics', '^src/metrics/'],
  ['alerts', '^src/alerts/'],
  ['approvals', '^src/approvals/'],
  ['access', '^src/access/'],
  ['windows', '^src/windows/'],
  ['network', '^src/network/'],
  ['security', '^src/security/'],
  ['dependencies', '^src/dependencies/'],
  ['tasks', '^src/tasks/'],
  ['monitoring', '^src/monitoring/'],
  ['api', '^src/api/'],
  ['store/sqlite', '^src/store/sqlite/'], // implementations of the feature stores; only the composition root builds them
  ['app', '^src/app\\.ts$'], // the composition root
  ['demo', '^src/demo/'],
  ['cli', '^src/cli/'],
];

const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name.replace('/', '-')}`,
  severity: 'error',
  comment: `${name} must not import a layer above it (${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(', ')}); see .dependency-cruiser.cjs`,
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => `(${p})`) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module cycle (within a folder too) makes load order and testing in isolation fragile.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'layer-unplaced',
      severity: 'warn',
      comment: 'A new src/ folder: add it to LAYERS in .dependency-cruiser.cjs so its imports are checked.',
      from: { path: '^src/', pathNot: LAYERS.map(([, p]) => `(${p})`).join('|') },
      to: { path: '^src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
