/**
 * Causal visibility of the rVIC delivery list (src/rvic-visibility.ts). vCPU 0 SIGNALs IPI 0 to vCPU 1 (a
 * hypercall: its handler makes the interrupt pending at the trap's start plus EXIT_ENTRY_FRACTION of `hvc` plus
 * `sgiDispatch`), and vCPU 1 exits for a reason of its own a few ns after vCPU 0's trap began: a null HVC, WFI, or
 * an ACKNOWLEDGE it polls with interrupts masked. Its first observation — the IRQ exception, the ACKNOWLEDGE that
 * returns the IPI, the WFI check that decides not to block — is never earlier than the producing instant plus
 * `ipiLatency`; lockstep and the default lookahead give the same trace.
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
  type Vcpu,
  type Vm,
  type VmSnapshot,
} from '@irqflow/core';
import { RvicPlugin } from '@irqflow/rvic';

const hv = new Hypervisor({ traceCapacity: 100_000 }).use(RvicPlugin);
const PSCI_VERSION = 0x84000000;
const PSCI_SYSTEM_OFF = 0x84000008;

type Own = 'hvc' | 'wfi' | 'ack';

interface Outcome {
  produced: number;
  /** The start of the sender's SIGNAL trap. */
  trapAt: number;
  /** First IRQ exception of vCPU 1 (-1: none). */
  taken: number;
  /** Handler instant of vCPU 1's first ACKNOWLEDGE that returned an interrupt, and what it returned. */
  ackAt: number;
  acked: number;
  /** vCPU 1's own exit (start, cost) and whether it blocked after it. */
  ownAt: number;
  ownCost: number;
  blocked: boolean;
  trace: string;
  vm: Vm;
}

/** What the guest programs' hooks share (a snapshot test copies it into the restored VM's programs). */
interface Probe {
  arrived: number;
  before: number;
  done: boolean;
}

function build(profile: string, own: Own, delta: number, lookaheadNs: number | undefined, p: Probe): Vm {
  const vm = hv.createVm({ costProfile: profile, lookaheadNs });
  vm.createVcpu();
  vm.createVcpu();
  const drv = hv.irqchip('rvic').setup(vm, {});
  const ipi = drv.ipi!(0);
  const s = new GuestAsm();
  s.label('main');
  drv.emitCpuInit(s);
  s.call(() => void p.arrived++)
    .label('bar')
    .work(30)
    .callb(() => p.arrived < 2, 'bar');
  s.work(3_000)
    .movi(11, 1)
    .call((v) => void (p.before = v.clock));
  drv.emitSendIpi!(s, 11, 0);
  s.label('idle').wfi().b('idle');
  const r = new GuestAsm();
  r.label('main');
  drv.emitCpuInit(r);
  drv.emitEnable(r, ipi);
  if (own !== 'ack') r.daifclr(DAIF.I);
  r.call(() => void p.arrived++)
    .label('bar')
    .work(30)
    .callb(() => p.arrived < 2, 'bar');
  r.label('wait')
    .work(1)
    .callb((v: Vcpu) => p.before < 0 || v.clock < p.before + delta, 'wait');
  if (own === 'hvc') r.movi(0, PSCI_VERSION).hvc();
  else if (own === 'wfi') r.wfi();
  else {
    r.label('poll');
    drv.emitAck(r, 9);
    r.beqi(9, drv.spurious, 'poll');
    r.call(() => void (p.done = true));
    drv.emitEoi(r, 9);
  }
  // once it has taken the IPI: PSCI SYSTEM_OFF
  r.label('spin')
    .work(20)
    .callb(() => !p.done, 'spin')
    .movi(0, PSCI_SYSTEM_OFF)
    .hvc();
  r.label('irq');
  drv.emitAck(r, 9);
  r.beqi(9, drv.spurious, 'out');
  r.call(() => void (p.done = true));
  drv.emitEoi(r, 9);
  r.label('out').eret();
  vm.vcpus[0].setProgram(s.build());
  vm.vcpus[1].setProgram(r.build());
  return vm;
}

function run(profile: string, own: Own, delta: number, lookaheadNs: number | undefined): Outcome {
  const p: Probe = { arrived: 0, before: -1, done: false };
  const vm = build(profile, own, delta, lookaheadNs, p);
  hv.trace.clear();
  hv.trace.on = true;
  try {
    vm.run({ until: 5_000_000 });
  } finally {
    hv.trace.on = false;
  }
  const before = p.before;
  let trapAt = -1;
  let trapCost = 0;
  let ownAt = -1;
  let ownCost = 0;
  let taken = -1;
  let ackAt = -1;
  let acked = -1;
  let blocked = false;
  const ownReason: number = own === 'wfi' ? ExitReason.Wfi : ExitReason.Hvc;
  for (const e of hv.trace.events()) {
    if (before < 0 || e.t < before) continue;
    if (e.kind === TraceKind.Exit && e.vcpu === 0 && trapAt < 0) [trapAt, trapCost] = [e.t, e.b];
    if (e.kind === TraceKind.Exit && e.vcpu === 1 && ownAt < 0 && e.a === ownReason) [ownAt, ownCost] = [e.t, e.b];
    if (e.kind === TraceKind.Block && e.vcpu === 1 && ownAt >= 0) blocked = true;
    if (e.kind === TraceKind.IrqTaken && e.vcpu === 1 && taken < 0) taken = e.t;
    if (e.kind === TraceKind.Ack && e.vcpu === 1 && ackAt < 0) [ackAt, acked] = [e.t, e.a];
  }
  return {
    produced: trapAt + trapCost * EXIT_ENTRY_FRACTION + vm.costNs.sgiDispatch,
    trapAt,
    taken,
    ackAt,
    acked,
    ownAt,
    ownCost,
    blocked,
    trace: JSON.stringify(hv.trace.canonicalEvents().map((e) => [e.t, e.vcpu, e.kind, e.a, e.b, e.c])),
    vm,
  };
}

