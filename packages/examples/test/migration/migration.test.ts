/**
 * Migration at any instant (the CI subset of `migrate-fuzz`): per controller, migration points inside interrupt
 * handlers, in WFI and with LPIs / rVIC FIFO entries pending (found in the never-saved run's own trace, see
 * migration-points.ts, so they do not depend on the cost profile's exact timing), plus a few random ones. At each,
 * the VM is saved with saveVm, restored with restoreVm into a fresh VM of a fresh Hypervisor, and both run on: the
 * restored trace and counters must equal the source's from the point on, the migrated run (source to the point,
 * restored VM after it) the run that was never saved, and the saved source's whole trace the never-saved run's
 * (the save is a pure observation).
 * Every controller runs at the profile's default lookahead: under causal delivery traces (in canonical order) do
 * not depend on the lookahead or on how `vm.run()` is sliced.
 */
import { Errno, GICV3_VHE_ALTRA, isKvmError, KVM_REG_ELR_EL1, restoreVm, saveVm, type VmSnapshot } from '@irqflow/core';
import { VGIC_GRP, type SavedVgic, type SavedVgicHwstate } from '@irqflow/vgic';
import { buildMigrationVm, migrateAt, referenceRun, type MigrationResult } from '../../src/migration/migration-harness';
import { fuzzMigration } from '../../src/migration/migration-fuzz';
import { findPoints, migrationCandidates, snapshotAt } from '../../src/migration/migration-points';

const END = 150_000;
/**
 * Per controller, the points are found in the never-saved run itself (its trace's Ack, Block..Wake and MSI records
 * give the candidates, the harness's own classification of each picks them), so that they stay in a handler, in
 * WFI and with an LPI / a FIFO entry pending however the cost profile moves the timing. At every point the
 * migrated run must be the never-saved run (`migrate-fuzz --points 1000` at seeds 1 and 2: 1000/1000 on all four).
 */
const CASES = [
  { irqchip: 'gic-v2', lpi: false, fifo: false },
  { irqchip: 'gic-v3', lpi: true, fifo: false },
  { irqchip: 'gic-v4.1', lpi: true, fifo: false },
  { irqchip: 'rvic', lpi: false, fifo: true },
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
    // the migrated run is the run that was never saved, and the save left the source as it was
    expect(r.uninterruptedDiffs).toEqual([]);
    expect(r.uninterruptedOk).toBe(r.points);
    expect(r.sourceDiffs).toEqual([]);
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
  it('gic-v3, seed 2: a timer interrupt the host takes for a vCPU moves it in the runnable heap (the lowest clock runs first)', () => {
    // The timer's host handler charges the vCPU's pCPU from a host event. Before, the runnable heap kept the old
    // clock, so that vCPU ran next although another was behind it, and the kick the other sent meanwhile found it
    // in a state it reached only later; a restored VM, whose heap is built from the clocks, then ran differently.
    const sc = { irqchip: 'gic-v3', seed: 2, endNs: END };
    const m = buildMigrationVm(sc);
    m.scheduleHost(-1);
    const late: string[] = [];
    let slices = 0;
    for (const v of m.vm.vcpus) {
      const run = v.runSlice.bind(v);
      v.runSlice = () => {
        slices++;
        for (const w of m.vm.vcpus)
          if (w !== v && w.heapPos >= 0 && (w.clock < v.clock || (w.clock === v.clock && w.index < v.index)))
            late.push(`vCPU ${v.index} at ${v.clock} ran before vCPU ${w.index} at ${w.clock}`);
        return run();
      };
    }
    m.vm.run({ until: END });
    expect(slices).toBeGreaterThan(100);
    expect(m.vm.vcpus.reduce((n, v) => n + v.stats.irqsTaken, 0)).toBeGreaterThan(10);
    expect(late.slice(0, 3)).toEqual([]);
  });

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

describe('the save is a pure observation', () => {
  it('gic-v3: an interrupt queued for a vCPU in the guest while its kick is in flight is not loaded by the save; it is taken when the never-saved run takes it', () => {
    // seed 2: its host injections kick a vCPU that is in the guest; the first point just after such a kick where
    // the kick is still in flight at the save (a save that folded and refilled the list registers, as a real
    // VMM's stop does, loaded the interrupt there and the guest took it before the kick arrived)
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
    expect(v.hwstate).not.toBeNull(); // the loaded list registers travel as they are
    expect(r.why).toBeUndefined();
    expect(r.sourceWhy).toBeUndefined();
    expect(r.uninterruptedWhy).toBeUndefined();
  });

  it('a snapshot whose list registers are dropped (restored as a fresh flush would fill them) is not the uninterrupted run somewhere', () => {
    // the private section is needed: without it the restore refills the LRs from the ap_list, like the old fold
    const sc = { irqchip: 'gic-v3', seed: 2, endNs: END };
    const ref = referenceRun(sc);
    const inFlight = (s: VmSnapshot) => s.vcpus.findIndex((v) => v.inGuest && (v.posted & 1) === 1 && v.postedAt > v.clock);
    const t = migrationCandidates(ref).kick.find((x) => inFlight(snapshotAt(sc, x)) >= 0)!;
    const src = buildMigrationVm(sc);
    src.scheduleHost(-1);
    src.vm.run({ until: t });
    const at = src.hv.trace.length;
    const good = saveVm(src.vm);
    const bad: VmSnapshot = { ...good, vcpus: good.vcpus.map((v) => ({ ...v, hwstate: v.inGuest ? null : v.hwstate })) };
    const dst = buildMigrationVm(sc);
    restoreVm(dst.vm, bad);
    dst.scheduleHost(good.time);
    src.vm.run({ until: END });
    dst.vm.run({ until: END });
    // in canonical order (time, vCPU, kind, INTID), so that only a difference in what happened when counts
    const key = (e: { t: number; vcpu: number; kind: number; a: number }) => [e.t, e.vcpu, e.kind, e.a] as const;
    const sorted = (es: readonly { t: number; vcpu: number; kind: number; a: number }[]) =>
      es.map(key).sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3] - y[3]);
    expect(sorted(dst.hv.trace.events())).not.toEqual(sorted(src.hv.trace.events().slice(at)));
  });
});

