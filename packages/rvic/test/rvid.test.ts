import { EventFd, IrqType, Vm } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_CTRL_INIT,
  KVM_DEV_ARM_RVIC_GRP_CTRL,
  RVID_MSI_DOORBELL,
  RvicCall,
  RvicStatus,
  RvidCall,
  emitCpuBringUp,
  emitMove,
  rvicFid,
  rvidFid,
} from '@irqflow/rvic';
import { callLog, GuestAsm, idleLoop, irqHandler, makeVm, off, st, type Ret } from './helpers';

/** jest's asymmetric matcher for a thrown KvmError with these fields, typed for `toThrow`. */
const kvmError = (fields: { code?: string; errno?: number }): Error => expect.objectContaining(fields) as Error;

const SPI = (input: number) => (IrqType.Spi << 24) | input;

describe('rVID', () => {
  it('VERSION; MAP validates input (0), then MPIDR (1), then an untrusted intid (2); UNMAP validates input', () => {
    const { vm } = makeVm(2);
    const log: Ret[] = [];
    const a = new GuestAsm();
    a.label('main');
    callLog(a, log, rvidFid(RvidCall.VERSION));
    callLog(a, log, rvidFid(RvidCall.MAP), 96, 9, 31); // everything bad: input reported first
    callLog(a, log, rvidFid(RvidCall.MAP), 5, 9, 31); // bad MPIDR reported before bad intid
    callLog(a, log, rvidFid(RvidCall.MAP), 5, 1, 31); // trusted intid
    callLog(a, log, rvidFid(RvidCall.MAP), 5, 1, 128); // beyond total
    callLog(a, log, rvidFid(RvidCall.MAP), 5, 1, 40);
    callLog(a, log, rvidFid(RvidCall.MAP), 6, 1, 40); // 40 is already fed by input 5
    callLog(a, log, rvidFid(RvidCall.UNMAP), 96);
    callLog(a, log, rvidFid(RvidCall.UNMAP), 5);
    off(a);
    vm.vcpus[0].setProgram(a.build());
    vm.run({ only: vm.vcpus[0] });
    expect(log[0]).toEqual({ x0: 0, x1: 0x3 });
    expect(log.slice(1).map(st)).toEqual([
      [RvicStatus.ERROR_PARAMETER, 0],
      [RvicStatus.ERROR_PARAMETER, 1],
      [RvicStatus.ERROR_PARAMETER, 2],
      [RvicStatus.ERROR_PARAMETER, 2],
      [RvicStatus.SUCCESS, 0],
      [RvicStatus.ERROR_PARAMETER, 2],
      [RvicStatus.ERROR_PARAMETER, 0],
      [RvicStatus.SUCCESS, 0],
    ]);
  });

  it('KVM_IRQ_LINE (SPI type) reaches the mapped vCPU; unmapped inputs are dropped and counted', () => {
    const { vm } = makeVm(2);
    const log: Ret[] = [];
    const a = new GuestAsm();
    a.label('main');
    emitCpuBringUp(a, 128);
    a.work(1_000_000);
    a.movi(0, rvidFid(RvidCall.MAP)).movi(1, 7).movi(2, 1).movi(3, 39).hvc(0);
    a.call(() => {
      vm.irqLine(SPI(7), 1);
      vm.irqLine(SPI(7), 0);
      vm.irqLine(SPI(8), 1); // unmapped
    });
    callLog(a, log, rvicFid(RvicCall.IS_PENDING), 1, 39);
    off(a);
    const b = new GuestAsm();
    b.label('main');
    emitCpuBringUp(b, 128);
    off(b);
    vm.vcpus[0].setProgram(a.build());
    vm.vcpus[1].setProgram(b.build());
    vm.run();
    expect(log[0]).toEqual({ x0: 0, x1: 1 });
    expect(vm.vcpus[1].stats.injected).toBe(1);
    expect(vm.dump()).toMatch(/dropped\(unmapped\)=1/);
    expect(vm.dump()).toContain('input 7 -> vcpu1 intid 39');
    expect(() => vm.irqLine(SPI(48), 1)).toThrow(kvmError({ errno: 22 })); // an MSI input
    expect(() => vm.irqLine((IrqType.Cpu << 24) | 0, 1)).toThrow(kvmError({ errno: 6 })); // ENXIO: in-kernel irqchip
  });

  it('retargeting moves the route and the guest transfers the pending state (mask / MAP / IS_PENDING + SIGNAL / unmask)', () => {
    const { vm } = makeVm(2);
    const log: Ret[] = [];
    const a = new GuestAsm();
    a.label('main');
    emitCpuBringUp(a, 128);
    a.work(1_000_000); // vCPU1 is up
    a.movi(0, rvidFid(RvidCall.MAP)).movi(1, 3).movi(2, 0).movi(3, 45).hvc(0);
    a.call(() => {
      vm.irqLine(SPI(3), 1);
      vm.irqLine(SPI(3), 0);
    }); // pending on vCPU0, masked
    emitMove(a, { input: 3, intid: 45, from: 0, to: 1, unmask: false });
    callLog(a, log, rvicFid(RvicCall.IS_PENDING), 0, 45);
    callLog(a, log, rvicFid(RvicCall.IS_PENDING), 1, 45);
    a.call(() => {
      vm.irqLine(SPI(3), 1);
      vm.irqLine(SPI(3), 0);
    });
    callLog(a, log, rvicFid(RvicCall.CLEAR_PENDING), 1, 45);
    a.call(() => {
      vm.irqLine(SPI(3), 1);
      vm.irqLine(SPI(3), 0);
    }); // a new edge lands on vCPU1 only
    callLog(a, log, rvicFid(RvicCall.IS_PENDING), 0, 45);
    callLog(a, log, rvicFid(RvicCall.IS_PENDING), 1, 45);
    off(a);
    const b = new GuestAsm();
    b.label('main');
    emitCpuBringUp(b, 128);
    b.label('w')
      .work(1000)
      .callb(() => log.length < 5, 'w');
    off(b);
    vm.vcpus[0].setProgram(a.build());
    vm.vcpus[1].setProgram(b.build());
    vm.run();
    expect(log.map((r) => r.x1)).toEqual([0, 1, 0, 0, 1]);
    expect(vm.dump()).toContain('input 3 -> vcpu1 intid 45');
  });
});

