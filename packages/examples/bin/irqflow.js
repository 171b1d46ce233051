#!/usr/bin/env node
// The `irqflow` binary: a committed, executable launcher for the compiled CLI (`npm run build` first), so
// `npx irqflow` works in a checkout right after `npm ci`.
'use strict';
let cli;
try {
  cli = require('../dist/cli.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/cli.js')) {
    process.stderr.write('irqflow: not built yet: run `npm run build` in the checkout first\n');
    process.exit(3);
  }
  throw e;
}
cli.runCli(process.argv.slice(2));
