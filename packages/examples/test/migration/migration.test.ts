/**
 * Migration at any instant (the CI subset of `migrate-fuzz`): per controller, migration points inside interrupt
 * handlers, in WFI and with LPIs / rVIC FIFO entries pending (found in the never-saved run's own trace, see
 * migration-points.ts, so they do not depend on the cost profile's exact timing), plus a few random ones. At each,
 * the VM is saved with saveVm, restored with restoreVm into a fresh VM of a fresh Hypervisor, and both run on: the
 * restored trace and counters must equal the source's from the point on, and on the rVIC the saved source's
 * whole trace the never-saved run's.
 * Every controller runs at the profile's default lookahead: under causal delivery traces (in canonical order) do
 * not depend on the lookahead or on how `vm.run()` is sliced.
 */
import { GICV3_VHE_ALTRA, KVM_REG_ELR_EL1, restoreVm, saveVm, type VmSnapshot } from '@irqflow/core';
import { VGIC_GRP, type SavedVgic } from '@irqflow/vgic';
import { buildMigrationVm, migrateAt, referenceRun, type MigrationResult } from '../../src/migration/migration-harness';
import { fuzzMigration } from '../../src/migration/migration-fuzz';
import { findPoints, migrationCandidates, snapshotAt } from '../../src/migration/migration-points';

const END = 150_000;
/**
 * Per controller, the points are found in the never-saved run itself (its trace's Ack, Block..Wake and MSI records
 * give the candidates, the harness's own classification of each picks them), so that they stay in a handler, in
 * WFI and with an LPI / a FIFO entry pending however the cost profile moves the timing. `sourceExact`: the
 * controller's saved source runs as the never-saved one at every point (the rVIC: 300/300 with `migrate-fuzz
 * --points 300` at seeds 1 and 3). On the vgics the fold's sync side effects (migration guide, "Known limits")
 * show at some points (gic-v2 3/300 at seed 3, gic-v3 33/300), where the restored VM still follows its source.
 */
const CASES = [
  { irqchip: 'gic-v2', lpi: false, fifo: false, sourceExact: false },
  { irqchip: 'gic-v3', lpi: true, fifo: false, sourceExact: false },
  { irqchip: 'gic-v4.1', lpi: true, fifo: false, sourceExact: false },
  { irqchip: 'rvic', lpi: false, fifo: true, sourceExact: true },
] as const;

/** The first point in a handler, the first in WFI and (when asked) the first with an LPI / a FIFO entry pending. */
function pointsOf(c: (typeof CASES)[number]): number[] {
  const sc = { irqchip: c.irqchip, seed: 3, endNs: END };
  const ref = referenceRun(sc);
  const cand = migrationCandidates(ref);
  const first = (times: readonly number[], fits: (r: MigrationResult) => boolean): number => {
    const [p] = findPoints(sc, ref, times, fits, 1);
    if (p === undefined) throw new Error(`${c.irqchip}: no candidate point fits`);
    return p.t;
  };
  const times = [first(cand.handler, (r) => r.where.includes('handler')), first(cand.wfi, (r) => r.where.includes('wfi'))];
  const all = [...cand.pending, ...cand.handler, ...cand.wfi];
  if (c.lpi) times.push(first(all, (r) => r.pending.lpi));
  if (c.fifo) times.push(first(all, (r) => r.pending.fifo));
  return times;
}

describe.each(CASES)('migration at any instant on $irqchip', (c) => {
  it('continues identically from points in handlers, in WFI and with interrupts pending', () => {
    const r = fuzzMigration({ irqchip: c.irqchip, seed: 3, endNs: END, times: pointsOf(c), points: 2 });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(r.points);
    // the saved source runs as the never-saved one, except where the save's fold has an exit's side effect
    if (c.sourceExact) expect(r.details.filter((d) => !d.sourceOk).map((d) => d.t)).toEqual([]);
    expect(r.inHandler).toBeGreaterThan(0);
    expect(r.inWfi).toBeGreaterThan(0);
    if (c.lpi) expect(r.lpiPending).toBeGreaterThan(0);
    if (c.fifo) expect(r.fifoPending).toBeGreaterThan(0);
  });
});

describe('the lookahead changes nothing', () => {
  it.each(['gic-v3', 'rvic'])(
    '%s: the same points give the same outcome in lockstep, at half and at the default lookahead (a larger one is refused)',
    (irqchip) => {
      const times = [140696, 117910.75, 68100.25, 42644.5];
      const outcome = (lookaheadNs?: number) => {
        const r = fuzzMigration({ irqchip, seed: 3, endNs: END, lookaheadNs, times, points: 0 });
        return { details: r.details, failures: r.failures, sourceDiffs: r.sourceDiffs };
      };
      const ahead = outcome();
      expect(ahead.failures).toEqual([]);
      expect(outcome(0)).toEqual(ahead);
      expect(outcome(GICV3_VHE_ALTRA.ns.ipiLatency / 2)).toEqual(ahead);
      // above the profile's ipiLatency results could differ from lockstep: createVm refuses it (EINVAL)
      expect(() => outcome(1000)).toThrow(/EINVAL/);
    },
  );
});

