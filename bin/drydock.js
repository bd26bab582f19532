#!/usr/bin/env node
// Runs the compiled CLI (`npm ci` builds it through the `prepare` script).
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('drydock is not built yet: run `npm run build` (npm ci does it for you).');
    process.exit(1);
  }
  throw error;
});
