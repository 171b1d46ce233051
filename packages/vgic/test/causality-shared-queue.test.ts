/**
 * Causal visibility of the ap_list (src/vgic-visibility.ts). vCPU 0 makes an interrupt pending on vCPU 1 from
 * a trapped access — an SGI (ICC_SGI1R_EL1 on GICv3/v4, GICD_SGIR on GICv2, a direct vSGI on GICv4.1) or an
 * LPI through an ITS INT command (GITS_CWRITER) — and vCPU 1 exits for a reason of its own (a null HVC, or WFI)
 * a few ns after vCPU 0's trap began. The sender's handler produces the interrupt at the trap's start plus the
 * part of its cost paid before the handler (EXIT_ENTRY_FRACTION) plus what the handler charged first
 * (`sgiDispatch`; `itsCommand` for the one command); the receiver's first observation — the IRQ exception it
 * takes for it, or the WFI check that decides not to block — is never earlier than that instant plus
 * `ipiLatency`. Lockstep and the default lookahead give the same trace.
 */
import {
  DAIF,
  Errno,
  EXIT_ENTRY_FRACTION,
  ExitReason,
  GuestAsm,
  Hypervisor,
  restoreVm,
  saveVm,
  TraceKind,
  type GuestIrqDriver,
  type Vcpu,
  type Vm,
  type VmSnapshot,
} from '@irqflow/core';
import { GIC_BOARD, GIC_ITS_RAM, GITS, VgicPlugin } from '@irqflow/vgic';

const hv = new Hypervisor({ traceCapacity: 100_000 }).use(VgicPlugin);
const PSCI_VERSION = 0x84000000;
const LPI = 8192;

type Path = 'sgi' | 'lpi';
type Own = 'hvc' | 'wfi' | 'read' | 'readsgi';

interface Outcome {
  /** The sender's handler instant (trap start + entry fraction + dispatch charged before the queue). */
  produced: number;
  /** The start of the sender's trap. */
  trapAt: number;
  /** The receiver's first IRQ exception, -1 if none. */
  taken: number;
  /** What the receiver acknowledged first. */
  acked: number;
  /** The receiver's own exit: start and cost. */
  ownAt: number;
  ownCost: number;
  /** Whether the receiver blocked in WFI after its own exit. */
  blocked: boolean;
  /** Own exit 'read': the pending register's value (-1: not read). */
  read: number;
  /** The trace in canonical order, without the VM id. */
  trace: string;
  vm: Vm;
}

/** What the guest programs' hooks share (a snapshot test copies it into the restored VM's programs). */
interface Probe {
  arrived: number;
  /** vCPU 0's clock just before its trapping access (-1 before it). */
  before: number;
  /** The first INTID vCPU 1 acknowledged (-1: none yet). */
  acked: number;
  /** Own exit 'read': the SGI pending register vCPU 1 read (-1: not read). */
  read?: number;
}

/** vCPU 1's SGI/PPI pending register: GICR_ISPENDR0 in its redistributor's SGI frame, or the banked GICD_ISPENDR0. */
const pendingRegOf = (chip: string): number => (chip === 'gic-v2' ? GIC_BOARD.DIST + 0x200 : GIC_BOARD.REDIST + 0x20000 + 0x10000 + 0x200);