describe('regressions found by migrate-fuzz (GICv4.1)', () => {
  it('gic-v4.1, seed 2: a vCPU in the guest with a direct injection still in flight comes back with its vIRQ line low', () => {
    // The miss seen at t=109364.25 with snapshot version 2: vCPU 1 in the guest, IRQs unmasked, a vSGI from vCPU
    // 0 on its way (linesAt ahead of its clock) and its vIRQ line low; the restore's entry flush re-derived the
    // line high and the restored vCPU took an IRQ where the source went on to its WFI. Version 3 carries the
    // lines and installs the list registers without a flush.
    const sc = { irqchip: 'gic-v4.1', seed: 2, endNs: END };
    const ref = referenceRun(sc);
    const fits = (s: VmSnapshot) =>
      s.vcpus.findIndex((v) => v.inGuest && Number.isFinite(v.linesAt) && v.linesAt > v.clock && !v.lines[0] && v.stack.length === 0);
    // the point of the miss itself (one of seed 2's random points); if the cost profile moves it, the precondition
    // below fails and a new point must be picked (e.g. with migrate-fuzz --irqchip gic-v4.1 --seed 2)
    const t = 109364.25;
    const r = migrateAt(sc, t, ref);
    const k = fits(r.snapshot);
    expect(k).toBeGreaterThanOrEqual(0);
    expect(r.why).toBeUndefined();
    expect(r.uninterruptedWhy).toBeUndefined();
  });
});

describe('the vgic hwstate section', () => {
  const sc = { irqchip: 'gic-v3', seed: 3, endNs: END };
  const lrsOf = (s: VmSnapshot, i: number) => (s.vcpus[i].hwstate as SavedVgicHwstate | null)?.lrs ?? [];
  const isSpi = (intid: number) => intid >= 32 && intid < 1020;

  /** The first handler point of the never-saved run whose snapshot has a vCPU `fits`; with that vCPU's index. */
  function snapshotWhere(fits: (s: VmSnapshot, i: number) => boolean): { snap: VmSnapshot; k: number } {
    const m = buildMigrationVm(sc);
    m.scheduleHost(-1);
    for (const t of migrationCandidates(referenceRun(sc)).handler) {
      m.vm.run({ until: t });
      const snap = saveVm(m.vm);
      const k = snap.vcpus.findIndex((_, i) => fits(snap, i));
      if (k >= 0) return { snap, k };
    }
    throw new Error('no handler point fits');
  }

  /** Restoring `snap` with vCPU `i`'s hwstate replaced by `bad` is refused with EINVAL and changes nothing. */
  function expectRefused(snap: VmSnapshot, i: number, bad: unknown, fresh: VmSnapshot): void {
    const dst = buildMigrationVm(sc);
    let e: unknown;
    try {
      restoreVm(dst.vm, { ...snap, vcpus: snap.vcpus.map((v, j) => (j === i ? { ...v, hwstate: bad } : v)) });
    } catch (x) {
      e = x;
    }
    expect(isKvmError(e) && e.errno).toBe(Errno.EINVAL);
    // nothing of the snapshot reached the destination: it saves exactly as a fresh VM does
    expect(saveVm(dst.vm)).toEqual(fresh);
  }

  it('carries the loaded list registers of a vCPU inside its handler, and a malformed one is refused with EINVAL before the destination changes', () => {
    const { snap, k } = snapshotWhere(
      (s, i) => s.vcpus[i].inGuest && s.vcpus[i].stack.length > 0 && lrsOf(s, i).some((lr) => lr.state !== 0),
    );
    const h = snap.vcpus[k].hwstate as SavedVgicHwstate;
    const fresh = saveVm(buildMigrationVm(sc).vm);
    for (const bad of [
      { ...h, lrs: h.lrs.map((lr, i) => (i === 0 ? { ...lr, intid: 5000 } : lr)) }, // not an interrupt
      { ...h, lrs: [...h.lrs, ...h.lrs] }, // one interrupt in two list registers
      { ...h, eoiCount: 99 },
      { ...h, lrs: h.lrs.map((lr) => ({ ...lr, state: 7 })) },
    ])
      expectRefused(snap, k, bad, fresh);
  });

  it('an SPI the VM lacks, or one SPI in the list registers of two vCPUs, is refused before the destination changes', () => {
    const { snap, k } = snapshotWhere((s, i) => s.vcpus[i].inGuest && lrsOf(s, i).some((lr) => isSpi(lr.intid)));
    const h = snap.vcpus[k].hwstate as SavedVgicHwstate;
    const spi = h.lrs.find((lr) => isSpi(lr.intid))!;
    // another vCPU in the guest at that point claims the same SPI
    const other = snap.vcpus.findIndex((v, i) => i !== k && v.inGuest);
    expect(other).toBeGreaterThanOrEqual(0);
    const o = snap.vcpus[other].hwstate as SavedVgicHwstate;
    const fresh = saveVm(buildMigrationVm(sc).vm);
    expectRefused(snap, k, { ...h, lrs: h.lrs.map((lr, i) => (i === 0 ? { ...lr, intid: 1000 } : lr)) }, fresh);
    expectRefused(snap, other, { ...o, lrs: [{ ...spi }] }, fresh);
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
