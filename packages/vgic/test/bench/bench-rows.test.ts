/**
 * The vgic benchmark scripts (src/bench/*.bench.ts), spawned as built (`npm test` builds first) with `--quick`:
 * every row is in core's format (name, value, unit, baseline, ratio, better, min/median/max), the rows are the
 * ones documented, and the options work. Nothing here asserts a speed. The QEMU peer is checked for its skip
 * path always, and for its rows only where QEMU and the aarch64 binutils are installed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const dist = path.resolve(__dirname, '..', '..', 'dist', 'bench');

interface Row {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  better: string;
  min: number;
  median: number;
  max: number;
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { code: number; doc: Record<string, unknown> & { benchmarks: Row[] }; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(dist, file), '--json', ...args], { encoding: 'utf8', timeout: 180_000, env });
  if (r.status !== 0) throw new Error(`${file} exit ${r.status ?? r.signal}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1); // one JSON document and nothing else
  return { code: r.status, doc: JSON.parse(lines[0]) as Record<string, unknown> & { benchmarks: Row[] }, stderr: r.stderr };
}

function expectRows(rows: Row[]): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(Object.keys(r).sort()).toEqual(['baseline', 'better', 'max', 'median', 'min', 'name', 'ratio', 'unit', 'value']);
    expect(['higher', 'lower']).toContain(r.better);
    expect(r.value).toBe(r.median);
    expect(r.min).toBeLessThanOrEqual(r.median);
    expect(r.median).toBeLessThanOrEqual(r.max);
    expect(r.baseline).toBeGreaterThan(0);
    if (r.baseline > 0 && r.unit !== 'exits') expect(r.ratio).toBeCloseTo(r.value / r.baseline, 6);
  }
}

jest.setTimeout(240_000);

describe('vgic benchmark rows', () => {
  it('vgic.bench: the three interrupt rows against the minimal loop (--n 500 interrupts per repetition)', () => {
    const { doc } = run('vgic.bench.js', ['--quick', '--n', '500']);
    expectRows(doc.benchmarks);
    expect(doc.benchmarks.map((r) => [r.name, r.unit, r.better])).toEqual([
      ['GICv3 edge SPI inject→vector→ack→EOI', 'irq/s', 'higher'],
      ['GICv2 edge SPI inject→vector→ack→EOI', 'irq/s', 'higher'],
      ['GICv3 SGI ping-pong (2 vCPUs)', 'irq/s', 'higher'],
    ]);
  });

  it('vgic.bench --filter keeps only the matching rows', () => {
    const { doc } = run('vgic.bench.js', ['--quick', '--n', '200', '--filter', 'GICv2']);
    expect(doc.benchmarks.map((r) => r.name)).toEqual(['GICv2 edge SPI inject→vector→ack→EOI']);
  });

  it('scaling.bench: each scenario is one irqchip × family, reported against its reference point', () => {
    const names = [0, 1, 2, 3, 4, 5, 6].map((i) => run('scaling.bench.js', ['--quick', `--scenario=${i}`]).doc.benchmarks);
    for (const rows of names) expectRows(rows);
    expect(names.flat().map((r) => [r.name, r.unit, r.better])).toEqual([
      ['scaling gic-v3 pending SPIs 16 vs 1', 'ns/irq', 'lower'],
      ['scaling gic-v3 pending LPIs 256 vs 1', 'ns/irq', 'lower'],
      ['scaling gic-v3 vCPUs (IPI ping-pong) 8 vs 2', 'ns/irq', 'lower'],
      ['scaling gic-v4.1 pending SPIs 16 vs 1', 'ns/irq', 'lower'],
      ['scaling gic-v4.1 pending LPIs 256 vs 1', 'ns/irq', 'lower'],
      ['scaling gic-v4.1 vCPUs (IPI ping-pong) 8 vs 2', 'ns/irq', 'lower'],
      ['scaling gic-v4.1 pending vLPIs 256 vs 1', 'ns/irq', 'lower'],
    ]);
  });

  it('v4.bench: simulated rows per profile, then the wall-clock rows', () => {
    const { doc } = run('v4.bench.js', ['--quick']);
    expectRows(doc.benchmarks);
    const wall = doc.benchmarks.filter((r) => r.name.includes(' wall'));
    // every interrupt-rate row is against the minimal loop; the GICv4-vs-GICv3 row is an extra, named comparison
    expect(wall.map((r) => [r.name, r.unit, r.better])).toEqual([
      ['passthrough idle gicv3-vhe wall gic-v3', 'irq/s', 'higher'],
      ['passthrough idle gicv3-vhe wall gic-v4', 'irq/s', 'higher'],
      ['comparison: passthrough idle gicv3-vhe wall ns/irq, gic-v4 vs gic-v3', 'ns/irq', 'lower'],
    ]);
    expect(doc.benchmarks.filter((r) => r.unit === 'exits' || r.unit === 'ns').every((r) => r.better === 'lower')).toBe(true);
  });

  it('its.bench: lpi-stress rows carry the row format, the headline against the minimal loop', () => {
    const { doc } = run('its.bench.js', ['--quick', '--scenario=0']);
    expectRows(doc.benchmarks);
    expect(doc.benchmarks.map((r) => r.better)).toEqual(['higher', 'lower', 'lower']);
  });

  it('its.bench save/restore: repetitions (min/median/max) against the minimal table save/restore, not the model', () => {
    const { doc } = run('its.bench.js', ['--quick', '--scenario=2']);
    expectRows(doc.benchmarks);
    expect(doc.benchmarks.map((r) => [r.name, r.unit, r.better])).toEqual([
      ['save 4096 devices x 32 events', 's', 'lower'],
      ['restore 4096 devices x 32 events', 's', 'lower'],
      ['save + restore 4096 devices x 32 events', 's', 'lower'],
    ]);
    // the baseline of save + restore is the sum of the two minimal halves' repetitions, not a model figure
    for (const r of doc.benchmarks) expect(r.baseline).not.toBe(r.value);
  });

  it('its-save.bench: each layout against the minimal table save/restore, then the aliased-vs-distinct comparison', () => {
    const { doc } = run('its-save.bench.js', ['--quick', '--devices=64', '--reps=2']);
    expectRows(doc.benchmarks);
    const tag = '64 devices x 2^12 events (4 mapped)';
    expect(doc.benchmarks.map((r) => r.name)).toEqual([
      `its save, ${tag}, 1 shared ITT(s)`,
      `its restore, ${tag}, 1 shared ITT(s)`,
      `its save, ${tag}, distinct ITTs`,
      `its restore, ${tag}, distinct ITTs`,
      `its save + restore, ${tag}: 1 shared ITT(s) vs distinct (comparison)`,
    ]);
    // no layout row is its own baseline (each is against the minimal table save/restore)
    for (const r of doc.benchmarks.slice(0, 4)) expect(r.ratio).not.toBe(1);
    const [, , ds, dr, cmp] = doc.benchmarks;
    expect(ds.baseline).not.toBe(ds.value);
    expect(dr.baseline).not.toBe(dr.value);
    expect(cmp.better).toBe('lower');
  });

  it('its-heap.bench: one row per run of probes, min/median/max over them, against the 64 B target', () => {
    const { doc } = run('its-heap.bench.js', ['--devices=64', '--events=4', '--reps=2']);
    expectRows(doc.benchmarks);
    expect(doc.benchmarks.map((r) => [r.name, r.unit, r.better, r.baseline])).toEqual([
      ['its heap per mapped event, 64 devices x 4 events', 'B/event', 'lower', 64],
    ]);
  });

  it('qemu-peer.bench without QEMU or the cross assembler: says how to install them, no rows, exit 0', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-tools-'));
    const { doc, stderr } = run('qemu-peer.bench.js', ['--quick'], { ...process.env, PATH: empty });
    expect(doc.benchmarks).toEqual([]);
    expect(String(doc.skipped)).toMatch(
      /qemu-system-aarch64 is not installed; install with: apt-get install -y qemu-system-arm binutils-aarch64-linux-gnu/,
    );
    expect(stderr).toMatch(/apt-get install -y qemu-system-arm binutils-aarch64-linux-gnu/);
  });

  const haveQemu = ['qemu-system-aarch64', 'aarch64-linux-gnu-as', 'aarch64-linux-gnu-ld'].every((t) =>
    (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, t))),
  );
  (haveQemu ? it : it.skip)('qemu-peer.bench with QEMU: irqflow against QEMU for both shapes, QEMU figures beside', () => {
    const { doc } = run('qemu-peer.bench.js', ['--quick']);
    expectRows(doc.benchmarks);
    expect(doc.benchmarks.map((r) => r.name)).toEqual([
      'qemu peer: SGI ping-pong, 2 vCPUs, vs QEMU TCG single-threaded',
      'qemu peer: SGI ping-pong, 2 vCPUs, vs QEMU MTTCG',
      'qemu peer: LPI through the ITS, 1 vCPU, vs QEMU TCG',
    ]);
    const q = doc.qemu as { name: string; median: number; interrupts: number }[];
    expect(q.map((x) => x.name)).toEqual(doc.benchmarks.map((r) => r.name));
    for (const [i, x] of q.entries()) {
      expect(x.interrupts).toBeGreaterThanOrEqual(2000);
      expect(doc.benchmarks[i].baseline).toBe(x.median);
    }
    expect(String(doc.qemuVersion)).toMatch(/QEMU emulator version/);
  });
});
