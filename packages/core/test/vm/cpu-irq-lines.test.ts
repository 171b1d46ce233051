/**
 * KVM_IRQ_LINE type CPU without an in-kernel irqchip (vm.ts irqLine, vm/cpu-irq-lines.ts): each level change
 * kicks the vCPU and is due at its own instant plus the delivery latency; the guest sees HCR_EL2.VI/VF as derived
 * from the levels due at its clock when it enters the guest (and a blocked vCPU's runnable check reads them). A
 * raise and a lower that both land before the vCPU's next entry are never seen, as in KVM.
 */
import {
  CPU_LINE_PENDING_MAX,
  cpuIrqLines,
  ExitReason,
  GuestAsm,
  IrqType,
  MpState,
  restoreVm,
  saveVm,
  VmSnapshotError,
  type Vcpu,
  type Vm,
} from '../../src';
import { tinyVm } from '../support/tiny-controller';

const IRQ = 0; // KVM_IRQ_LINE irq field: type CPU (0), vCPU 0, line 0 = IRQ
const FIQ = 1; // line 1 = FIQ

/** One vCPU, no irqchip: spins with IRQs unmasked (FIQs masked), or waits in WFI; the vector records and halts masked. */
function guest(wait: boolean, lookaheadNs?: number): { vm: Vm; v: Vcpu; taken: number[] } {
  const { vm, vcpus } = tinyVm(1, { irqchip: false, lookaheadNs });
  const taken: number[] = [];
  const a = new GuestAsm();
  a.label('main').daifclr(2);
  if (wait) a.label('w').wfi().b('w');
  else a.label('s').work(1).b('s');
  // PSTATE.I stays set in the vector: a level still asserted is not taken again
  a.label('irq')
    .call((x) => void taken.push(x.clock))
    .label('h')
    .work(10)
    .b('h');
  vcpus[0].setProgram(a.build());
  return { vm, v: vcpus[0], taken };
}