const DELTAS = [0, 2, 10, 30, 60, 100, 150, 250, 400];

describe.each(['gicv3-vhe', 'seattle-vhe'])('rVIC SIGNAL to a vCPU that exits for its own reason, profile %s', (profile) => {
  it.each(['hvc', 'wfi', 'ack'] as Own[])(
    'own exit %s: the first observation is no earlier than the producing instant plus ipiLatency; lockstep = lookahead',
    (own) => {
      for (const delta of DELTAS) {
        const [lock, ahead] = [0, undefined].map((l) => run(profile, own, delta, l));
        for (const o of [lock, ahead]) {
          const due = o.produced + o.vm.costNs.ipiLatency;
          const label = `${profile} ${own} +${delta} ns (lookahead ${o.vm.lookaheadNs})`;
          expect([label, o.ownAt > 0, o.acked]).toEqual([label, true, 0]);
          expect([label, o.ackAt >= due]).toEqual([label, true]);
          if (own !== 'ack') expect([label, o.taken >= due]).toEqual([label, true]);
          if (own === 'wfi' && o.ownAt + o.ownCost * EXIT_ENTRY_FRACTION < due) expect([label, o.blocked]).toEqual([label, true]);
          void o.vm.destroy();
        }
        expect([delta, ahead.trace.length > 100, ahead.trace === lock.trace]).toEqual([delta, true, true]);
      }
    },
  );
});

/**
 * A snapshot taken while the SIGNALled IPI is still hidden from vCPU 1 (the `hidden` field of the rVIC's saved
 * state) restores into a VM that takes it when the never-saved one does.
 */
describe('snapshot while a SIGNALled interrupt is hidden', () => {
  it.each(['wfi', 'ack'] as Own[])('own exit %s: the restored VM observes it when the never-saved one does', (own) => {
    const delta = 30;
    const ref = run('gicv3-vhe', own, delta, undefined);
    void ref.vm.destroy();
    const save = ref.trapAt + 1; // vCPU 0 has run its trap, vCPU 1 is just past its start
    const p: Probe = { arrived: 0, before: -1, done: false };
    const src = build('gicv3-vhe', own, delta, undefined, p);
    src.run({ until: save });
    const snap = saveVm(src);
    const hidden = (snap.devices as { hidden?: unknown[] }[]).find((d) => d?.hidden !== undefined)?.hidden;
    expect(hidden).toEqual([[1, 0, expect.any(Number)]]);
    /** vCPU 1's first successful ACKNOWLEDGE after the restore, and whether it blocked. */
    const outcome = (s: VmSnapshot): [number, boolean] => {
      const dst = build('gicv3-vhe', own, delta, undefined, { ...p });
      restoreVm(dst, s);
      hv.trace.clear();
      hv.trace.on = true;
      try {
        dst.run({ until: 5_000_000 });
      } finally {
        hv.trace.on = false;
      }
      let ackAt = -1;
      let blocked = false;
      for (const e of hv.trace.events()) {
        if (e.vcpu !== 1) continue;
        if (e.kind === TraceKind.Block) blocked = true;
        if (e.kind === TraceKind.Ack && ackAt < 0) ackAt = e.t;
      }
      void dst.destroy();
      return [ackAt, blocked];
    };
    const want: [number, boolean] = [ref.ackAt, own === 'wfi'];
    expect(outcome(snap)).toEqual(want);
    const bare = { ...snap, devices: snap.devices.map((d) => (d !== null && typeof d === 'object' ? { ...d, hidden: undefined } : d)) };
    expect(outcome(bare)).not.toEqual(want);
    // a malformed field is refused (EINVAL), not ignored: a vCPU index the VM does not have, a non-finite time
    for (const h of [[[7, 0, 1]], [[1, 0, Infinity]], [[1, 0]], 'x']) {
      const bad = {
        ...snap,
        devices: snap.devices.map((d) => (d !== null && typeof d === 'object' && 'hidden' in d ? { ...d, hidden: h } : d)),
      };
      const dst = build('gicv3-vhe', own, delta, undefined, { ...p });
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