describe('regressions found by migrate-fuzz', () => {
  it('gic-v2, seed 1: an active SPI targeted at vCPU 1 is restored on vCPU 1 (ITARGETSR before ISACTIVER)', () => {
    // a point of seed 1 with vCPU 1 inside its handler and its device SPI (INTID 33) active: just after it acked it
    const sc = { irqchip: 'gic-v2', seed: 1, endNs: END };
    const ref = referenceRun(sc);
    const isactiver1 = (r: MigrationResult) =>
      (r.snapshot.devices[0] as SavedVgic).regs.find(([g, a]) => g === VGIC_GRP.DIST_REGS && (a & 0xffffffffn) === 0x304n)?.[2];
    const [p] = findPoints(
      sc,
      ref,
      migrationCandidates(ref).acked(1, 33),
      (r) => r.where[1] === 'handler' && isactiver1(r) === 1n << 1n,
      1,
    );
    expect(p).toBeDefined();
    const r = migrateAt(sc, p.t, ref);
    expect(r.why).toBeUndefined();
    expect(r.where[1]).toBe('handler');
    expect(isactiver1(r)).toBe(1n << 1n); // SPI 33 active, nothing else
  });
});

describe('the save is an exit', () => {
  it('gic-v3: an interrupt queued for a vCPU in the guest while its kick is in flight is loaded by the fold; the restored VM follows the saved source', () => {
    // seed 2: its host injections kick a vCPU that is in the guest; the first point just after such a kick where
    // the kick is still in flight at the save
    const sc = { irqchip: 'gic-v3', seed: 2, endNs: END };
    const ref = referenceRun(sc);
    const inFlight = (s: VmSnapshot) => s.vcpus.findIndex((v) => v.inGuest && (v.posted & 1) === 1 && v.postedAt > v.clock);
    const t = migrationCandidates(ref).kick.find((x) => inFlight(snapshotAt(sc, x)) >= 0);
    expect(t).toBeDefined();
    const r = migrateAt(sc, t!, ref);
    const k = inFlight(r.snapshot);
    expect(k).toBeGreaterThanOrEqual(0);
    const v = r.snapshot.vcpus[k];
    expect(v.inGuest).toBe(true);
    expect(v.posted & 1).toBe(1); // REQ_KICK in flight
    expect(v.postedAt).toBeGreaterThan(v.clock);
    expect(r.why).toBeUndefined();
    // the saved source has the interrupt in a list register (or takes it) before the kick arrives, where the
    // never-saved run still exits on that vCPU first
    expect(r.sourceWhy).toMatch(new RegExp(`differs: (LrFold|IrqTaken)@\\S+ vcpu${k} .* vs Exit@\\S+ vcpu${k} `));
  });
});

describe('the comparison can fail', () => {
  it('a snapshot that loses ELR_EL1 of a vCPU inside its handler does not continue identically', () => {
    const sc = { irqchip: 'gic-v3', seed: 3, endNs: END };
    // the first candidate point (just after an Ack of the never-saved run) where a vCPU is inside its handler
    for (const t of migrationCandidates(referenceRun(sc)).handler) {
      const src = buildMigrationVm(sc);
      src.scheduleHost(-1);
      src.vm.run({ until: t });
      const at = src.hv.trace.length;
      const good = saveVm(src.vm);
      const k = good.vcpus.findIndex((v) => v.stack.length > 0);
      if (k < 0) continue;
      // ELR_EL1 → 0 (the entry point): the handler's ERET goes back to the start, as before ONE_REG knew ELR_EL1
      const lose = (regs: VmSnapshot['vcpus'][number]['regs']) => regs.map(([id, v]) => [id, id === KVM_REG_ELR_EL1 ? 0n : v] as const);
      const bad: VmSnapshot = { ...good, vcpus: good.vcpus.map((v, i) => (i === k ? { ...v, regs: lose(v.regs) } : v)) };
      const dst = buildMigrationVm(sc);
      restoreVm(dst.vm, bad);
      dst.scheduleHost(good.time);
      src.vm.run({ until: END });
      dst.vm.run({ until: END });
      expect(dst.hv.trace.events()).not.toEqual(src.hv.trace.events().slice(at));
      return;
    }
    throw new Error('no candidate point has a vCPU inside its handler');
  });
});
