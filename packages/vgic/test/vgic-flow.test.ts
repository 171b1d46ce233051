/**
 * The vgic's flow callbacks as a VMM drives them (KVM's api.rst: KVM_IRQ_LINE, KVM_IRQFD; newest mainline
 * arm.c kvm_vm_ioctl_irq_line, eventfd.c kvm_irqfd_assign / irqfd_wakeup, vgic-irqfd.c
 * kvm_arch_set_irq_inatomic): what reaches the guest, and the errnos.
 */
import { DAIF, Errno, EventFd, GuestAsm, IrqType, KvmError, type Vcpu } from '@irqflow/core';
import { gicVm, loggingGuest, spiLine } from './helpers';

function errno(f: () => void): number | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof KvmError) return e.errno;
    throw e;
  }
}

describe.each(['gic-v3', 'gic-v2'] as const)('%s: KVM_IRQ_LINE and KVM_IRQFD', (name) => {
  it('KVM_IRQ_LINE type CPU with the in-kernel GIC is ENXIO, whatever the vCPU and line', () => {
    const { vm } = gicVm(name, 2);
    for (const [cpu, line] of [
      [0, 0],
      [1, 1],
      [9, 0],
      [0, 7],
    ])
      expect(errno(() => vm.irqLine((IrqType.Cpu << 24) | (cpu << 16) | line, 1))).toBe(Errno.ENXIO);
    expect(vm.vcpus[0].virq || vm.vcpus[1].vfiq).toBe(false);
  });

  it('KVM_IRQFD accepts any GSI once the GIC is initialised; without a valid route it injects nothing', () => {
    const { vm, drv } = gicVm(name, 1);
    const log: number[] = [];
    vm.vcpus[0].setProgram(loggingGuest(drv, [40], log).build());
    vm.run({ until: 20_000 });
    const far = new EventFd('far');
    const top = new EventFd('top');
    const near = new EventFd('near');
    expect(errno(() => vm.irqfd({ fd: far, gsi: 5088 }))).toBe('ok');
    expect(errno(() => vm.irqfd({ fd: top, gsi: 0xffffffdf }))).toBe('ok');
    expect(errno(() => vm.irqfd({ fd: near, gsi: 8 }))).toBe('ok'); // the default route: GSI 8 → SPI 40
    far.signal();
    top.signal();
    vm.run({ until: 40_000 });
    expect(log).toEqual([]);
    expect(vm.stats().injected).toBe(0);
    expect(vm.routing.assigned.map((f) => f.errors)).toEqual([0, 0, 0]);
    near.signal();
    vm.run({ until: 60_000 });
    expect(log).toEqual([40]);
    // and both deassign cleanly
    expect(errno(() => vm.irqfd({ fd: far, gsi: 5088, deassign: true }))).toBe('ok');
    expect(errno(() => vm.irqfd({ fd: top, gsi: 0xffffffdf, deassign: true }))).toBe('ok');
  });

  it('an irqfd without a resamplefd on a level SPI raises the line and leaves it high until KVM_IRQ_LINE lowers it', () => {
    const { vm, drv } = gicVm(name, 1);
    const log: number[] = [];
    let lowered = false;
    const a = loggingGuest(drv, [41], log, {
      level: true,
      // the VMM's device handling: lower the line from the handler (a level interrupt re-pends while high)
      handler: (g) =>
        g.call(() => {
          if (log.length === 1) {
            lowered = true;
            vm.irqLine(spiLine(41), 0);
          }
        }),
    });
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 20_000 });
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 9 }); // default route: SPI 41
    fd.signal();
    vm.run({ until: 60_000 });
    expect(log).toEqual([41]);
    expect(lowered).toBe(true);
    expect(vm.stats().completed).toBe(1);
  });

  it('31 nested preemptions with 4 LRs: the last, a level SPI from an irqfd, arrives over 30 active ones', () => {
    const { vm, drv } = gicVm(name, 1, { nrLrs: 4 });
    const v2 = name === 'gic-v2';
    const N = 30;
    const LEVEL = 32 + N; // SPI 62, priority 0x00, level, raised by the irqfd on GSI 30
    // SPI 32+k has priority (30-k)*8 (0xf0 .. 0x10): each next one preempts the previous; SPI 62 beats them all
    // (PMR 0xff keeps 0xf8: 31 unmasked levels).
    const entered: number[] = [];
    const done: number[] = [];
    const fd = new EventFd();
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    if (v2) a.movi(0, 0xff).stra(0, 0x08010004);
    else a.movi(0, 0xff).msr('ICC_PMR_EL1', 0);
    for (let k = 0; k < N; k++) drv.emitEnable(a, 32 + k, { priority: (30 - k) * 8 });
    drv.emitEnable(a, LEVEL, { priority: 0, level: true });
    a.daifclr(DAIF.I).label('loop').wfi().b('loop');
    a.label('irq');
    a.saveExceptionState(10);
    drv.emitAck(a, 9);
    a.bhsi(9, 1020, 'spurious');
    a.push(9);
    a.call((v: Vcpu) => {
      const id = v.x(9);
      entered.push(id);
      if (id === LEVEL) {
        vm.irqLine(spiLine(LEVEL), 0); // the VMM lowers the line while the guest handles it
        return;
      }
      vm.at(v.clock + 100, () => {
        if (id < 32 + N - 1) {
          vm.irqLine(spiLine(id + 1), 1);
          vm.irqLine(spiLine(id + 1), 0);
        } else fd.signal();
      });
    });
    a.daifclr(DAIF.I);
    a.work(3000); // long enough for the next interrupt to arrive and preempt
    a.daifset(DAIF.I);
    a.pop(9);
    a.call((v: Vcpu) => void done.push(v.x(9)));
    drv.emitEoi(a, 9);
    a.restoreExceptionState(10);
    a.eret();
    a.label('spurious').restoreExceptionState(10).eret();
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 1000 });
    vm.irqfd({ fd, gsi: N });
    vm.irqLine(spiLine(32), 1);
    vm.irqLine(spiLine(32), 0);
    vm.run({ until: 2_000_000 });
    const ids = [...Array.from({ length: N }, (_, k) => 32 + k), LEVEL];
    expect(entered).toEqual(ids);
    expect(done).toEqual([...ids].reverse());
    expect(vm.stats().completed).toBe(N + 1);
  });
});