describe('moving an untrusted interrupt with the guest driver sequence', () => {
  it('a pending interrupt follows the move and is taken by the new vCPU only', () => {
    const { vm } = makeVm(2);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    const a = new GuestAsm();
    a.label('main');
    emitCpuBringUp(a, 128);
    a.work(1_000_000);
    a.movi(0, rvidFid(RvidCall.MAP)).movi(1, 4).movi(2, 0).movi(3, 46).hvc(0);
    a.movi(0, rvicFid(RvicCall.CLEAR_MASKED)).movi(1, 0).movi(2, 46).hvc(0);
    a.call(() => {
      vm.irqLine(SPI(4), 1);
      vm.irqLine(SPI(4), 0);
    }); // queued on vCPU0, which keeps PSTATE.I masked
    emitMove(a, { input: 4, intid: 46, from: 0, to: 1 });
    a.daifclr(2).work(1_000_000);
    a.call(() => {
      vm.irqLine(SPI(4), 1);
      vm.irqLine(SPI(4), 0);
    }); // a later edge goes straight to vCPU1
    a.work(1_000_000);
    off(a);
    a.label('irq')
      .call((cpu) => {
        seen.push({ cpu: cpu.index, intid: -1, t: 0 });
      })
      .eret();
    const b = new GuestAsm();
    idleLoop(b, (s) => emitCpuBringUp(s, 128));
    irqHandler(b, seen);
    vm.vcpus[0].setProgram(a.build());
    vm.vcpus[1].setProgram(b.build());
    vm.run({ until: 1e8 });
    expect(seen.map((s) => [s.cpu, s.intid])).toEqual([
      [1, 46],
      [1, 46],
    ]);
  });

  it('KVM_SET_GSI_ROUTING: EINVAL for a pin that is not a wired input, and the table is unchanged', () => {
    const { vm } = makeVm(1); // 32/128: wired inputs 0..47, MSI inputs 48..95
    const before = vm.routing.routes;
    expect(before).toHaveLength(48); // INIT's default routing validated
    for (const pin of [48, 60, 95]) {
      expect(() =>
        vm.setGsiRouting([
          { gsi: 0, type: 'irqchip', irqchip: 0, pin: 1 },
          { gsi: 1, type: 'irqchip', irqchip: 0, pin },
        ]),
      ).toThrow(kvmError({ code: 'EINVAL' }));
    }
    expect(vm.routing.routes).toBe(before);
    vm.setGsiRouting([{ gsi: 0, type: 'irqchip', irqchip: 0, pin: 47 }]);
    expect(vm.routing.routes).toHaveLength(1);
  });

  it('KVM_SET_GSI_ROUTING: EINVAL for an MSI route off the doorbell or outside the MSI inputs', () => {
    const { vm } = makeVm(1);
    const before = vm.routing.routes;
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 3 });
    for (const msi of [
      { address: 0x8090000, data: 50 },
      { address: RVID_MSI_DOORBELL, data: 47 },
      { address: RVID_MSI_DOORBELL, data: 96 },
    ]) {
      expect(() => vm.setGsiRouting([{ gsi: 3, type: 'msi', msi }])).toThrow(kvmError({ code: 'EINVAL' }));
    }
    expect(vm.routing.routes).toBe(before);
    expect(vm.routing.assigned[0].routes).toEqual([{ gsi: 3, type: 'irqchip', irqchip: 0, pin: 3 }]);
    vm.setGsiRouting([{ gsi: 3, type: 'msi', msi: { address: RVID_MSI_DOORBELL, data: 48 } }]);
    fd.signal();
    expect(vm.routing.assigned[0].errors).toBe(0);
  });

  it('before INIT, routes are checked against the widest sizing and kept by INIT', () => {
    const { vm, dev } = makeVm(1, { init: false, total: 256 });
    expect(() => vm.setGsiRouting([{ gsi: 0, type: 'msi', msi: { address: 0x1000, data: 200 } }])).toThrow(kvmError({ code: 'EINVAL' }));
    const routes = [
      { gsi: 0, type: 'irqchip' as const, irqchip: 0, pin: 100 },
      { gsi: 1, type: 'msi' as const, msi: { address: RVID_MSI_DOORBELL, data: 200 } },
    ];
    vm.setGsiRouting(routes);
    dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_CTRL, KVM_DEV_ARM_RVIC_CTRL_INIT));
    expect(vm.routing.routes).toEqual(routes);
  });
});
