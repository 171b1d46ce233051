/**
 * rvic.bench (src/bench/rvic.bench.ts) as built, `--quick --json`: the simulated table, the wall-clock rows
 * against core's minimal loop and the scaling rows against their reference points, in core's row format.
 * Nothing here asserts a speed.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(180_000);

it('rvic.bench --quick --json: wall-clock and scaling rows, simulated results beside', () => {
  const r = spawnSync(
    process.execPath,
    [path.resolve(__dirname, '..', '..', 'dist', 'bench', 'rvic.bench.js'), '--quick', '--json', '--n', '100'],
    {
      encoding: 'utf8',
      timeout: 170_000,
    },
  );
  expect(r.status).toBe(0);
  const doc = JSON.parse(r.stdout) as { benchmarks: Record<string, number | string>[]; simulated: { interrupts: number }[] };
  expect(doc.benchmarks.map((x) => [x.name, x.unit, x.better])).toEqual([
    ['rvic ipi ping-pong (wall)', 'irq/s', 'higher'],
    ['rvic device msi (wall)', 'irq/s', 'higher'],
    ['scaling rvic pending SPIs 16 vs 1', 'ns/irq', 'lower'],
    ['scaling rvic vCPUs (IPI ping-pong) 8 vs 2', 'ns/irq', 'lower'],
  ]);
  for (const x of doc.benchmarks) {
    expect(x.value).toBe(x.median);
    expect(x.min as number).toBeLessThanOrEqual(x.max as number);
    expect(x.ratio).toBeCloseTo((x.value as number) / (x.baseline as number), 9);
  }
  expect(doc.simulated.length).toBeGreaterThan(0);
  expect(doc.simulated.every((s) => s.interrupts > 0)).toBe(true);
});