/** The VM: vCPU 0 sends, vCPU 1 exits on its own `delta` ns after vCPU 0's trap began. */
function build(chip: string, profile: string, path: Path, own: Own, delta: number, lookaheadNs: number | undefined, p: Probe): Vm {
  const vm = hv.createVm({ costProfile: profile, lookaheadNs });
  vm.createVcpu();
  vm.createVcpu();
  const drv: GuestIrqDriver = hv.irqchip(chip).setup(vm, {});
  const intid = path === 'sgi' ? drv.ipi!(0) : LPI;
  const s = new GuestAsm();
  s.label('main');
  drv.emitCpuInit(s);
  if (path === 'lpi') drv.emitMsiSetup!(s, { devid: 1, event: 0, intid: LPI, target: 1 });
  s.call(() => void p.arrived++)
    .label('bar')
    .work(30)
    .callb(() => p.arrived < 2, 'bar');
  s.work(3_000);
  if (path === 'sgi') {
    s.movi(11, 1).call((v) => void (p.before = v.clock));
    drv.emitSendIpi!(s, 11, 0);
  } else {
    // one INT command (DeviceID 1, EventID 0) in the queue, then GITS_CWRITER
    const R = GIC_ITS_RAM.BASE + GIC_ITS_RAM.CMDQ;
    s.ldra(5, GIC_BOARD.ITS + GITS.CWRITER, 8).call((v) => {
      const w = v.x(5);
      v.setX(6, R + w);
      v.setX(7, (w + 32) % 0x10000);
    });
    [0x03, 1, 0, 0, 0, 0, 0, 0].forEach((w, i) => s.movi(0, w).str(0, 6, i * 4));
    s.call((v) => void (p.before = v.clock)).stra(7, GIC_BOARD.ITS + GITS.CWRITER, 8);
  }
  s.label('idle').wfi().b('idle');
  const r = new GuestAsm();
  r.label('main');
  drv.emitCpuInit(r);
  drv.emitEnable(r, intid);
  r.daifclr(DAIF.I)
    .call(() => void p.arrived++)
    .label('bar')
    .work(30)
    .callb(() => p.arrived < 2, 'bar');
  // the receiver's own exit, `delta` ns after the sender's trap began
  r.label('wait')
    .work(1)
    .callb((v: Vcpu) => p.before < 0 || v.clock < p.before + delta, 'wait');
  if (own === 'hvc') r.movi(0, PSCI_VERSION).hvc();
  else if (own === 'read') r.ldra(12, pendingRegOf(chip)).call((v) => void (p.read = v.x(12)));
  // GICv2 GICD_SPENDSGIR0: SGI 0's byte holds the CPUs it is pending from
  else if (own === 'readsgi') r.ldra(12, GIC_BOARD.DIST + 0xf20).call((v) => void (p.read = v.x(12) & 0xff));
  else r.wfi();
  r.label('spin').work(2).b('spin');
  r.label('irq');
  drv.emitAck(r, 9);
  r.call((v) => {
    if (p.acked < 0) p.acked = v.x(9);
  });
  r.beqi(9, drv.spurious, 'out');
  drv.emitEoi(r, 9);
  r.label('out').eret();
  vm.vcpus[0].setProgram(s.build());
  vm.vcpus[1].setProgram(r.build());
  return vm;
}

function run(chip: string, profile: string, path: Path, own: Own, delta: number, lookaheadNs: number | undefined): Outcome {
  const p: Probe = { arrived: 0, before: -1, acked: -1 };
  const vm = build(chip, profile, path, own, delta, lookaheadNs, p);
  hv.trace.clear();
  hv.trace.on = true;
  try {
    vm.run({ until: 200_000 });
  } finally {
    hv.trace.on = false;
  }
  const before = p.before;
  const c = vm.costNs;
  let trapAt = -1;
  let trapCost = 0;
  let ownAt = -1;
  let ownCost = 0;
  let taken = -1;
  let blocked = false;
  for (const e of hv.trace.events()) {
    if (e.kind === TraceKind.Exit && e.vcpu === 0 && trapAt < 0 && before >= 0 && e.t >= before) {
      trapAt = e.t;
      trapCost = e.b;
    }
    const ownReason: number = own === 'hvc' ? ExitReason.Hvc : own === 'read' || own === 'readsgi' ? ExitReason.MmioKernel : ExitReason.Wfi;
    if (e.kind === TraceKind.Exit && e.vcpu === 1 && ownAt < 0 && before >= 0 && e.a === ownReason && e.t >= before) {
      ownAt = e.t;
      ownCost = e.b;
    }
    if (e.kind === TraceKind.Block && e.vcpu === 1 && ownAt >= 0 && e.t >= ownAt) blocked = true;
    if (e.kind === TraceKind.IrqTaken && e.vcpu === 1 && taken < 0) taken = e.t;
  }
  const dispatch = path === 'sgi' ? c.sgiDispatch : c.itsCommand;
  return {
    produced: trapAt + trapCost * EXIT_ENTRY_FRACTION + dispatch,
    trapAt,
    taken,
    acked: p.acked,
    ownAt,
    ownCost,
    blocked,
    read: p.read ?? -1,
    trace: JSON.stringify(hv.trace.canonicalEvents().map((e) => [e.t, e.vcpu, e.kind, e.a, e.b, e.c])),
    vm,
  };
}

