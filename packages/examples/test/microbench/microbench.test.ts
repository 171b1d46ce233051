/** irqflow microbench: the kvm-unit-tests micro-bench set predicts the published composites from primitives. */
import { BUILTIN_COST_PROFILES, EXIT_ENTRY_FRACTION } from '@irqflow/core';
import { createHypervisor } from '../../src/hypervisor-factory';
import { compareWithPublished, PUBLISHED_COMPOSITES } from '../../src/microbench/calibration';
import { runMicrobench } from '../../src/microbench/microbench';

const { hv } = createHypervisor({ traceCapacity: 1 });

describe('microbench', () => {
  it('predicts every §6.1 published composite within ±25% with one set of structural rules', () => {
    const rows = runMicrobench(hv, {
      irqchips: [...new Set(PUBLISHED_COMPOSITES.map((p) => p.irqchip))],
      profiles: [...new Set(PUBLISHED_COMPOSITES.map((p) => p.profile))],
      tests: [...new Set(PUBLISHED_COMPOSITES.map((p) => p.test))],
    });
    const checks = compareWithPublished(rows);
    expect(checks).toHaveLength(5);
    for (const c of checks) {
      expect({ ...c, ok: Math.abs(c.error) <= 0.25 }).toMatchObject({ ok: true });
    }
  });

  it('gives the same figures and breakdowns under lockstep as under the default lookahead (causal delivery)', () => {
    const opts = {
      irqchips: ['gic-v3', 'gic-v2', 'gic-v4.1', 'rvic'],
      profiles: ['gicv3-vhe', 'seattle-vhe'],
      tests: ['ipi', 'ipi_wfi', 'ipi_hw', 'lpi', 'timer_10ms'] as const,
    };
    const lockstep = runMicrobench(hv, { ...opts, tests: [...opts.tests], lookaheadNs: 0 });
    const ahead = runMicrobench(hv, { ...opts, tests: [...opts.tests] });
    expect(lockstep.filter((r) => r.status === 'ok').length).toBeGreaterThanOrEqual(20);
    expect(ahead).toEqual(lockstep);
  });

  it('measures the primitives back exactly (the counter reads add only their own cost)', () => {
    const rows = runMicrobench(hv, {
      irqchips: ['gic-v3'],
      profiles: ['gicv3-vhe', 'phytium-s2500'],
      tests: ['hvc', 'mmio_read_vgic', 'mmio_read_user', 'eoi'],
    });
    for (const r of rows) {
      const ns = BUILTIN_COST_PROFILES.find((p) => p.name === r.profile)!.ns;
      const prim = { hvc: ns.hvc, mmio_read_vgic: ns.mmioKernel, mmio_read_user: ns.mmioUser, eoi: ns.cpuifAccess }[r.test as 'hvc'];
      expect(r.status).toBe('ok');
      expect(r.ns).toBeCloseTo(prim + ns.timerAccess, 0);
    }
  });

  it('an IPI to a target blocked in WFI takes longer than to a spinning one, on every controller under every profile', () => {
    // wfiWake and vpeResidency are derived by their rules only (no published composite isolates them): the one
    // thing checked against real machines is the sign, a blocked target is woken later than a spinning one is
    // interrupted (on gic-v4.1 the spinning target's IPI is the direct vSGI, ipi_hw)
    const rows = runMicrobench(hv, { tests: ['ipi', 'ipi_hw', 'ipi_wfi'], iterations: 8 });
    const waits = rows.filter((x) => x.test === 'ipi_wfi');
    expect(waits.map((w) => w.status)).toEqual(waits.map(() => 'ok'));
    expect(waits).toHaveLength(hv.irqchipDescriptors.length * hv.costProfiles.length);
    for (const w of waits) {
      const r = rows.find((x) => x.test !== 'ipi_wfi' && x.status === 'ok' && x.irqchip === w.irqchip && x.profile === w.profile)!;
      expect(r).toBeDefined();
      expect({ chip: w.irqchip, profile: w.profile, slower: w.ns > r.ns }).toEqual({ chip: w.irqchip, profile: w.profile, slower: true });
      expect(w.costBreakdown.wfiWake).toBeCloseTo(hv.costProfile(w.profile).ns.wfiWake, 6);
    }
  });

  it('breaks every measured path down into components that add up to its latency, none counted off the path', () => {
    const rows = runMicrobench(hv, { tests: ['ipi', 'ipi_wfi', 'ipi_hw', 'lpi', 'timer_10ms', 'hvc'], iterations: 8 });
    const ok = rows.filter((r) => r.status === 'ok');
    expect(ok.length).toBeGreaterThanOrEqual(60);
    for (const r of ok) {
      const ns = hv.costProfile(r.profile).ns;
      const b = r.costBreakdown;
      const sum = Object.values(b).reduce((x, y) => x + y, 0);
      const row = `${r.test} ${r.irqchip} ${r.profile}`;
      expect({ row, off: Math.abs(sum - r.ns) < 1e-6 }).toEqual({ row, off: true });
      // the rest is plain guest work: a few instructions (the counter ticks whole ns, so it may read up to 1 ns short)
      expect(b.guest ?? 0).toBeGreaterThanOrEqual(-1);
      expect(b.guest ?? 0).toBeLessThan(40 * ns.cycle);
    }
    // an IPI to a spinning target: only the half of the sender's trap before its handler sends is on the path (its way
    // back into the guest overlaps the delivery), the delivery latency once, the target's IRQ exit in full
    for (const r of ok.filter((x) => x.test === 'ipi' && x.irqchip === 'gic-v3')) {
      const ns = hv.costProfile(r.profile).ns;
      expect(r.costBreakdown.sysregTrap).toBeCloseTo(ns.sysregTrap * EXIT_ENTRY_FRACTION, 6);
      expect(r.costBreakdown.ipiLatency).toBeCloseTo(ns.ipiLatency, 6);
      expect(r.costBreakdown.irqExit).toBeCloseTo(ns.irqExit, 6);
    }
  });

  it("attributes an IPI's time to named components, including the structural ones", () => {
    const [r] = runMicrobench(hv, { irqchips: ['gic-v3'], profiles: ['phytium-s2500'], tests: ['ipi'] });
    const b = r.costBreakdown;
    for (const k of ['sysregTrap', 'sgiDispatch', 'ipiLatency', 'irqExit', 'hostIrq', 'cacheLineTransfer', 'cpuifAccess'])
      expect(b[k]).toBeGreaterThan(0);
    const lpi = runMicrobench(hv, { irqchips: ['gic-v3'], profiles: ['phytium-s2500'], tests: ['lpi', 'timer_10ms'] });
    expect(lpi[0].costBreakdown.itsCommand).toBeCloseTo(hv.costProfile('phytium-s2500').ns.itsCommand, 6);
    expect(lpi[1].costBreakdown.timerIrq).toBeCloseTo(hv.costProfile('phytium-s2500').ns.timerIrq, 6);
  });

  it('runs every test on every controller that can, under every profile', () => {
    const rows = runMicrobench(hv);
    expect(rows.filter((r) => r.status === 'error')).toEqual([]);
    const ok = (test: string, chip: string): boolean => rows.some((r) => r.test === test && r.irqchip === chip && r.status === 'ok');
    expect(ok('ipi_hw', 'gic-v4.1')).toBe(true);
    expect(ok('lpi', 'gic-v3')).toBe(true);
    expect(ok('mmio_read_vgic', 'rvic')).toBe(true);
    expect(ok('timer_10ms', 'rvic')).toBe(true);
  });
});
