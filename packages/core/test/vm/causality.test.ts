/**
 * Causal timing (vm.ts kickVcpu / postRequest / signalVcpu, vcpu.ts signals, line-clock.ts): a cross-vCPU
 * effect carries the instant its sender produced it and a modelled delivery latency — `ipiLatency` for a kick,
 * an exit request or a line signal (0 for a host event local to the target's pCPU), `cacheLineTransfer` for a
 * store another vCPU loads — and the receiver acts no earlier. The same instants come out under lockstep and the
 * default lookahead (never above the smallest latency). run({ until }) returns with every event due at or
 * before the VM's time delivered.
 */
import { EXIT_ENTRY_FRACTION, GuestAsm, HostEvent, TraceKind, type Vcpu, type Vm } from '../../src';
import { tinyVm, type TinyController } from '../support/tiny-controller';

const RAM = 0x4000_0000;
/** A trapped test register (ICC_IGRPEN1_EL1's encoding, left free by the tiny controller). */
const SEND_REG = 0xc665;
const modes = [0, undefined] as const;

/** Receiver programs: spin with IRQs unmasked, or wait in WFI; the vector records the clock and acknowledges. */
function receiverProgram(a: GuestAsm, taken: number[]): void {
  a.label('spin').daifclr(2).label('s').work(1).b('s');
  a.label('idle').daifclr(2).label('w').wfi().b('w');
  a.label('irq')
    .call((v) => void taken.push(v.clock))
    .mrs(0, 'ICC_IAR1_EL1')
    .msr('ICC_EOIR1_EL1', 0)
    .eret();
}

interface Sent {
  /**
   * Instant the handler produced the effect: the trap's start + the part of its cost paid before the handler
   * (EXIT_ENTRY_FRACTION) + what the handler had charged by then.
   */
  producedAt: number;
  taken: number[];
  vm: Vm;
}

/**
 * vCPU 0 writes a trapped register at about 10 µs; its handler runs `send` (which may charge the sender, e.g.
 * kickSend); vCPU 1 spins or waits. Returns the producing instant and the receiver's IRQ times.
 */
function trappedSend(lookaheadNs: number | undefined, receiverAt: 'spin' | 'idle', send: (to: Vcpu, ctl: TinyController) => void): Sent {
  const { vm, ctl, vcpus } = tinyVm(2, { lookaheadNs });
  vm.trace.on = true;
  vm.trace.clear();
  let producedAt = -1;
  const taken: number[] = [];
  vm.sysregs.register(SEND_REG, {
    trapped: true,
    write: (v: Vcpu) => {
      send(vcpus[1], ctl);
      producedAt = v.clock; // the handler's instant, after the trap and whatever it charged
    },
  });
  const a = new GuestAsm();
  a.label('main').work(30_000).msr(SEND_REG, 0).label('e').wfi().b('e');
  receiverProgram(a, taken);
  const img = a.build();
  vcpus[0].setProgram(img);
  vcpus[1].setProgram(img, receiverAt);
  vm.run({ until: 30_000 });
  return { producedAt, taken, vm };
}

describe.each(['spin', 'idle'] as const)('receiver %s', (receiverAt) => {
  it("a kick from a trapped access reaches the receiver no earlier than the handler's instant in the trap (+ kickSend) plus ipiLatency", () => {
    const seen = modes.map((l) => {
      const r = trappedSend(l, receiverAt, (to, ctl) => ctl.queue(to, 40));
      const c = r.vm.costNs;
      expect(r.taken).toHaveLength(1);
      // the handler runs after the world switch out (EXIT_ENTRY_FRACTION of the trap), then pays kickSend for a
      // receiver in the guest (a blocked one is woken without an IPI of the sender's)
      const send = receiverAt === 'spin' ? c.kickSend : 0;
      expect(r.producedAt).toBeGreaterThanOrEqual(10_000 + c.sysregTrap * EXIT_ENTRY_FRACTION + send);
      expect(r.producedAt).toBeLessThan(10_000 + c.sysregTrap * EXIT_ENTRY_FRACTION + send + 2);
      expect(r.taken[0]).toBeGreaterThanOrEqual(r.producedAt + c.ipiLatency);
      // and not much later: the receiver takes it at its next boundary (an IRQ exit with the host's IRQ handling
      // if it was in the guest; the waking interrupt, the reschedule and the rest of its WFI trap if it was blocked)
      const receive = receiverAt === 'spin' ? c.irqExit + c.hostIrq : c.hostIrq + c.wfiWake + c.wfi * (1 - EXIT_ENTRY_FRACTION);
      expect(r.taken[0]).toBeLessThan(r.producedAt + c.ipiLatency + receive + c.exception + 2);
      return [r.producedAt, r.taken[0]];
    });
    expect(seen[1]).toEqual(seen[0]);
  });
});