describe('KVM_IRQ_LINE type CPU (no in-kernel irqchip)', () => {
  it.each([false, true])('a raise and a lower within one delivery latency are never seen by the guest (in WFI: %s)', (wait) => {
    for (const lookaheadNs of [0, undefined]) {
      const { vm, v, taken } = guest(wait, lookaheadNs);
      const t = 5_000;
      vm.at(t, () => vm.irqLine(IRQ, 1));
      vm.at(t + vm.costNs.ipiLatency / 3, () => vm.irqLine(IRQ, 0));
      vm.run({ until: 50_000 });
      expect(taken).toEqual([]);
      // KVM kicks on both changes: the vCPU left the guest (an IRQ exit, or a wake-up from WFI) and came back
      if (wait) expect(v.stats.kicks).toBeGreaterThanOrEqual(1);
      else expect(v.stats.exits[ExitReason.Irq]).toBeGreaterThanOrEqual(1);
      expect(v.irqInput).toBe(false);
    }
  });

  it.each([false, true])(
    'a level held past the next entry is taken once, no earlier than its instant + ipiLatency (in WFI: %s)',
    (wait) => {
      const seen = [0, undefined].map((lookaheadNs) => {
        const { vm, taken } = guest(wait, lookaheadNs);
        const t = 5_000;
        vm.at(t, () => vm.irqLine(IRQ, 1));
        vm.at(t + 20_000, () => vm.irqLine(IRQ, 0));
        vm.run({ until: 50_000 });
        expect(taken).toHaveLength(1);
        // VI changes only when the vCPU enters the guest: after the kick's IRQ exit, or its wake-up from WFI
        const c = vm.costNs;
        expect(taken[0]).toBeGreaterThanOrEqual(t + c.ipiLatency + (wait ? c.hostIrq + c.wfiWake : c.irqExit + c.hostIrq));
        return taken[0];
      });
      expect(seen[1]).toBe(seen[0]);
    },
  );

  it("each change is due at its own instant: a line that changes right after another vCPU-visible one is not seen at the earlier one's time", () => {
    // FIQ high (masked), then: FIQ lowered at t, IRQ raised at t + 10 ns. The lower's kick arrives first; the
    // raise must still be invisible until its own instant + ipiLatency (it used to ride on the lower's signal)
    const { vm, v, taken } = guest(false, 0);
    vm.irqLine(FIQ, 1);
    const t = 5_000;
    vm.at(t, () => vm.irqLine(FIQ, 0));
    vm.at(t + 10, () => vm.irqLine(IRQ, 1));
    vm.run({ until: 50_000 });
    expect(taken).toHaveLength(1);
    // seen at the entry after the raise's own kick (IRQ exit), not at the lower's arrival
    expect(taken[0]).toBeGreaterThanOrEqual(t + 10 + vm.costNs.ipiLatency + vm.costNs.irqExit);
    expect(v.vfiq).toBe(false);
  });

  it('a raise from userspace between runs reaches a vCPU that entered the guest for its own reasons no earlier than the VM time + ipiLatency', () => {
    const { vm, vcpus } = tinyVm(1, { irqchip: false });
    const v = vcpus[0];
    const taken: number[] = [];
    const a = new GuestAsm();
    a.label('main').daifclr(2).label('s').movi(0, 0x80000000).hvc().b('s'); // every hvc enters the guest again
    a.label('irq')
      .call((x) => void taken.push(x.clock))
      .label('h')
      .work(10)
      .b('h');
    v.setProgram(a.build());
    vm.run({ until: 3_000 });
    const at = vm.now;
    vm.irqLine(IRQ, 1);
    vm.run({ until: 20_000 });
    expect(taken).toHaveLength(1);
    expect(taken[0]).toBeGreaterThanOrEqual(at + vm.costNs.ipiLatency);
  });

  it('a vCPU outside the guest (its thread in userspace, or before its first KVM_RUN) sees a change when it next enters the guest', () => {
    const { vm, v, taken } = guest(false, 0);
    vm.irqLine(IRQ, 1);
    vm.run({ until: 1_000 });
    expect(taken).toHaveLength(1);
    expect(v.stats.exits[ExitReason.Irq]).toBe(0); // no kick was needed: it sampled the line on entry
  });

  it('setting a line to the level it has does nothing (no request, no kick), as vcpu_interrupt_line', () => {
    const { vm, v } = guest(true);
    vm.run({ until: 1_000 });
    expect(v.mp).toBe(MpState.Halted);
    vm.irqLine(IRQ, 0);
    vm.run({ until: 5_000 });
    expect(v.stats.kicks).toBe(0);
    expect(v.mp).toBe(MpState.Halted);
  });

  it('keeps at most CPU_LINE_PENDING_MAX changes pending, and the last written level wins', () => {
    const { vm, v, taken } = guest(true);
    vm.run({ until: 1_000 });
    for (let i = 0; i < 10 * CPU_LINE_PENDING_MAX; i++) vm.at(2_000 + i * 0.1, () => vm.irqLine(IRQ, i % 2 === 0 ? 1 : 0));
    vm.at(2_000 + 10 * CPU_LINE_PENDING_MAX * 0.1, () => {
      expect(cpuIrqLines(v).pending().length).toBeLessThanOrEqual(CPU_LINE_PENDING_MAX);
      vm.irqLine(IRQ, 1);
    });
    vm.run({ until: 30_000 });
    expect(taken).toHaveLength(1);
    expect(v.irqInput).toBe(true);
    expect(cpuIrqLines(v).pending()).toEqual([]);
  });

  it('refuses an unknown line or vCPU without changing anything', () => {
    const { vm, v } = guest(true);
    expect(() => vm.irqLine((IrqType.Cpu << 24) | 2, 1)).toThrow(/neither IRQ/);
    expect(() => vm.irqLine((IrqType.Cpu << 24) | (5 << 16), 1)).toThrow(/no vCPU 5/);
    expect(cpuIrqLines(v).pending()).toEqual([]);
    expect([v.irqInput, v.fiqInput]).toEqual([false, false]);
  });

  it.each([false, true])(
    'a change in flight at a VM snapshot reaches the restored guest at its own due time, as in the never-saved run (in WFI: %s)',
    (wait) => {
      const t = 5_000;
      const lowerAt = t + 20_000;
      const never = guest(wait, 0);
      never.vm.at(t, () => never.vm.irqLine(IRQ, 1));
      never.vm.at(lowerAt, () => never.vm.irqLine(IRQ, 0));
      never.vm.run({ until: 50_000 });
      expect(never.taken).toHaveLength(1);

      const src = guest(wait, 0);
      src.vm.at(t, () => src.vm.irqLine(IRQ, 1));
      src.vm.run({ until: t + src.vm.costNs.ipiLatency / 2 });
      // the raise is made and still in flight: pending, not yet seen
      expect(cpuIrqLines(src.v).pending()).toHaveLength(1);
      const snap = saveVm(src.vm);
      const dst = guest(wait, 0);
      restoreVm(dst.vm, snap);
      expect(cpuIrqLines(dst.v).pending()).toEqual(cpuIrqLines(src.v).pending());
      dst.vm.at(lowerAt, () => dst.vm.irqLine(IRQ, 0));
      dst.vm.run({ until: 50_000 });
      expect(dst.taken).toEqual(never.taken);
    },
  );

  it('a snapshot with malformed pending line changes is refused with EINVAL and changes nothing', () => {
    const src = guest(false, 0);
    src.vm.at(5_000, () => src.vm.irqLine(IRQ, 1));
    src.vm.run({ until: 5_010 });
    const snap = saveVm(src.vm);
    const bad = { ...snap, vcpus: snap.vcpus.map((c) => ({ ...c, cpuLines: { seen: 9, pending: [] } })) };
    const dst = guest(false, 0);
    expect(() => restoreVm(dst.vm, bad)).toThrow(VmSnapshotError);
    expect(cpuIrqLines(dst.v).pending()).toEqual([]);
    expect(dst.v.clock).toBe(0);
  });
});
