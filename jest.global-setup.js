'use strict';
// Jest globalSetup of every package (jest.base.js): brings packages/*/dist up to date with `tsc -b` before any
// test runs. Tests that spawn the CLI, a benchmark or an allocation probe run the compiled dist; building only
// when dist was missing let a stale dist test old code. tsc -b is incremental (about a second when nothing
// changed) and runs once per jest run, not once per project: the main process remembers it in its environment.
// A failed build fails the run with tsc's output instead of testing what was built before.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const DONE = 'IRQFLOW_JEST_TSC_B_DONE';

module.exports = function buildDist() {
  if (process.env[DONE] === '1') return;
  const tsconfig = path.join(__dirname, 'tsconfig.json');
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', tsconfig], { cwd: __dirname, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jest global setup: tsc -b ${tsconfig} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  process.env[DONE] = '1';
};
