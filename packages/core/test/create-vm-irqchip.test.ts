/**
 * createVm({ irqchip, vcpus }) and the controller-neutral device line: a named controller is set up on the new
 * VM's vCPUs, aliases resolve to it, and `vm.deviceLine(pin)` encodes KVM_IRQ_LINE with the controller's own
 * numbering.
 */
import 'reflect-metadata';
import { Errno, Hypervisor, IrqType, type GuestIrqDriver, type IrqchipDescriptor, type Vm } from '@irqflow/core';
import { errno } from './support/errno';
import { TinyController } from './support/tiny-controller';

const driver = (name: string): GuestIrqDriver => ({
  name,
  spurious: 1023,
  deviceIrqs: { first: 32, count: 32 },
  emitCpuInit: () => {},
  emitEnable: () => {},
  emitAck: () => {},
  emitEoi: () => {},
});

function desc(name: string, extra: Partial<IrqchipDescriptor> = {}): IrqchipDescriptor & { seen: number[] } {
  const seen: number[] = [];
  return {
    name,
    description: 'test',
    features: [],
    maxVcpus: 4,
    seen,
    setup(vm: Vm): GuestIrqDriver {
      seen.push(vm.vcpus.length);
      new TinyController(vm).install();
      return driver(name);
    },
    ...extra,
  };
}

describe('createVm({ irqchip })', () => {
  it('creates the vCPUs, then sets the controller up on them; the driver and descriptor are on the VM', () => {
    const hv = new Hypervisor();
    const d = desc('tiny');
    hv.registerIrqchip(d);
    const vm = hv.createVm({ irqchip: 'tiny', vcpus: 3 });
    expect(vm.vcpus).toHaveLength(3);
    expect(d.seen).toEqual([3]);
    expect(vm.irqchip).toBe(d);
    expect(vm.driver?.name).toBe('tiny');
    expect(vm.hasIrqchip).toBe(true);
    expect(errno(() => vm.setupIrqchip('tiny'))).toBe(Errno.EEXIST);
  });

  it('resolves aliases; an alias or name already taken is refused whole (EEXIST, nothing registered)', () => {
    const hv = new Hypervisor();
    const d = desc('gic-x', { aliases: ['gicx'] });
    hv.registerIrqchip(d);
    expect(hv.irqchip('gicx')).toBe(d);
    expect(hv.irqchipName('gicx')).toBe('gic-x');
    expect(hv.createVm({ irqchip: 'gicx' }).irqchip).toBe(d);
    expect(errno(() => hv.registerIrqchip(desc('other', { aliases: ['gicx'] })))).toBe(Errno.EEXIST);
    expect(errno(() => hv.irqchip('other'))).toBe(Errno.ENOENT);
    expect(errno(() => hv.registerIrqchip(desc('gicx')))).toBe(Errno.EEXIST);
  });

  it('refuses unknown controllers (ENOENT, listing them), bad vCPU counts and vcpus without irqchip (EINVAL)', () => {
    const hv = new Hypervisor();
    hv.registerIrqchip(desc('tiny'));
    expect(errno(() => hv.createVm({ irqchip: 'nope' }))).toBe(Errno.ENOENT);
    expect(() => hv.createVm({ irqchip: 'nope' })).toThrow(/valid: tiny/);
    expect(errno(() => hv.createVm({ irqchip: 'tiny', vcpus: 5 }))).toBe(Errno.EINVAL);
    expect(errno(() => hv.createVm({ irqchip: 'tiny', vcpus: 0 }))).toBe(Errno.EINVAL);
    expect(errno(() => hv.createVm({ vcpus: 2 }))).toBe(Errno.EINVAL);
    expect(hv.vms).toHaveLength(0);
  });

  it('a setup that throws leaves no VM behind and the error reaches the caller', () => {
    const hv = new Hypervisor();
    hv.registerIrqchip(
      desc('bad', {
        setup: () => {
          throw new Error('board refused');
        },
      }),
    );
    expect(() => hv.createVm({ irqchip: 'bad', vcpus: 1 })).toThrow('board refused');
    expect(hv.vms).toHaveLength(0);
  });
});

describe('vm.deviceLine(pin)', () => {
  it('is SPI INTID pin+32 by default and the controller’s own number where it says so', () => {
    const hv = new Hypervisor();
    hv.registerIrqchip(desc('gic-like'));
    hv.registerIrqchip(desc('rvid-like', { deviceLineId: (pin) => pin }));
    expect(hv.createVm({ irqchip: 'gic-like' }).deviceLine(0)).toBe((IrqType.Spi << 24) | 32);
    expect(hv.createVm({ irqchip: 'rvid-like' }).deviceLine(5)).toBe((IrqType.Spi << 24) | 5);
  });

  it('needs a named controller (ENXIO) and a non-negative integer pin (EINVAL)', () => {
    const hv = new Hypervisor();
    hv.registerIrqchip(desc('gic-like'));
    expect(errno(() => hv.createVm().deviceLine(0))).toBe(Errno.ENXIO);
    const vm = hv.createVm({ irqchip: 'gic-like' });
    expect(errno(() => vm.deviceLine(-1))).toBe(Errno.EINVAL);
    expect(errno(() => vm.deviceLine(1.5))).toBe(Errno.EINVAL);
    expect(errno(() => vm.deviceLine(0x10000))).toBe(Errno.EINVAL);
  });
});
