/**
 * The ITS benchmark's what-if knobs (src/bench/its.bench.ts): spawned as built (`npm test` builds first), one short
 * scenario per case. Nothing here asserts a speed — only that the knobs reach the model under test, that the rows
 * say which model they measured, and that a knob the model refuses is a usage error, not a crash.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const bench = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'its.bench.js');

interface Row {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
}

function run(args: string[]): { code: number; rows: Row[]; stderr: string } {
  const r = spawnSync(process.execPath, [bench, '--quick', ...args], { encoding: 'utf8', timeout: 60_000 });
  const rows = r.status === 0 ? (JSON.parse(r.stdout) as { benchmarks: Row[] }).benchmarks : [];
  return { code: r.status ?? -1, rows, stderr: r.stderr };
}

jest.setTimeout(60_000);

describe('its.bench knobs', () => {
  beforeAll(() => expect(fs.existsSync(bench)).toBe(true));

  it('default lpi-stress rows: end to end, then the inject/run split beside the same baseline', () => {
    const { code, rows } = run(['--scenario=0']);
    expect(code).toBe(0);
    expect(rows.map((r) => [r.name, r.unit])).toEqual([
      ['lpi-stress 1x1x16 end to end', 'LPIs/s'],
      ['lpi-stress 1x1x16 inject', 'ns/LPI'],
      ['lpi-stress 1x1x16 run', 'ns/LPI'],
    ]);
    for (const r of rows) expect(r.value).toBeGreaterThan(0);
    expect(rows[1].baseline).toBe(rows[2].baseline);
    expect(rows[1].baseline).toBeCloseTo(1e9 / rows[0].baseline, 6);
  });

  it('--lrs and --lookahead change the model and name the rows (the guest still completes every LPI)', () => {
    const { code, rows } = run(['--scenario=0', '--lrs=1', '--lookahead=0']);
    expect(code).toBe(0);
    expect(rows.map((r) => r.name)).toEqual([
      'lpi-stress 1x1x16 end to end (1 LR, lookahead 0 ns)',
      'lpi-stress 1x1x16 inject (1 LR, lookahead 0 ns)',
      'lpi-stress 1x1x16 run (1 LR, lookahead 0 ns)',
    ]);
  });

  it('the parent passes the knobs on to the process of each scenario', () => {
    // the first scenario's process refuses the knob, so the run stops there; without forwarding it would succeed
    const { code, stderr } = run(['--lrs=17']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/EINVAL: 17 list registers/);
    expect(stderr).toMatch(/scenario 0 failed/);
  });

  it.each([
    [['--lrs=17'], /EINVAL: 17 list registers/],
    [['--lrs=four'], /--lrs: not a number/],
    [['--lookahead=-1'], /EINVAL: lookaheadNs -1/],
  ])('%j is a usage error (exit 2, one line on stderr)', (args, msg) => {
    const { code, stderr } = run(['--scenario=0', ...args]);
    expect(code).toBe(2);
    expect(stderr).toMatch(msg);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
