/** The VM API: vCPU creation, the irqchip slot, KVM_IRQ_LINE decoding, KVM_SIGNAL_MSI, teardown. */
import { Errno, GuestAsm, Hypervisor, IrqType, KvmError, MSI_VALID_DEVID, MpState, sampleCpuIrqLines, type Vm } from '../../src';
import { systemOff } from '../support/programs';
import { TinyController, tinyVm } from '../support/tiny-controller';
import { errno } from '../support/errno';

const irq = (type: IrqType, vcpu: number, id: number): number => ((vcpu >> 8) << 28) | (type << 24) | ((vcpu & 0xff) << 16) | id;

describe('createVcpu', () => {
  it('assigns ids in order and MPIDR affinity from the id', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    const v0 = vm.createVcpu();
    const v17 = vm.createVcpu(17);
    expect(v0.id).toBe(0);
    expect(v17.index).toBe(1);
    expect(v17.mpidr).toBe(0x101); // Aff0 = id[3:0], Aff1 = id[11:4]
    expect(vm.vcpuByMpidr(0x101)).toBe(v17);
    expect(vm.vcpuByMpidr(0x80000101)).toBe(v17);
    expect(vm.vcpuByMpidr(0x1_0000_0000)).toBeUndefined();
    expect(v0.mp).toBe(MpState.Runnable);
  });

  it('finds a vCPU by MPIDR whatever the order its ids were created in', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    const [v5, v0, v1, v16] = [5, 0, 1, 16].map((id) => vm.createVcpu(id));
    expect([0, 1, 5, 0x100, 2, 0x10].map((m) => vm.vcpuByMpidr(m))).toEqual([v0, v1, v5, v16, undefined, undefined]);
  });

  it('refuses a duplicate id (EEXIST) and ids outside 0..511 (EINVAL)', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    vm.createVcpu(3);
    expect(errno(() => vm.createVcpu(3))).toBe(Errno.EEXIST);
    expect(errno(() => vm.createVcpu(512))).toBe(Errno.EINVAL);
    expect(errno(() => vm.createVcpu(-1))).toBe(Errno.EINVAL);
    expect(errno(() => vm.createVcpu(1.5))).toBe(Errno.EINVAL);
    expect(vm.vcpus).toHaveLength(1);
  });

  it('refuses vCPUs once the irqchip is finalized (EBUSY)', () => {
    const { vm } = tinyVm(1);
    vm.finalizeIrqchip();
    expect(errno(() => vm.createVcpu())).toBe(Errno.EBUSY);
    expect(vm.vcpus).toHaveLength(1);
  });

  it('refuses vCPUs once a vCPU has run (EBUSY)', () => {
    const { vm, vcpus } = tinyVm(1);
    const a = new GuestAsm();
    systemOff(a.label('main'));
    vcpus[0].setProgram(a.build());
    vm.run();
    expect(vm.anyVcpuRan).toBe(true);
    expect(errno(() => vm.createVcpu())).toBe(Errno.EBUSY);
  });

  it('runs the controller vcpuInit for vCPUs created before and after setIrqchip', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    vm.createVcpu();
    const ctl = new TinyController(vm).install();
    vm.createVcpu();
    expect(ctl.calls.vcpuInit).toBe(2);
    expect(ctl.pending(vm.vcpus[1])).toEqual([]);
  });
});

describe('setIrqchip', () => {
  it('a second controller is refused with EEXIST and the first stays installed', () => {
    const { vm, ctl } = tinyVm(1);
    expect(errno(() => vm.setIrqchip({}, 'other'))).toBe(Errno.EEXIST);
    expect(vm.flow.flow).toBe(ctl);
    expect(vm.flow.name).toBe('tiny');
  });

  it('a controller whose vcpuInit refuses a vCPU is not installed', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    vm.createVcpu();
    const refuse = {
      vcpuInit: (): void => {
        throw new KvmError(Errno.E2BIG, 'too many');
      },
    };
    expect(errno(() => vm.setIrqchip(refuse, 'refuser'))).toBe(Errno.E2BIG);
    expect(vm.hasIrqchip).toBe(false);
    expect(vm.flow.name).toBe('none');
    expect(errno(() => new TinyController(vm).install())).toBe('ok');
  });
});