/** The interrupt the receiver must acknowledge first (SGI 0 as every driver numbers IPI 0, or the LPI). */
const intidOf = (path: Path): number => (path === 'sgi' ? 0 : LPI);

const CASES: [chip: string, path: Path][] = [
  ['gic-v2', 'sgi'],
  ['gic-v3', 'sgi'],
  ['gic-v4', 'sgi'],
  ['gic-v4.1', 'sgi'],
  ['gic-v3', 'lpi'],
  ['gic-v4', 'lpi'],
  ['gic-v4.1', 'lpi'],
];
const DELTAS = [0, 2, 10, 30, 60, 100, 150, 250, 400];
const PROFILES = ['gicv3-vhe', 'seattle-vhe'];

describe.each(CASES)('%s %s to a vCPU that exits for its own reason', (chip, path) => {
  describe.each(PROFILES)('profile %s', (profile) => {
    it.each(['hvc', 'wfi'] as Own[])(
      'own exit %s: the first observation is no earlier than the producing instant plus ipiLatency; lockstep = lookahead',
      (own) => {
        for (const delta of DELTAS) {
          const [lock, ahead] = [0, undefined].map((l) => run(chip, profile, path, own, delta, l));
          for (const o of [lock, ahead]) {
            const c = o.vm.costNs;
            const label = `${chip} ${path} ${profile} ${own} +${delta} ns (lookahead ${o.vm.lookaheadNs})`;
            expect([label, o.ownAt > 0, o.acked]).toEqual([label, true, intidOf(path)]);
            const due = o.produced + c.ipiLatency;
            expect([label, o.taken >= due]).toEqual([label, true]);
            // the WFI check runs once the world switch out is paid: before the interrupt is due it cannot see it
            if (own === 'wfi' && o.ownAt + o.ownCost * EXIT_ENTRY_FRACTION < due) expect([label, o.blocked]).toEqual([label, true]);
            void o.vm.destroy();
          }
          expect([delta, ahead.trace.length > 100, ahead.trace === lock.trace]).toEqual([delta, true, true]);
        }
      },
    );
  });
});

describe.each([
  ['gic-v2', 'read'],
  ['gic-v2', 'readsgi'],
  ['gic-v3', 'read'],
  ['gic-v4.1', 'read'],
] as [string, Own][])("%s: a trapped read of the target's SGI pending state (%s)", (chip, own) => {
  it('shows the SGI pending no earlier than the producing instant plus ipiLatency, and once it is due; lockstep = lookahead', () => {
    let seenLate = false;
    for (const delta of DELTAS) {
      const [lock, ahead] = [0, undefined].map((l) => run(chip, 'gicv3-vhe', 'sgi', own, delta, l));
      for (const o of [lock, ahead]) {
        const label = `${chip} read +${delta} ns (lookahead ${o.vm.lookaheadNs})`;
        const due = o.produced + o.vm.costNs.ipiLatency;
        const seen = o.read >= 0 && (own === 'readsgi' ? o.read !== 0 : (o.read & 1) !== 0);
        expect([label, o.read >= 0]).toEqual([label, true]);
        // the register is read by the reader's handler: its trap's start plus the part paid before it
        const readAt = o.ownAt + o.ownCost * EXIT_ENTRY_FRACTION;
        if (readAt < due) expect([label, seen]).toEqual([label, false]);
        // read once its kick has arrived (the sender's send, kickSend, is part of the producing path) and before
        // the receiver took it (the kick arrived while it was in this trap)
        if (readAt >= due + o.vm.costNs.kickSend && o.taken > readAt) {
          expect([label, seen]).toEqual([label, true]);
          seenLate = true;
        }
        void o.vm.destroy();
      }
      expect([delta, ahead.trace === lock.trace]).toEqual([delta, true]);
    }
    // the test reads the register both before the SGI is due and after it (else it proves nothing)
    expect(seenLate).toBe(true);
  });
});

