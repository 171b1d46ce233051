import { DAIF, GuestAsm, Hypervisor, type Vcpu } from '@irqflow/core';
import { VgicPlugin } from '@irqflow/vgic';
import { gicVm, loggingGuest, spiLine } from './helpers';

describe('named irqchips', () => {
  it('VgicPlugin registers gic-v3 and gic-v2 with the device types 7 and 5', () => {
    const hv = new Hypervisor().use(VgicPlugin);
    expect(hv.irqchip('gic-v3').maxVcpus).toBe(512);
    expect(hv.irqchip('gic-v2').maxVcpus).toBe(8);
    expect(hv.deviceType(7)?.name).toBe('kvm-arm-vgic-v3');
    expect(hv.deviceType(5)?.name).toBe('kvm-arm-vgic-v2');
  });

  describe.each(['gic-v3', 'gic-v2'] as const)('%s driver', (name) => {
    it('cpu init + enable + ack + EOI deliver an edge SPI; the IPI macro reaches the indexed vCPU', () => {
      const { vm, drv } = gicVm(name, 2);
      const logs: number[][] = [[], []];
      vm.vcpus[0].setProgram(loggingGuest(drv, [40, drv.ipi!(2)], logs[0]).build());
      vm.vcpus[1].setProgram(
        loggingGuest(drv, [drv.ipi!(2)], logs[1], {
          before: (a) => {
            a.movi(12, 0);
            drv.emitSendIpi!(a, 12, 2);
          },
        }).build(),
      );
      vm.run({ until: 10_000 });
      vm.irqLine(spiLine(40), 1);
      vm.irqLine(spiLine(40), 0);
      vm.run({ until: 30_000 });
      expect(logs[0].sort((a, b) => a - b)).toEqual([2, 40]);
      expect(logs[1]).toEqual([]);
      expect(drv.spurious).toBe(1023);
      expect(drv.deviceIrqs).toEqual({ first: 32, count: 224 });
    });

    it('dump() shows the distributor, the vCPU interfaces and interrupt state in vgic-state style', () => {
      const { vm, drv } = gicVm(name, 1);
      vm.vcpus[0].setProgram(loggingGuest(drv, [40], [], { eoi: 'none' }).build());
      vm.run({ until: 10_000 });
      vm.irqLine(spiLine(40), 1);
      vm.run({ until: 20_000 });
      const d = vm.dump();
      expect(d).toContain(`vgic_model:\t${name === 'gic-v3' ? 'GICv3' : 'GICv2'}`);
      expect(d).toMatch(/VCPU 0 TYPE/);
      expect(d).toMatch(/SPI\s+40\s+-1\s+0\s+0\s+1\s+1/); // latched 0, line 0 (edge), active, enabled
    });
  });
});

describe('GICv2 SPIs target vCPU 0 until ITARGETSR is written (KVM reset)', () => {
  it('delivers to vCPU 0', () => {
    const { vm, drv, dev } = gicVm('gic-v2', 2);
    const log: number[] = [];
    vm.vcpus[0].setProgram(loggingGuest(drv, [], log).build());
    vm.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    vm.run({ until: 5_000 });
    dev.setAttr({ group: 1, attr: 0x104n }, 1n << 8n); // ISENABLER1: SPI 40
    vm.irqLine(spiLine(40), 1);
    vm.irqLine(spiLine(40), 0);
    vm.run({ until: 20_000 });
    expect(log).toEqual([40]);
  });
});

describe('GICv3 group 0 is signalled as vFIQ', () => {
  it('a group-0 SPI takes the FIQ vector and is acknowledged with ICC_IAR0_EL1', () => {
    const { vm, drv } = gicVm('gic-v3', 1);
    const fiqs: number[] = [];
    const irqs: number[] = [];
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, 40);
    drv.emitEnable(a, 41);
    a.ldra(0, 0x08000000 + 0x84)
      .andi(0, 0, ~(1 << 8) >>> 0)
      .stra(0, 0x08000000 + 0x84); // SPI 40 → group 0
    a.movi(0, 0x13).stra(0, 0x08000000); // EnableGrp0 | EnableGrp1A | ARE
    a.movi(0, 1).msr('ICC_IGRPEN0_EL1', 0);
    a.daifclr(DAIF.I | DAIF.F)
      .label('l')
      .wfi()
      .b('l');
    a.label('irq')
      .mrs(9, 'ICC_IAR1_EL1')
      .bhsi(9, 1020, 'o1')
      .call((v: Vcpu) => void irqs.push(v.x(9)))
      .msr('ICC_EOIR1_EL1', 9)
      .label('o1')
      .eret();
    a.label('fiq')
      .mrs(9, 'ICC_IAR0_EL1')
      .bhsi(9, 1020, 'o0')
      .call((v: Vcpu) => void fiqs.push(v.x(9)))
      .msr('ICC_EOIR0_EL1', 9)
      .label('o0')
      .eret();
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 10_000 });
    for (const id of [40, 41]) {
      vm.irqLine(spiLine(id), 1);
      vm.irqLine(spiLine(id), 0);
    }
    vm.run({ until: 30_000 });
    expect(fiqs).toEqual([40]);
    expect(irqs).toEqual([41]);
  });
});

describe('GICv2 ITARGETSR = 0 targets vCPU 0, as KVM (vgic_mmio_write_target)', () => {
  it('an SPI whose targets were written as 0 (a migration restore of reset state) still reaches vCPU 0', () => {
    const { vm, drv, dev } = gicVm('gic-v2', 2);
    const log: number[] = [];
    vm.vcpus[0].setProgram(loggingGuest(drv, [], log).build());
    vm.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    vm.run({ until: 5_000 });
    dev.setAttr({ group: 1, attr: 0x828n }, 0n); // ITARGETSR of SPIs 40..43: no target bit
    dev.setAttr({ group: 1, attr: 0x104n }, 1n << 8n); // ISENABLER1: SPI 40
    vm.irqLine(spiLine(40), 1);
    vm.irqLine(spiLine(40), 0);
    vm.run({ until: 20_000 });
    expect(log).toEqual([40]);
  });
});
