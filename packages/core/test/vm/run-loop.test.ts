/** The vCPU run loop: every exit path, as userspace and the guest observe it. */
import {
  DAIF,
  EventFd,
  EXIT_ENTRY_FRACTION,
  ExitReason,
  GuestAsm,
  KvmExitReason,
  MpState,
  PSCI,
  SystemEventType,
  type MmioDevice,
  type MmioValue,
  type Vcpu,
} from '../../src';
import { handleN, systemOff } from '../support/programs';
import { tinyVm } from '../support/tiny-controller';

const DEV = 0x1000_0000;
const USER = 0x2000_0000;

function recorder(): MmioDevice & { writes: [number, number, number, number][]; reads: number } {
  return {
    name: 'rec',
    writes: [],
    reads: 0,
    read(_v: Vcpu | null, off: number, _len: number, val: MmioValue): boolean {
      this.reads++;
      if (off === 0xff0) return false;
      val.lo = 0xabcd0000 + off;
      val.hi = 0x1234;
      return true;
    },
    write(_v: Vcpu | null, off: number, len: number, val: MmioValue): boolean {
      this.writes.push([off, len, val.lo, val.hi]);
      return true;
    },
  };
}

describe('MMIO handled in the kernel', () => {
  it('reads and writes reach the device with offset, width and value, charged mmioKernel each', () => {
    const { vm, vcpus } = tinyVm(1);
    const dev = recorder();
    vm.mmio.register(DEV, 0x1000, dev);
    const a = new GuestAsm();
    a.label('main')
      .ldra(1, DEV + 8, 4)
      .ldra(2, DEV + 16, 8)
      .ldra(3, DEV + 2, 2)
      .movi(4, 0x1_2345_6789n)
      .stra(4, DEV + 0x20, 8)
      .stra(4, DEV + 0x30, 1);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    const r = vm.run();
    expect(r.reason).toBe('shutdown');
    const v = vcpus[0];
    expect(v.x(1)).toBe(0xabcd0008);
    expect(v.xBig(2)).toBe(0x1234_abcd0010n);
    expect(v.x(3)).toBe(0x0002); // 16-bit access truncates the device value
    expect(dev.writes).toEqual([
      [0x20, 8, 0x23456789, 1],
      [0x30, 1, 0x89, 0],
    ]);
    expect(v.stats.exits[ExitReason.MmioKernel]).toBe(5);
    expect(vm.stats().exitsByReason['mmio-kernel']).toBe(5);
  });

  it('a device refusing an access delivers an external abort (guest fault) instead of a value', () => {
    const { vm, vcpus } = tinyVm(1);
    vm.mmio.register(DEV, 0x1000, recorder());
    const a = new GuestAsm();
    a.label('main')
      .movi(1, 77)
      .ldra(1, DEV + 0xff0);
    systemOff(a);
    a.label('sync').movi(9, 0xdead).eret();
    vcpus[0].setProgram(a.build());
    vm.run();
    expect(vcpus[0].x(1)).toBe(77);
    expect(vcpus[0].x(9)).toBe(0xdead);
    expect(vcpus[0].stats.faults).toBe(1);
  });
});