describe('KVM_IRQ_LINE', () => {
  it('type CPU without an irqchip drives the vCPU IRQ/FIQ inputs (vCPU index from both fields)', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    for (let i = 0; i < 258; i++) vm.createVcpu();
    vm.irqLine(irq(IrqType.Cpu, 257, 0), 1);
    vm.irqLine(irq(IrqType.Cpu, 257, 1), true);
    // the inputs (KVM's irq_lines) change at once; the vCPU's VI/VF only when it samples them, once they are due
    expect(vm.vcpus[257].irqInput).toBe(true);
    expect(vm.vcpus[257].fiqInput).toBe(true);
    expect(vm.vcpus[257].virq).toBe(false);
    expect(vm.vcpus[1].irqInput).toBe(false);
    const late = vm.vcpus[257];
    late.charge(1_000); // its clock past the changes' due time (the VM's time + ipiLatency)
    sampleCpuIrqLines(late);
    expect([late.virq, late.vfiq]).toEqual([true, true]);
    vm.irqLine(irq(IrqType.Cpu, 257, 0), 0);
    expect(late.irqInput).toBe(false);
    sampleCpuIrqLines(late);
    expect([late.virq, late.vfiq]).toEqual([false, true]);
  });

  it('type CPU: bad line or vCPU → EINVAL; with an in-kernel irqchip → ENXIO (checked first, as KVM)', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    vm.createVcpu();
    expect(errno(() => vm.irqLine(irq(IrqType.Cpu, 0, 2), 1))).toBe(Errno.EINVAL);
    expect(errno(() => vm.irqLine(irq(IrqType.Cpu, 1, 0), 1))).toBe(Errno.EINVAL);
    const { vm: vm2 } = tinyVm(1);
    expect(errno(() => vm2.irqLine(irq(IrqType.Cpu, 0, 0), 1))).toBe(Errno.ENXIO);
    // the irqchip check comes before the vCPU and line checks
    expect(errno(() => vm2.irqLine(irq(IrqType.Cpu, 7, 0), 1))).toBe(Errno.ENXIO);
    expect(errno(() => vm2.irqLine(irq(IrqType.Cpu, 0, 2), 1))).toBe(Errno.ENXIO);
    expect(vm2.vcpus[0].virq).toBe(false);
  });

  it('PPI and SPI need an in-kernel irqchip (ENXIO)', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    vm.createVcpu();
    expect(errno(() => vm.irqLine(irq(IrqType.Ppi, 0, 20), 1))).toBe(Errno.ENXIO);
    expect(errno(() => vm.irqLine(irq(IrqType.Spi, 0, 40), 1))).toBe(Errno.ENXIO);
  });

  it('an unknown type → EINVAL; PPI to a missing vCPU → EINVAL', () => {
    const { vm } = tinyVm(1);
    expect(errno(() => vm.irqLine(irq(3 as IrqType, 0, 20), 1))).toBe(Errno.EINVAL);
    expect(errno(() => vm.irqLine(irq(IrqType.Ppi, 1, 20), 1))).toBe(Errno.EINVAL);
  });

  it('PPI and SPI reach the controller with the decoded vCPU; its range errors propagate', () => {
    const { vm, ctl, vcpus } = tinyVm(2);
    vm.irqLine(irq(IrqType.Ppi, 1, 20), 1);
    vm.irqLine(irq(IrqType.Spi, 1, 40), 1); // SPI ignores the vCPU field
    expect(ctl.pending(vcpus[1])).toEqual([20]);
    expect(ctl.pending(vcpus[0])).toEqual([40]);
    expect(errno(() => vm.irqLine(irq(IrqType.Ppi, 0, 40), 1))).toBe(Errno.EINVAL);
  });
});

describe('KVM_SIGNAL_MSI', () => {
  it('without MSI support (no setMsi) → ENODEV', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    vm.createVcpu();
    expect(errno(() => vm.signalMsi({ address: 0, data: 1 }))).toBe(Errno.ENODEV);
  });

  it('returns what the controller returns: 1 delivered, 0 blocked, KvmError for errors', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    expect(vm.signalMsi({ address: 0x8000040, data: 8192, devid: 1, flags: MSI_VALID_DEVID })).toBe(1);
    expect(ctl.pending(vcpus[0])).toEqual([8192]);
    ctl.msiBlocked = true;
    expect(vm.signalMsi({ address: 0x8000040, data: 8193, devid: 1, flags: MSI_VALID_DEVID })).toBe(0);
    expect(errno(() => vm.signalMsi({ address: 0x8000040, data: 8193 }))).toBe(Errno.EINVAL);
    expect(ctl.pending(vcpus[0])).toEqual([8192]);
  });
});

describe('teardown', () => {
  it('destroy runs the controller destroy once, cancels events and makes run fail with ENODEV', async () => {
    const { vm, ctl } = tinyVm(1);
    const fired: number[] = [];
    vm.at(100, () => fired.push(1));
    await vm.destroy();
    await vm.destroy();
    expect(ctl.calls.destroy).toBe(1);
    expect(vm.events.size).toBe(0);
    expect(errno(() => vm.run())).toBe(Errno.ENODEV);
    expect(fired).toEqual([]);
    expect(vm.hv.vms).not.toContain(vm);
  });
});

describe('ONE_REG and attributes', () => {
  let vm: Vm;
  beforeEach(() => {
    vm = tinyVm(1).vm;
    const a = new GuestAsm();
    vm.vcpus[0].setProgram(a.label('main').nop().nop().build());
  });

  it('core registers round-trip all 64 bits; PC is checked against the program', () => {
    const v = vm.vcpus[0];
    const X5 = 0x6030_0000_0010_000an;
    v.setOneReg(X5, 0xfedc_ba98_7654_3210n);
    expect(v.getOneReg(X5)).toBe(0xfedc_ba98_7654_3210n);
    expect(v.xBig(5)).toBe(0xfedc_ba98_7654_3210n);
    v.setOneReg(0x6030_0000_0010_0040n, 1n);
    expect(v.pc).toBe(1);
    expect(errno(() => v.setOneReg(0x6030_0000_0010_0040n, 2n))).toBe(Errno.EINVAL);
    expect(errno(() => v.getOneReg(0x6030_0000_0099_0000n))).toBe(Errno.ENOENT);
  });

  it('unknown vCPU attribute groups → ENXIO; hasAttr false', () => {
    const v = vm.vcpus[0];
    expect(errno(() => v.setAttr(1, 0n, 0n))).toBe(Errno.ENXIO);
    expect(errno(() => v.getAttr(1, 0n))).toBe(Errno.ENXIO);
    expect(v.hasAttr(1, 0n)).toBe(false);
  });
});
