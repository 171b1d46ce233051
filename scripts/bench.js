#!/usr/bin/env node
'use strict';
// Runs every compiled benchmark (packages/*/dist/bench/*.bench.js, built from
// packages/*/src/bench/*.bench.ts) in sequence, each in its own node process,
// passing this script's arguments through (e.g. --json, --quick). Other .js
// files there are helper modules of the benchmarks, not benchmarks. Benchmarks are plain node scripts
// (tinybench is ESM-only and does not run inside jest).
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const packagesDir = path.join(root, 'packages');
const args = process.argv.slice(2);

const benches = [];
for (const pkg of fs.existsSync(packagesDir) ? fs.readdirSync(packagesDir).sort() : []) {
  const dir = path.join(packagesDir, pkg, 'dist', 'bench');
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir).sort()) {
    if (f.endsWith('.bench.js')) benches.push(path.join(dir, f));
  }
}

if (benches.length === 0) {
  console.log('no benchmarks');
  process.exit(0);
}

let failed = 0;
for (const file of benches) {
  // the suite's name goes to stderr, so `--json` leaves stdout to the suites' documents
  console.error(`\n== ${path.relative(root, file)}`);
  const r = spawnSync(process.execPath, [file, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    failed++;
    console.error(`benchmark ${path.relative(root, file)} failed (${r.signal ?? `exit ${r.status}`})`);
  }
}
process.exit(failed ? 1 : 0);