describe('signals other than a kick', () => {
  it('an exit requested by another vCPU happens no earlier than its instant plus ipiLatency', () => {
    const seen = modes.map((l) => {
      let exitAt = -1;
      const r = trappedSend(l, 'spin', (to) => to.requestExit());
      for (const e of r.vm.trace.events())
        if (e.kind === TraceKind.Exit && e.vcpu === 1 && exitAt < 0 && e.t >= r.producedAt - 400) exitAt = e.t;
      expect(exitAt).toBeGreaterThanOrEqual(r.producedAt + r.vm.costNs.ipiLatency);
      return exitAt;
    });
    expect(seen[1]).toBe(seen[0]);
  });

  it('a line signal (Vm.signalVcpu) re-drives the receiver’s lines no earlier than its instant plus ipiLatency', () => {
    const seen = modes.map((l) => {
      const { vm, vcpus } = tinyVm(2, { lookaheadNs: l });
      const signalled: number[] = [];
      const flow = vm.flow.flow as { vcpuSignalled?: (v: Vcpu) => void };
      flow.vcpuSignalled = (v) => void signalled.push(v.clock);
      let sentAt = -1;
      const a = new GuestAsm();
      a.label('main')
        .work(30_000)
        .call((v) => {
          sentAt = v.clock;
          vm.signalVcpu(vcpus[1]);
        });
      a.label('e').wfi().b('e');
      a.label('spin').label('s').work(1).b('s');
      const img = a.build();
      vcpus[0].setProgram(img);
      vcpus[1].setProgram(img, 'spin');
      vm.run({ until: 20_000 });
      expect(signalled).toHaveLength(1);
      expect(signalled[0]).toBeGreaterThanOrEqual(sentAt + vm.costNs.ipiLatency);
      expect(signalled[0]).toBeLessThan(sentAt + vm.costNs.ipiLatency + 1);
      return signalled[0];
    });
    expect(seen[1]).toBe(seen[0]);
  });

  it('a host event reaches a vCPU after ipiLatency; one local to its pCPU (its timer) at once', () => {
    for (const local of [false, true]) {
      const seen = modes.map((l) => {
        const { vm, ctl, vcpus } = tinyVm(1, { lookaheadNs: l });
        const taken: number[] = [];
        const a = new GuestAsm();
        a.label('main').b('spin');
        receiverProgram(a, taken);
        vcpus[0].setProgram(a.build(), 'spin');
        const ev = new HostEvent(() => ctl.queue(vcpus[0], 40), 'device');
        ev.local = local;
        vm.schedule(ev, 5_000);
        vm.run({ until: 10_000 });
        expect(taken).toHaveLength(1);
        const lat = local ? 0 : vm.costNs.ipiLatency;
        // the kick arrives at 5 µs + latency; only then does the vCPU exit (irqExit, the host's hostIrq) and take the IRQ
        const exit = vm.costNs.irqExit + vm.costNs.hostIrq;
        expect(taken[0]).toBeGreaterThanOrEqual(5_000 + lat + exit);
        expect(taken[0]).toBeLessThan(5_000 + lat + exit + vm.costNs.exception + 2);
        return taken[0];
      });
      expect(seen[1]).toBe(seen[0]);
    }
  });

  it('KVM_IRQ_LINE (no in-kernel irqchip) reaches a vCPU in the guest after ipiLatency', () => {
    const { vm, vcpus } = tinyVm(1, { irqchip: false });
    const taken: number[] = [];
    const a = new GuestAsm();
    a.label('main').daifclr(2).label('s').work(1).b('s');
    a.label('irq')
      .call((v) => {
        taken.push(v.clock);
        v.vm.irqLine(0, 0);
      })
      .eret();
    vcpus[0].setProgram(a.build());
    vm.run({ until: 3_000 });
    vm.irqLine(0, 1); // userspace, at the VM's time
    const at = vm.now;
    vm.run({ until: 6_000 });
    expect(taken).toHaveLength(1);
    // the kick that comes with the line arrives after the latency; the vCPU exits (irqExit), then takes the IRQ
    expect(taken[0]).toBeGreaterThanOrEqual(at + vm.costNs.ipiLatency + vm.costNs.irqExit);
  });
});