/**
 * A snapshot taken while the entry is still hidden from vCPU 1 (just after vCPU 0's trap; the `hidden` field of
 * the vgic's saved state) restores into a VM that takes the interrupt exactly when the never-saved one does.
 */
describe('snapshot while a queued entry is hidden', () => {
  /** vCPU 1's first IRQ exception after the save, whether it blocked, and what it acknowledged. */
  const after = (vm: Vm, p: Probe, from: number): [number, boolean, number] => {
    let taken = -1;
    let blocked = false;
    for (const e of hv.trace.events()) {
      if (e.vcpu !== 1 || e.t < from) continue;
      if (e.kind === TraceKind.Block) blocked = true;
      if (e.kind === TraceKind.IrqTaken && taken < 0) taken = e.t;
    }
    void vm;
    return [taken, blocked, p.acked];
  };
  it.each([
    ['gic-v3', 'lpi', 'hvc'],
    ['gic-v3', 'sgi', 'wfi'],
    ['gic-v2', 'sgi', 'wfi'],
  ] as [string, Path, Own][])('%s %s, own exit %s: the restored VM takes it when the never-saved one does', (chip, path, own) => {
    const delta = 30;
    // the reference: never saved
    const ref = run(chip, 'gicv3-vhe', path, own, delta, undefined);
    void ref.vm.destroy();
    const save = ref.trapAt + 1; // vCPU 0 has run its trap, vCPU 1 is just past its start
    const p: Probe = { arrived: 0, before: -1, acked: -1 };
    const src = build(chip, 'gicv3-vhe', path, own, delta, undefined, p);
    src.run({ until: save });
    const snap = saveVm(src);
    const hidden = (snap.devices as { hidden?: unknown[] }[]).find((d) => d?.hidden !== undefined)?.hidden;
    expect(hidden?.length).toBe(1);
    const outcome = (s: VmSnapshot): [number, boolean, number] => {
      const q: Probe = { ...p };
      const dst = build(chip, 'gicv3-vhe', path, own, delta, undefined, q);
      restoreVm(dst, s);
      hv.trace.clear();
      hv.trace.on = true;
      try {
        dst.run({ until: 200_000 });
      } finally {
        hv.trace.on = false;
      }
      const r = after(dst, q, save);
      void dst.destroy();
      return r;
    };
    const want: [number, boolean, number] = [ref.taken, own === 'wfi', intidOf(path)];
    expect(outcome(snap)).toEqual(want);
    // without the field the restored VM would see the entry at its own exit: the field is what makes it agree
    const bare = { ...snap, devices: snap.devices.map((d) => (d !== null && typeof d === 'object' ? { ...d, hidden: undefined } : d)) };
    expect(outcome(bare)).not.toEqual(want);
    // a malformed field is refused (EINVAL), not ignored: a vCPU index the VM does not have, a non-finite time
    for (const h of [[[7, 0, 1]], [[1, 0, Infinity]], [[1, 0]], 'x']) {
      const bad = {
        ...snap,
        devices: snap.devices.map((d) => (d !== null && typeof d === 'object' && 'hidden' in d ? { ...d, hidden: h } : d)),
      };
      const dst = build(chip, 'gicv3-vhe', path, own, delta, undefined, { ...p });
      let errno: number | undefined;
      try {
        restoreVm(dst, bad);
      } catch (e) {
        errno = (e as { errno?: number }).errno;
      }
      expect(errno).toBe(Errno.EINVAL);
      void dst.destroy();
    }
    void src.destroy();
  });
});
