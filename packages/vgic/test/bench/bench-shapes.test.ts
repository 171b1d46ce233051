/**
 * core's benchmark shapes (src/bench-shapes.ts) on the vGIC: they do the work they claim — the repetition
 * handles exactly the interrupts asked for with the backlog still pending, the ping-pong crosses both vCPUs —
 * and scalingRows reports in the row format. Nothing here asserts a speed.
 */
import 'reflect-metadata';
import { calibrateShape, Hypervisor, pendingShape, pingPongShape, scalingRows } from '@irqflow/core';
import { VgicPlugin } from '../../src';

const hv = () => new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);

jest.setTimeout(60_000);

describe('benchmark shapes', () => {
  it.each([
    ['spi', 'gic-v3', 5],
    ['lpi', 'gic-v3', 3],
    ['spi', 'gic-v4.1', 2],
  ] as const)('pending %s on %s: a repetition handles exactly the interrupts it asks for, however many are pending', (kind, chip, k) => {
    const s = pendingShape(hv(), chip, kind, k);
    expect(s.handled).toBe(0);
    expect(s.rep(7)).toBeGreaterThan(0);
    expect(s.handled).toBe(7);
    // the next repetition resumes the paused guest with the backlog as it was
    expect(s.rep(k)).toBeGreaterThan(0);
    expect(s.handled).toBe(7 + k);
    expect(s.vm.vcpus[0].stats.irqsTaken).toBeGreaterThanOrEqual(7 + k);
  });

  it.each(['spi', 'lpi'] as const)('pending %s: the backlog is raised when the shape is built, not inside a repetition', (kind) => {
    const s = pendingShape(hv(), 'gic-v3', kind, 4);
    // before any repetition the interrupts are already pending on vCPU 0 (a repetition only runs the VM)
    expect(s.vm.flow.vcpuPendingIrq(s.vm.vcpus[0])).toBe(true);
    expect(s.handled).toBe(0);
  });

  it('calibrateShape warms the shape up and sizes a repetition from a warm one (no timing asserted)', () => {
    const s = pingPongShape(hv(), 'gic-v3', 2);
    const irqs = calibrateShape(s, 1, { minMs: 0, maxMs: 0 });
    expect(Number.isInteger(irqs)).toBe(true);
    expect(irqs).toBeGreaterThanOrEqual(16);
    expect(irqs).toBeLessThanOrEqual(500_000);
    expect(s.handled).toBeGreaterThanOrEqual(64); // the warm-up ran the guest before the count was chosen
  });

  it('an SGI ping-pong uses both vCPUs and leaves the others idle', () => {
    const s = pingPongShape(hv(), 'gic-v3', 4);
    s.rep(20);
    expect(s.handled).toBeGreaterThanOrEqual(20);
    const taken = s.vm.vcpus.map((v) => v.stats.irqsTaken);
    expect(taken[0]).toBeGreaterThanOrEqual(10);
    expect(taken[1]).toBeGreaterThanOrEqual(10);
    expect(taken[2] + taken[3]).toBe(0);
  });

  it('refuses what the shape cannot be', () => {
    expect(() => pendingShape(hv(), 'gic-v3', 'spi', 993)).toThrow(RangeError);
    expect(() => pingPongShape(hv(), 'gic-v3', 1)).toThrow(RangeError);
  });

  it('scalingRows: one row per point against the reference point, lower is better', () => {
    const rows = scalingRows(hv(), 'gic-v3', { grows: 'spi', points: [2, 4] }, { repMs: 1, reps: 2, warmUp: { minMs: 0, maxMs: 0 } });
    expect(rows.map((r) => [r.name, r.unit, r.better])).toEqual([
      ['scaling gic-v3 pending SPIs 2 vs 1', 'ns/irq', 'lower'],
      ['scaling gic-v3 pending SPIs 4 vs 1', 'ns/irq', 'lower'],
    ]);
    for (const r of rows) {
      expect(r.min).toBeLessThanOrEqual(r.median);
      expect(r.median).toBeLessThanOrEqual(r.max);
      expect(r.ratio).toBeCloseTo(r.value / r.baseline, 9);
    }
  });
});