describe('MMIO exits to userspace', () => {
  it('a read exits with KVM_EXIT_MMIO and completes with the data userspace supplies', () => {
    const { vm, vcpus } = tinyVm(1);
    const a = new GuestAsm();
    a.label('main').ldra(5, USER + 0x40, 4);
    systemOff(a);
    const v = vcpus[0];
    v.setProgram(a.build());
    const r = vm.run();
    expect(r.reason).toBe('exit');
    expect(r.vcpu).toBe(v);
    expect(v.kvmRun.exitReason).toBe(KvmExitReason.Mmio);
    expect(v.kvmRun.mmio).toMatchObject({ physAddr: USER + 0x40, len: 4, isWrite: false });
    v.kvmRun.mmio.data.set([0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff]);
    expect(vm.run().reason).toBe('shutdown');
    expect(v.xBig(5)).toBe(0x12345678n); // 4-byte read: upper bytes of the buffer ignored
    expect(v.stats.exits[ExitReason.MmioUser]).toBe(1);
  });

  it('a write exits with the value little-endian in data, and onExit handlers resume the vCPU', () => {
    const { vm, vcpus } = tinyVm(1);
    const a = new GuestAsm();
    a.label('main')
      .movi(3, 0x1122334455667788n)
      .stra(3, USER, 8)
      .stra(3, USER + 8, 2)
      .ldra(4, USER + 0x10, 1);
    systemOff(a);
    const v = vcpus[0];
    v.setProgram(a.build());
    const seen: number[][] = [];
    const r = vm.run({
      onExit: (_cpu, run) => {
        seen.push([run.mmio.physAddr, run.mmio.len, Number(run.mmio.isWrite), ...run.mmio.data]);
        if (!run.mmio.isWrite) run.mmio.data[0] = 0x5a;
      },
    });
    expect(r.reason).toBe('shutdown');
    expect(seen).toEqual([
      [USER, 8, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11],
      [USER + 8, 2, 1, 0x88, 0x77, 0, 0, 0, 0, 0, 0],
      [USER + 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(v.x(4)).toBe(0x5a);
  });

  it('an MMIO exit to userspace costs more simulated time than one handled in the kernel', () => {
    const time = (addr: number): number => {
      const { vm, vcpus } = tinyVm(1);
      vm.mmio.register(DEV, 0x1000, recorder());
      const a = new GuestAsm();
      a.label('main').ldra(1, addr);
      systemOff(a);
      vcpus[0].setProgram(a.build());
      vm.run({ onExit: () => undefined });
      return vcpus[0].clock;
    };
    const k = time(DEV);
    const u = time(USER);
    const { vm } = tinyVm(1);
    expect(u - k).toBeCloseTo(vm.costNs.mmioUser - vm.costNs.mmioKernel, 6);
  });
});

describe('ioeventfd', () => {
  it('a matching write signals the eventfd without an exit to userspace', () => {
    const { vm, vcpus } = tinyVm(1);
    const fd = new EventFd();
    vm.ioeventfd({ addr: USER + 0x100, len: 4, fd });
    const a = new GuestAsm();
    a.label('main')
      .movi(1, 3)
      .stra(1, USER + 0x100, 4)
      .stra(1, USER + 0x100, 4);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    expect(vm.run().reason).toBe('shutdown');
    expect(fd.read()).toBe(2);
    expect(vcpus[0].stats.exits[ExitReason.MmioUser]).toBe(0);
    expect(vcpus[0].stats.exits[ExitReason.MmioKernel]).toBe(2);
  });

  it('with datamatch only the matching value signals; others exit to userspace', () => {
    const { vm, vcpus } = tinyVm(1);
    const fd = new EventFd();
    vm.ioeventfd({ addr: USER + 0x200, len: 4, datamatch: 7, fd });
    const a = new GuestAsm();
    a.label('main')
      .movi(1, 7)
      .stra(1, USER + 0x200)
      .movi(1, 8)
      .stra(1, USER + 0x200)
      .stra(1, USER + 0x200, 2);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    const exits: number[] = [];
    vm.run({ onExit: (_v, run) => void exits.push(run.mmio.data[0], run.mmio.len) });
    expect(fd.signals).toBe(1);
    expect(exits).toEqual([8, 4, 8, 2]);
  });

  it('deassigned ioeventfds no longer signal', () => {
    const { vm, vcpus } = tinyVm(1);
    const fd = new EventFd();
    vm.ioeventfd({ addr: USER, len: 4, fd });
    vm.ioeventfd({ addr: USER, len: 4, fd, deassign: true });
    const a = new GuestAsm();
    a.label('main').stra(1, USER);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    expect(vm.run().reason).toBe('exit');
    expect(fd.signals).toBe(0);
  });
});

describe('system registers', () => {
  it('an untrapped access costs its untrapped primitive; a trapped one exits and is counted by name', () => {
    const { vm, vcpus, ctl } = tinyVm(1);
    const v = vcpus[0];
    const a = new GuestAsm();
    a.label('main')
      .mrs(1, 'ICC_IAR1_EL1')
      .call(() => void (t1 = v.clock))
      .msr('ICC_EOIR1_EL1', 1)
      .call(() => void (t2 = v.clock));
    systemOff(a);
    const t0 = 0;
    let t1 = 0;
    let t2 = 0;
    v.setProgram(a.build());
    ctl.queue(v, 42);
    vm.run();
    expect(v.x(1)).toBe(42);
    expect(t1 - t0).toBeCloseTo(vm.costNs.cpuifAccess, 9);
    expect(t2 - t1).toBeCloseTo(vm.costNs.sysregTrap, 9);
    expect(v.stats.exits[ExitReason.Sysreg]).toBe(1);
    expect(vm.stats().traps).toEqual({ ICC_EOIR1_EL1: 1, 'smccc:4:8': 1 });
    expect(ctl.completedLog).toEqual([42]);
  });

  it('an unregistered system register is UNDEFINED: without a sync vector the access is skipped', () => {
    const { vm, vcpus } = tinyVm(1, { irqchip: false });
    const a = new GuestAsm();
    a.label('main').movi(1, 5).mrs(1, 'TPIDR_EL1').msr('TPIDR_EL1', 1).movi(2, 6);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    expect(vm.run().reason).toBe('shutdown');
    expect(vcpus[0].x(1)).toBe(5);
    expect(vcpus[0].x(2)).toBe(6);
    expect(vcpus[0].stats.faults).toBe(2);
  });

  it('an unregistered system register with a sync vector enters it with ELR after the access and IRQs masked', () => {
    const { vm, vcpus } = tinyVm(1, { irqchip: false });
    const a = new GuestAsm();
    a.label('main').daifclr(DAIF.I).mrs(1, 'TPIDR_EL1').label('after').movi(2, 6);
    systemOff(a);
    a.label('sync').mrs(10, 'ELR_EL1').mrs(11, 'DAIF').mrs(12, 'SPSR_EL1').eret();
    const img = a.build();
    vcpus[0].setProgram(img);
    vm.run();
    const v = vcpus[0];
    expect(v.x(10)).toBe(img.labels.get('after'));
    expect(v.x(11)).toBe(0xf << 6);
    expect(v.x(12)).toBe(0xd << 6); // SPSR holds the interrupted DAIF (I clear)
    expect(v.x(2)).toBe(6);
    expect(v.daif).toBe(0xd); // ERET restored the interrupted DAIF
  });
});

describe('hypercalls', () => {
  const BASE = 0xc6000000;

  function hvcVm() {
    const t = tinyVm(1);
    t.vm.hypercalls.register({
      base: BASE,
      count: 4,
      name: 'T',
      callNames: ['A', 'B'],
      handler: (v, fid) => v.setX(0, 100 + fid - BASE + v.x(1)),
    });
    const a = new GuestAsm();
    a.label('main')
      .movi(0, BASE + 1)
      .movi(1, 10)
      .hvc()
      .mov(19, 0);
    systemOff(a);
    t.vcpus[0].setProgram(a.build());
    return t;
  }

  it('a registered range handles the call in the kernel: results in x0, counted by name, charged hvc', () => {
    const { vm, vcpus } = hvcVm();
    expect(vm.run().reason).toBe('shutdown');
    expect(vcpus[0].x(19)).toBe(111);
    expect(vcpus[0].stats.exits[ExitReason.Hvc]).toBe(2);
    expect(vm.stats().traps['T.B']).toBe(1);
  });

  it('the SMCCC filter "deny" returns NOT_SUPPORTED without calling the handler', () => {
    const { vm, vcpus } = hvcVm();
    vm.setSmcccFilter(BASE, 2, 'deny');
    vm.run();
    expect(vcpus[0].xBig(19)).toBe(0xffffffffffffffffn);
  });

  it('the SMCCC filter "forward" exits with KVM_EXIT_HYPERCALL; userspace sets the result', () => {
    const { vm, vcpus } = hvcVm();
    vm.setSmcccFilter(BASE, 4, 'forward');
    const v = vcpus[0];
    const r = vm.run();
    expect(r.reason).toBe('exit');
    expect(v.kvmRun.exitReason).toBe(KvmExitReason.Hypercall);
    expect(v.kvmRun.hypercall).toMatchObject({ fid: BASE + 1, isSmc: false });
    expect(v.kvmRun.hypercall.args[0]).toBe(10);
    v.setX(0, 4242);
    expect(vm.run().reason).toBe('shutdown');
    expect(v.x(19)).toBe(4242);
    expect(v.stats.exits[ExitReason.HypercallUser]).toBe(1);
  });

  it('an unknown function id returns NOT_SUPPORTED; SMC works like HVC', () => {
    const { vm, vcpus } = tinyVm(1);
    const a = new GuestAsm();
    a.label('main').movi(0, 0xc7000000).smc().mov(19, 0).movi(0, 0x80000000).hvc().mov(18, 0);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    vm.run();
    expect(vcpus[0].xBig(19)).toBe(0xffffffffffffffffn);
    expect(vcpus[0].x(18)).toBe(0x10001); // SMCCC_VERSION 1.1
    expect(vcpus[0].stats.exits[ExitReason.Smc]).toBe(1);
  });
});

describe('PSCI', () => {
  it('CPU_OFF stops a vCPU; CPU_ON restarts it at an entry point with the context id in x0', () => {
    const { vm, vcpus } = tinyVm(2);
    // vCPU 1 turns itself off; vCPU 0 polls AFFINITY_INFO until it is off, then powers it on at `secondAt`
    const b = new GuestAsm();
    b.label('main').movi(0, PSCI.CPU_OFF).hvc().movi(29, 0xbad);
    b.label('boot0').label('poll').movi(0, PSCI.AFFINITY_INFO_64).movi(1, 1).hvc().beqi(0, 0, 'poll');
    const secondAt = 1000;
    b.movi(0, PSCI.CPU_ON_64).movi(1, 1).movi(2, 0x7fffffff).hvc().mov(20, 0); // entry outside the program
    b.movi(0, PSCI.CPU_ON_64).movi(1, 1).movi(2, secondAt).movi(3, 0x77).hvc().mov(21, 0);
    b.movi(0, PSCI.CPU_ON_64).movi(1, 1).movi(2, secondAt).hvc().mov(22, 0);
    b.movi(0, PSCI.CPU_ON_64).movi(1, 9).movi(2, secondAt).hvc().mov(23, 0);
    b.label('spin').wfi().b('spin');
    while (b.here < secondAt) b.nop();
    b.mov(24, 0).mrs(25, 'MPIDR_EL1').work(100_000); // leave vCPU 0 time for its remaining calls
    systemOff(b);
    const img = b.build();
    vcpus[0].setProgram(img, 'boot0');
    vcpus[1].setProgram(img);
    const r = vm.run();
    expect(r.reason).toBe('shutdown');
    expect(r.vcpu).toBe(vcpus[1]);
    expect(vcpus[0].xBig(20)).toBe(BigInt.asUintN(64, -9n)); // INVALID_ADDRESS
    expect(vcpus[0].x(21)).toBe(0);
    expect(vcpus[0].xBig(22)).toBe(BigInt.asUintN(64, -4n));
    expect(vcpus[0].xBig(23)).toBe(BigInt.asUintN(64, -2n));
    expect(vcpus[1].x(24)).toBe(0x77);
    expect(vcpus[1].x(25)).toBe(0x80000001);
    expect(vcpus[1].x(29)).toBe(0); // never ran past CPU_OFF
  });

  it('a vCPU powered on again starts at the CPU_ON handler instant plus ipiLatency, owing nothing of its CPU_OFF call', () => {
    const { vm, vcpus } = tinyVm(2);
    let calledAt = -1;
    let startedAt = -1;
    const b = new GuestAsm();
    b.label('main').movi(0, PSCI.CPU_OFF).hvc();
    b.label('boot0').label('poll').movi(0, PSCI.AFFINITY_INFO_64).movi(1, 1).hvc().beqi(0, 0, 'poll');
    b.movi(0, PSCI.CPU_ON_64)
      .movi(1, 1)
      .movi(2, 1000)
      .call((v) => void (calledAt = v.clock))
      .hvc();
    b.label('spin').wfi().b('spin');
    while (b.here < 1000) b.nop();
    b.call((v) => void (startedAt = v.clock)).work(10_000);
    systemOff(b);
    const img = b.build();
    vcpus[0].setProgram(img, 'boot0');
    vcpus[1].setProgram(img);
    expect(vm.run().reason).toBe('shutdown');
    // the handler runs once the world switch out (EXIT_ENTRY_FRACTION of the hvc) is paid
    const expected = calledAt + vm.costNs.hvc * EXIT_ENTRY_FRACTION + vm.costNs.ipiLatency;
    expect(startedAt).toBeGreaterThanOrEqual(expected - 1e-9);
    expect(startedAt).toBeLessThan(expected + vm.costNs.cycle);
  });

  it.each([
    [PSCI.SYSTEM_OFF, SystemEventType.Shutdown],
    [PSCI.SYSTEM_RESET, SystemEventType.Reset],
  ])('fid 0x%s exits with KVM_EXIT_SYSTEM_EVENT and stops every vCPU', (fid, type) => {
    const { vm, vcpus } = tinyVm(2);
    const a = new GuestAsm();
    a.label('main').label('spin').work(10).b('spin');
    a.label('off').work(1000).movi(0, fid).hvc();
    const img = a.build();
    vcpus[0].setProgram(img);
    vcpus[1].setProgram(img, 'off');
    const r = vm.run();
    expect(r.reason).toBe('shutdown');
    expect(r.vcpu).toBe(vcpus[1]);
    expect(vcpus[1].kvmRun.exitReason).toBe(KvmExitReason.SystemEvent);
    expect(vcpus[1].kvmRun.systemEvent).toBe(type);
    expect(vcpus.map((v) => v.mp)).toEqual([MpState.Stopped, MpState.Stopped]);
    expect(vm.run().reason).toBe('idle');
  });
});

describe('WFI', () => {
  it('blocks until a kick wakes the vCPU (no interrupt pending), calling vcpuBlocking/vcpuUnblocking', () => {
    const { vm, vcpus, ctl } = tinyVm(1);
    const v = vcpus[0];
    const a = new GuestAsm();
    a.label('main').wfi().movi(7, 1);
    systemOff(a);
    v.setProgram(a.build());
    expect(vm.run().reason).toBe('idle');
    expect(v.mp).toBe(MpState.Halted);
    expect(v.blocked).toBe(true);
    expect(ctl.calls.vcpuBlocking).toBe(1);
    vm.at(50_000, () => vm.kickVcpu(v));
    expect(vm.run().reason).toBe('shutdown');
    expect(v.x(7)).toBe(1);
    expect(ctl.calls.vcpuUnblocking).toBe(1);
    expect(v.clock).toBeGreaterThanOrEqual(50_000);
    expect(v.stats.blockedNs).toBeGreaterThan(40_000);
    expect(v.stats.kicks).toBe(1);
  });

  it('is woken by a timed event injecting an interrupt, which the IRQ vector then handles', () => {
    const { vm, vcpus, ctl } = tinyVm(1);
    const v = vcpus[0];
    v.setProgram(handleN(2).build());
    vm.at(10_000, () => ctl.queue(v, 40));
    vm.at(20_000, () => ctl.queue(v, 41));
    const r = vm.run();
    expect(r.reason).toBe('shutdown');
    expect(ctl.completedLog).toEqual([40, 41]);
    expect(v.stats.blocks).toBe(2);
    expect(v.clock).toBeGreaterThan(20_000);
    expect(v.clock).toBeLessThan(25_000);
  });

  it('does not block when an interrupt is already pending (even with IRQs masked)', () => {
    const { vm, vcpus, ctl } = tinyVm(1);
    const v = vcpus[0];
    const a = new GuestAsm();
    a.label('main').wfi().movi(7, 1);
    systemOff(a);
    v.setProgram(a.build());
    ctl.queue(v, 33);
    expect(vm.run().reason).toBe('shutdown');
    expect(v.stats.blocks).toBe(0);
    expect(v.stats.exits[ExitReason.Wfi]).toBe(1);
  });

  it('without an in-kernel irqchip, an asserted IRQ line (KVM_IRQ_LINE type CPU) makes WFI complete', () => {
    const { vm, vcpus } = tinyVm(1, { irqchip: false });
    const v = vcpus[0];
    const a = new GuestAsm();
    a.label('main').wfi().movi(7, 1);
    systemOff(a);
    v.setProgram(a.build());
    vm.irqLine(0, 1); // type CPU, vCPU 0, IRQ line
    expect(vm.run().reason).toBe('shutdown');
    expect(v.x(7)).toBe(1);
    expect(v.stats.blocks).toBe(0);
  });
});

describe('internal errors and kicks', () => {
  it('a PC off the end of the program exits with KVM_EXIT_INTERNAL_ERROR and stops the vCPU', () => {
    const { vm, vcpus } = tinyVm(1);
    const a = new GuestAsm();
    a.label('main').nop().nop();
    vcpus[0].setProgram(a.build());
    const r = vm.run();
    expect(r.reason).toBe('exit');
    expect(vcpus[0].kvmRun.exitReason).toBe(KvmExitReason.InternalError);
    expect(vcpus[0].kvmRun.internalError).toMatch(/PC 2 is outside/);
    expect(vcpus[0].mp).toBe(MpState.Stopped);
  });

  it('a vCPU with no program is not scheduled', () => {
    const { vm } = tinyVm(1);
    expect(vm.run().reason).toBe('idle');
  });

  it('a kick to a vCPU in the guest forces an IRQ exit at the next operation boundary', () => {
    const { vm, vcpus } = tinyVm(2);
    const [v0, v1] = vcpus;
    const a = new GuestAsm();
    a.label('main').label('spin').work(3).b('spin');
    a.label('kicker')
      .work(30)
      .call((v) => v.vm.kickVcpu(v1))
      .work(3000);
    systemOff(a);
    const img = a.build();
    v1.setProgram(img);
    v0.setProgram(img, 'kicker');
    vm.run();
    expect(v1.stats.exits[ExitReason.Irq]).toBe(1);
    expect(v1.stats.kicks).toBe(1);
  });
});
