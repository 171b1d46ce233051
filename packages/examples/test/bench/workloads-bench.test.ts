/**
 * workloads.bench (src/bench/workloads.bench.ts) as built, `--quick --json --filter`: one controller's rows in
 * core's row format against the minimal loop (not against another controller). Nothing here asserts a speed.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(180_000);

const bench = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'workloads.bench.js');

it.each([['/pic'], ['virtio-msi/gic-v3']])('--filter %s runs only the matching controller and rows', (filter) => {
  const r = spawnSync(process.execPath, [bench, '--quick', '--json', '--filter', filter], { encoding: 'utf8', timeout: 170_000 });
  expect(r.status).toBe(0);
  const rows = (JSON.parse(r.stdout) as { benchmarks: Record<string, number | string>[] }).benchmarks;
  const expected = filter === '/pic' ? ['model/ipi-pingpong/pic', 'model/virtio-msi/pic'] : ['model/virtio-msi/gic-v3'];
  expect(rows.map((x) => x.name)).toEqual(expected);
  for (const x of rows) {
    expect([x.unit, x.better]).toEqual(['irq/s', 'higher']);
    expect(x.value).toBe(x.median);
    expect(x.ratio).toBeCloseTo((x.value as number) / (x.baseline as number), 9);
    // against the minimal loop, not the fastest controller: no row is the 1.0 reference
    expect(x.ratio).not.toBe(1);
  }
});
