#!/usr/bin/env node
/* global process, console */
// Runs the compiled CLI (`npm ci` builds it through the `prepare` script).
// `drydock wal push|get ... --repo DIR` (PostgreSQL's archive_command and restore_command, run once
// per WAL file) takes a light path that loads only the WAL code, not the whole CLI.
const argv = process.argv.slice(2);
const walVerb = argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'get') ? argv[1] : null;
const light = walVerb !== null && argv.some((a) => a === '--repo' || a.startsWith('--repo='));
const entry = light ? '../dist/backup/wal/cli.js' : '../dist/cli/main.js';

function notBuilt(error) {
  return error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(entry.slice(3));
}

if (light) {
  import(entry)
    .then((wal) => wal.runWalCommand(argv.slice(1)))
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error) => {
      console.error(notBuilt(error) ? 'drydock is not built yet: run `npm run build`.' : String(error && error.stack));
      // A restore_command that fails for a reason other than "not archived" must stop recovery
      // (exit above 125), never let PostgreSQL end recovery early.
      process.exit(walVerb === 'get' ? 200 : 1);
    });
} else {
  import(entry).catch((error) => {
    if (notBuilt(error)) {
      console.error('drydock is not built yet: run `npm run build` (npm ci does it for you).');
      process.exit(1);
    }
    throw error;
  });
}
