/** core.bench (src/bench/core.bench.ts) as built, `--quick --json`: its two rows in core's row format. No speeds. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(120_000);

it('core.bench --quick --json: guest ops and interrupts, each beside its hand-written loop', () => {
  const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'dist', 'bench', 'core.bench.js'), '--quick', '--json'], {
    encoding: 'utf8',
    timeout: 110_000,
  });
  expect(r.status).toBe(0);
  const rows = (JSON.parse(r.stdout) as { benchmarks: Record<string, number | string>[] }).benchmarks;
  expect(rows.map((x) => [x.name, x.unit, x.better])).toEqual([
    ['guest ops through the run loop', 'ops/s', 'higher'],
    ['interrupts inject→vector→ack→EOI', 'irq/s', 'higher'],
  ]);
  for (const x of rows) {
    expect(x.value).toBe(x.median);
    expect(x.min as number).toBeLessThanOrEqual(x.max as number);
    expect(x.ratio).toBeCloseTo((x.value as number) / (x.baseline as number), 9);
  }
});