describe('shared memory', () => {
  /** vCPU 0 stores a flag at about 10 µs; vCPU 1 polls it with loads. Returns [store instant, first load that saw it]. */
  function flag(lookaheadNs: number | undefined): [number, number, Vm] {
    const { vm, vcpus } = tinyVm(2, { lookaheadNs, irqchip: false });
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: 0x10000 });
    let storedAt = -1;
    let seenAt = -1;
    const a = new GuestAsm();
    a.label('main')
      .movi(1, RAM)
      .movi(2, 1)
      .work(30_000)
      .call((v) => void (storedAt = v.clock))
      .str(2, 1, 0);
    a.label('e').wfi().b('e');
    a.label('poll')
      .movi(1, RAM)
      .label('p')
      .ldr(3, 1, 0)
      .cbz(3, 'p')
      .call((v) => void (seenAt = v.clock));
    a.label('done').wfi().b('done');
    const img = a.build();
    vcpus[0].setProgram(img);
    vcpus[1].setProgram(img, 'poll');
    vm.run({ until: 20_000 });
    return [storedAt, seenAt, vm];
  }

  it('a polled flag is seen no earlier than the store plus cacheLineTransfer, identically under lockstep and the lookahead', () => {
    const seen = modes.map((l) => {
      const [storedAt, seenAt, vm] = flag(l);
      expect(storedAt).toBeGreaterThan(9_000);
      // seenAt is after the load that saw the flag (and the branch): the load completed at or after the line arrived
      expect(seenAt).toBeGreaterThanOrEqual(storedAt + vm.costNs.cacheLineTransfer);
      expect(seenAt).toBeLessThan(storedAt + vm.costNs.cacheLineTransfer + 2);
      return [storedAt, seenAt];
    });
    expect(seen[1]).toEqual(seen[0]);
  });

  it('a vCPU sees its own store at once, and a page only it touched costs nothing extra', () => {
    const { vm, vcpus } = tinyVm(1, { irqchip: false });
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: 0x10000 });
    const a = new GuestAsm();
    a.label('main').movi(1, RAM).movi(2, 7).str(2, 1, 0).ldr(3, 1, 0).ldr(4, 1, 0x100).label('e').wfi().b('e');
    vcpus[0].setProgram(a.build());
    vm.run();
    expect(vcpus[0].x(3)).toBe(7);
    expect(vcpus[0].stats.ops).toBe(6);
    // blocked in WFI: the world switch out is paid, the way back in is paid when it wakes (EXIT_ENTRY_FRACTION)
    expect(vcpus[0].clock).toBeCloseTo(5 * vm.costNs.cycle + vm.costNs.wfi * EXIT_ENTRY_FRACTION, 6);
  });
});

describe('run({ until })', () => {
  it('returns with every event due at or before the VM time delivered', () => {
    for (const l of modes) {
      const { vm, vcpus } = tinyVm(2, { lookaheadNs: l });
      const a = new GuestAsm();
      // vCPU 0's last operation ends well past `until`; vCPU 1 is far behind it
      a.label('main').work(3_000).label('e').wfi().b('e');
      a.label('slow').label('s').work(1).b('s');
      const img = a.build();
      vcpus[0].setProgram(img);
      vcpus[1].setProgram(img, 'slow');
      const fired: number[] = [];
      vm.at(700, () => fired.push(vm.now));
      const r = vm.run({ until: 500 });
      expect(r.reason).toBe('limit');
      expect(vm.now).toBeGreaterThanOrEqual(1000);
      expect(vm.events.peekTime()).toBeGreaterThan(vm.now);
      expect(fired).toEqual([700]);
      for (const v of vcpus) expect(v.clock).toBeGreaterThanOrEqual(700);
    }
  });
});
