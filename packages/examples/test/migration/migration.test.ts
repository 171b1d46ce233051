/**
 * Migration at any instant (the CI subset of `migrate-fuzz`): per controller, migration points inside interrupt
 * handlers, in WFI and with LPIs / rVIC FIFO entries pending, plus a few random ones. At each, the VM is saved with
 * saveVm, restored with restoreVm into a fresh VM of a fresh Hypervisor, and both run on: the restored trace and
 * counters must equal the source's from the point on, and the saved source's whole trace the never-saved run's.
 * Every controller runs at the profile's default lookahead: under causal delivery traces (in canonical order) do
 * not depend on the lookahead or on how `vm.run()` is sliced.
 */
import { KVM_REG_ELR_EL1, restoreVm, saveVm, type VmSnapshot } from '@irqflow/core';
import { VGIC_GRP, type SavedVgic } from '@irqflow/vgic';
import { buildMigrationVm, migrateAt, referenceRun } from '../../src/migration/migration-harness';
import { fuzzMigration } from '../../src/migration/migration-fuzz';

const END = 150_000;
/** Points found by `migrate-fuzz --seed 3 --end 150000`: in a handler, in WFI, with an LPI / a FIFO entry pending. */
const CASES = [
  { irqchip: 'gic-v2', times: [87999.25, 140696, 56194.75], lpi: false, fifo: false },
  // 68100.25: the save's fold loads an interrupt whose kick to vCPU 1 is still in flight (see the test below)
  { irqchip: 'gic-v3', times: [140696, 7271.25, 144555.5, 68100.25], lpi: true, fifo: false, sourceDiffAt: [68100.25] },
  { irqchip: 'gic-v4.1', times: [140696, 42644.5, 46917.25, 82668], lpi: true, fifo: false },
  { irqchip: 'rvic', times: [140696, 117910.75, 140913], lpi: false, fifo: true },
] as const;

describe.each(CASES)('migration at any instant on $irqchip', (c) => {
  it('continues identically from points in handlers, in WFI and with interrupts pending', () => {
    const r = fuzzMigration({ irqchip: c.irqchip, seed: 3, endNs: END, times: c.times, points: 2 });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(r.points);
    // the saved source runs as the never-saved one, except where the save's fold has an exit's side effect
    expect(r.details.filter((d) => !d.sourceOk).map((d) => d.t)).toEqual('sourceDiffAt' in c ? c.sourceDiffAt : []);
    expect(r.inHandler).toBeGreaterThan(0);
    expect(r.inWfi).toBeGreaterThan(0);
    if (c.lpi) expect(r.lpiPending).toBeGreaterThan(0);
    if (c.fifo) expect(r.fifoPending).toBeGreaterThan(0);
  });
});

describe('the lookahead changes nothing', () => {
  it.each(['gic-v3', 'rvic'])('%s: the same points give the same outcome in lockstep, at the default lookahead and far beyond it', (irqchip) => {
    const times = [140696, 117910.75, 68100.25, 42644.5];
    const outcome = (lookaheadNs?: number) => {
      const r = fuzzMigration({ irqchip, seed: 3, endNs: END, lookaheadNs, times, points: 0 });
      return { details: r.details, failures: r.failures, sourceDiffs: r.sourceDiffs };
    };
    const ahead = outcome();
    expect(ahead.failures).toEqual([]);
    expect(outcome(0)).toEqual(ahead);
    expect(outcome(1000)).toEqual(ahead);
  });
});

describe('regressions found by migrate-fuzz', () => {
  it('gic-v2, seed 1: an active SPI targeted at vCPU 1 is restored on vCPU 1 (ITARGETSR before ISACTIVER)', () => {
    // found by searching seed 1's points for vCPU 1 inside its handler with its device SPI (INTID 33) active
    const sc = { irqchip: 'gic-v2', seed: 1, endNs: END };
    const r = migrateAt(sc, 90395, referenceRun(sc));
    expect(r.why).toBeUndefined();
    expect(r.where[1]).toBe('handler');
    const vgic = r.snapshot.devices[0] as SavedVgic;
    const isactiver1 = vgic.regs.find(([g, a]) => g === VGIC_GRP.DIST_REGS && (a & 0xffffffffn) === 0x304n);
    expect(isactiver1?.[2]).toBe(1n << 1n); // SPI 33 active, nothing else
  });
});

describe('the save is an exit', () => {
  it('gic-v3: an interrupt queued for vCPU 1 while its kick is in flight is loaded by the fold; the restored VM follows the saved source', () => {
    const sc = { irqchip: 'gic-v3', seed: 3, endNs: END };
    const r = migrateAt(sc, 68100.25, referenceRun(sc));
    const v1 = r.snapshot.vcpus[1];
    expect(v1.inGuest).toBe(true);
    expect(v1.posted & 1).toBe(1); // REQ_KICK in flight
    expect(v1.postedAt).toBeGreaterThan(v1.clock);
    expect(r.why).toBeUndefined();
    // taken before the kick arrives, where the never-saved run still goes on to its WFI
    expect(r.sourceWhy).toMatch(/IrqTaken@.* vcpu1 .* vs Exit@.* vcpu1 a=5/);
  });
});

describe('the comparison can fail', () => {
  it('a snapshot that loses ELR_EL1 of a vCPU inside its handler does not continue identically', () => {
    const sc = { irqchip: 'gic-v3', seed: 3, endNs: END };
    const src = buildMigrationVm(sc);
    src.scheduleHost(-1);
    src.vm.run({ until: 140696 });
    const at = src.hv.trace.length;
    const good = saveVm(src.vm);
    const k = good.vcpus.findIndex((v) => v.stack.length > 0);
    expect(k).toBeGreaterThanOrEqual(0);
    // ELR_EL1 → 0 (the entry point): the handler's ERET goes back to the start, as before ONE_REG knew ELR_EL1
    const lose = (regs: VmSnapshot['vcpus'][number]['regs']) => regs.map(([id, v]) => [id, id === KVM_REG_ELR_EL1 ? 0n : v] as const);
    const bad: VmSnapshot = { ...good, vcpus: good.vcpus.map((v, i) => (i === k ? { ...v, regs: lose(v.regs) } : v)) };
    const dst = buildMigrationVm(sc);
    restoreVm(dst.vm, bad);
    dst.scheduleHost(good.time);
    src.vm.run({ until: END });
    dst.vm.run({ until: END });
    expect(dst.hv.trace.events()).not.toEqual(src.hv.trace.events().slice(at));
  });
});
