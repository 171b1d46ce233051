/**
 * The tests that spawn the CLI, a benchmark or an allocation probe run the compiled packages/<pkg>/dist, so
 * jest's global setup (jest.global-setup.js) rebuilds it before any test: a dist older than the sources would
 * test old code. `tsc -b --dry` names every project a build would still build or touch.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

it('packages/*/dist is up to date with the sources when the tests run', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', '--dry', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout.match(/is up to date/g)).toHaveLength(5);
  expect(r.stdout).not.toMatch(/non-dry build would/);
});
