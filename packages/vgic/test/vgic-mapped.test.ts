import { DAIF, GuestAsm, IrqchipState, type Vcpu } from '@irqflow/core';
import { gicVm, ppiLine, spiLine } from './helpers';

describe.each(['gic-v3', 'gic-v2'] as const)('%s asymmetric deactivation', (name) => {
  it('an SPI taken and priority-dropped on vCPU0 is deactivated by vCPU1 (EOImode 1)', () => {
    const { vm, drv } = gicVm(name, 2);
    const v2 = name === 'gic-v2';
    const log: number[] = [];
    let mailbox = -1;
    const g0 = new GuestAsm();
    g0.label('main');
    drv.emitCpuInit(g0);
    if (v2) g0.movi(0, 0x201).stra(0, 0x08010000);
    else g0.movi(0, 2).msr('ICC_CTLR_EL1', 0);
    drv.emitEnable(g0, 40);
    g0.daifclr(DAIF.I).label('loop').wfi().b('loop');
    g0.label('irq');
    drv.emitAck(g0, 9);
    g0.bhsi(9, 1020, 'out');
    g0.call((v: Vcpu) => {
      log.push(v.x(9));
      mailbox = v.x(9);
    });
    if (v2) g0.pop(7).stra(7, 0x08010010);
    else g0.msr('ICC_EOIR1_EL1', 9); // priority drop only
    g0.label('out').eret();
    const g1 = new GuestAsm();
    g1.label('main');
    drv.emitCpuInit(g1);
    if (v2) g1.movi(0, 0x201).stra(0, 0x08010000);
    else g1.movi(0, 2).msr('ICC_CTLR_EL1', 0);
    g1.label('poll')
      .work(200)
      .callb(() => mailbox < 0, 'poll');
    g1.call((v: Vcpu) => {
      v.setX(1, mailbox);
      mailbox = -1;
    });
    if (v2) g1.stra(1, 0x08011000);
    else g1.msr('ICC_DIR_EL1', 1);
    g1.b('poll');
    vm.vcpus[0].setProgram(g0.build());
    vm.vcpus[1].setProgram(g1.build());
    vm.run({ until: 5_000 });
    for (let k = 1; k <= 3; k++) {
      vm.irqLine(spiLine(40), 1);
      vm.irqLine(spiLine(40), 0);
      vm.run({ until: 5_000 + k * 50_000 });
    }
    // Each one was deactivated remotely, so the next edge was delivered again.
    expect(log).toEqual([40, 40, 40]);
  });

  it('without the remote deactivation the second edge stays pending behind the active one', () => {
    const { vm, drv } = gicVm(name, 1);
    const v2 = name === 'gic-v2';
    const log: number[] = [];
    const g0 = new GuestAsm();
    g0.label('main');
    drv.emitCpuInit(g0);
    if (v2) g0.movi(0, 0x201).stra(0, 0x08010000);
    else g0.movi(0, 2).msr('ICC_CTLR_EL1', 0);
    drv.emitEnable(g0, 40);
    g0.daifclr(DAIF.I).label('loop').wfi().b('loop');
    g0.label('irq');
    drv.emitAck(g0, 9);
    g0.bhsi(9, 1020, 'out');
    g0.call((v: Vcpu) => void log.push(v.x(9)));
    if (v2) g0.pop(7).stra(7, 0x08010010);
    else g0.msr('ICC_EOIR1_EL1', 9);
    g0.label('out').eret();
    vm.vcpus[0].setProgram(g0.build());
    vm.run({ until: 5_000 });
    for (let k = 1; k <= 2; k++) {
      vm.irqLine(spiLine(40), 1);
      vm.irqLine(spiLine(40), 0);
      vm.run({ until: 5_000 + k * 50_000 });
    }
    expect(log).toEqual([40]);
  });
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s mapped level interrupts (seed 000)', (name) => {
  it('samples the device line, deactivates the host interrupt on guest EOI and re-fires while the line is high', () => {
    const { vm, drv, hv } = gicVm(name, 1);
    const owner = { name: 'test-device' };
    let line = false;
    let deviceAcks = 0;
    const host = hv.hostIrqs.allocate('dev', () => vm.flow.injectIrq(vm, 0, 27, true, owner));
    vm.flow.setOwner(vm.vcpus[0], 27, owner);
    vm.flow.mapPhysIrq(vm.vcpus[0], host.irq, 27, () => line);
    const log: number[] = [];
    const activeSeen: boolean[] = [];
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, 27, { level: true });
    a.daifclr(DAIF.I).label('loop').wfi().b('loop');
    a.label('irq');
    drv.emitAck(a, 9);
    a.bhsi(9, 1020, 'out');
    a.call((v: Vcpu) => {
      log.push(v.x(9));
      activeSeen.push(vm.flow.mapIsActive(v, 27), hv.hostIrqs.getIrqchipState(host.irq, IrqchipState.Active));
      // the driver quiesces the device every second interrupt: until then the line stays high
      if (++deviceAcks % 2 === 0) {
        line = false;
        vm.flow.injectIrq(vm, 0, 27, false, owner);
      }
    });
    drv.emitEoi(a, 9);
    a.label('out').eret();
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 5_000 });
    line = true;
    hv.hostIrqs.raise(host.irq);
    vm.run({ until: 50_000 });
    expect(activeSeen.slice(0, 2)).toEqual([true, true]);
    expect(host.active).toBe(false);
    // after the first EOI the line was re-sampled high: delivered again; then the device went quiet
    expect(log).toEqual([27, 27]);
    line = true;
    hv.hostIrqs.raise(host.irq);
    vm.run({ until: 100_000 });
    expect(log).toEqual([27, 27, 27, 27]);
    expect(host.active).toBe(false);
    expect(line).toBe(false);
    // userspace may not drive an owned interrupt
    expect(() => vm.irqLine(ppiLine(0, 27), 1)).toThrow(/EPERM/);
    expect(() => vm.flow.setOwner(vm.vcpus[0], 27, {})).toThrow(/EBUSY/);
    expect(() => vm.flow.setOwner(vm.vcpus[0], 3, owner)).toThrow(/EINVAL/);
    expect(() => vm.flow.mapPhysIrq(vm.vcpus[0], host.irq, 27, null)).toThrow(/EBUSY/);
    vm.flow.unmapPhysIrq(vm.vcpus[0], 27);
    expect(() => vm.flow.unmapPhysIrq(vm.vcpus[0], 27)).toThrow(/EINVAL/);
  });

  it('guest writes of pending/active on a mapped interrupt reach the host interrupt; resetMappedIrq clears it', () => {
    const { vm, drv, hv } = gicVm(name, 1);
    const host = hv.hostIrqs.allocate('dev2', null);
    vm.flow.mapPhysIrq(vm.vcpus[0], host.irq, 26, () => false);
    const v2 = name === 'gic-v2';
    const sgiBase = v2 ? 0x08000000 : 0x080a0000 + 0x10000;
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    a.movi(0, 1 << 26).stra(0, sgiBase + 0x300); // ISACTIVER0
    a.movi(0, 1 << 26).stra(0, sgiBase + 0x200); // ISPENDR0
    a.call(() => {
      expect(host.active).toBe(true);
      expect(host.pending).toBe(true);
    });
    a.movi(0, 1 << 26).stra(0, sgiBase + 0x380); // ICACTIVER0
    a.movi(0, 1 << 26).stra(0, sgiBase + 0x280); // ICPENDR0
    a.label('end').wfi().b('end');
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 50_000 });
    expect(host.active).toBe(false);
    expect(host.pending).toBe(false);
    hv.hostIrqs.setIrqchipState(host.irq, IrqchipState.Active, true);
    vm.flow.resetMappedIrq(vm.vcpus[0], 26);
    expect(host.active).toBe(false);
    expect(vm.flow.mapIsActive(vm.vcpus[0], 26)).toBe(false);
  });
});
