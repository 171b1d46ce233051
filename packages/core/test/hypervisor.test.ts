/** The Hypervisor: registries, per-VM DI containers, and isolation between VMs. */
import 'reflect-metadata';
import { injectable, Lifecycle, scoped } from 'tsyringe';
import {
  Errno,
  EventQueue,
  GuestAsm,
  GuestMemory,
  HOST_IRQS,
  Hypervisor,
  MmioBus,
  SYSREGS,
  TRACE,
  Vm,
  VM,
  type IrqchipDescriptor,
  type IrqflowPlugin,
} from '../src';
import { handleN } from './support/programs';
import { TinyController, tinyVm } from './support/tiny-controller';
import { errno } from './support/errno';

@scoped(Lifecycle.ContainerScoped)
@injectable()
class PerVmState {
  counter = 0;
}

describe('two VMs in one hypervisor', () => {
  it('with different controllers share no state', () => {
    const hv = new Hypervisor();
    const a = tinyVm(2, { hv, name: 'a' });
    // the second VM's controller uses other registers: ack traps, EOI is ICC_EOIR0_EL1
    const b = tinyVm(1, { hv, name: 'b', ackTrapped: true, ackReg: SYSREGS.ICC_IAR0_EL1, eoiReg: SYSREGS.ICC_EOIR0_EL1 });
    expect(a.vm.id).not.toBe(b.vm.id);
    a.vcpus[0].setProgram(handleN(1).build());
    a.ctl.queue(a.vcpus[0], 50);
    a.vm.mmio.register(0x1000, 0x100, { name: 'only-a', read: () => true, write: () => true });
    a.vm.setGsiRouting([{ gsi: 1, type: 'irqchip', irqchip: 0, pin: 1 }]);
    a.vm.hypercalls.register({ base: 0xc6000000, count: 1, name: 'A', handler: () => undefined });
    a.vm.memory.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0x4000_0000, size: 0x10000 });
    a.vm.memory.writeU32(0x4000_0000, 0x1234);
    expect(a.vm.run().reason).toBe('shutdown');

    // nothing of that is visible in b
    expect(b.ctl.pending(b.vcpus[0])).toEqual([]);
    expect(b.vm.mmio.devices).toHaveLength(0);
    expect(b.vm.routing.routes).toEqual([]);
    expect(b.vm.hypercalls.all).toHaveLength(0);
    expect(b.vm.memory.memorySlots).toHaveLength(0);
    expect(b.vm.sysregs.get(SYSREGS.ICC_IAR1_EL1)).toBeUndefined();
    expect(a.vm.sysregs.get(SYSREGS.ICC_IAR0_EL1)).toBeUndefined();
    expect(b.vcpus[0].stats.totalExits()).toBe(0);
    expect(b.vm.now).toBe(0);
    expect(b.vm.flow.flow).toBe(b.ctl);
    expect(a.vm.flow.flow).toBe(a.ctl);
    // the controllers share a slot index (one per kind of extension), never the state in it: each vCPU holds
    // its own VM's per-vCPU state
    expect(b.ctl.slot.get(b.vcpus[0])).toBeDefined();
    expect(b.ctl.slot.get(b.vcpus[0])).not.toBe(a.ctl.slot.get(a.vcpus[0]));

    // b runs its own guest with its own registers
    const g = new GuestAsm();
    g.label('main').daifclr(2).wfi().movi(0, 0x84000008).hvc();
    g.label('irq').mrs(0, 'ICC_IAR0_EL1').msr('ICC_EOIR0_EL1', 0).eret();
    b.vcpus[0].setProgram(g.build());
    b.vm.at(500, () => b.ctl.queue(b.vcpus[0], 60));
    expect(b.vm.run().reason).toBe('shutdown');
    expect(b.ctl.completedLog).toEqual([60]);
    expect(a.ctl.completedLog).toEqual([50]);
    expect(b.vm.stats().traps).toMatchObject({ ICC_IAR0_EL1: 1, ICC_EOIR0_EL1: 1 });
    expect(a.vm.stats().traps.ICC_IAR0_EL1).toBeUndefined();
  });

  it('get distinct DI containers; per-VM services resolve to the VM’s own instances', () => {
    const hv = new Hypervisor();
    const v1 = hv.createVm();
    const v2 = hv.createVm();
    expect(v1.container).not.toBe(v2.container);
    expect(v1.container.resolve(MmioBus)).toBe(v1.mmio);
    expect(v2.container.resolve(MmioBus)).toBe(v2.mmio);
    expect(v1.container.resolve(GuestMemory)).toBe(v1.memory);
    expect(v1.container.resolve(EventQueue)).toBe(v1.events);
    expect(v1.container.resolve<Vm>(VM)).toBe(v1);
    expect(v1.container.resolve(Vm)).toBe(v1);
    const s1 = v1.container.resolve(PerVmState);
    s1.counter = 5;
    expect(v1.container.resolve(PerVmState)).toBe(s1);
    expect(v2.container.resolve(PerVmState)).not.toBe(s1);
    expect(v2.container.resolve(PerVmState).counter).toBe(0);
    // shared host services come from the hypervisor's root container
    expect(v1.container.resolve(HOST_IRQS)).toBe(hv.hostIrqs);
    expect(v2.container.resolve(TRACE)).toBe(hv.trace);
  });

  it('two hypervisors are independent too', () => {
    const h1 = new Hypervisor();
    const h2 = new Hypervisor();
    expect(h1.createVm().container.resolve(HOST_IRQS)).not.toBe(h2.createVm().container.resolve(HOST_IRQS));
    expect(h1.createVm().id).toBe(1);
    expect(h2.createVm().id).toBe(1);
  });
});

describe('registries', () => {
  it('plugins register once by name', () => {
    const hv = new Hypervisor();
    const reg = jest.fn();
    const p: IrqflowPlugin = { name: 'p', register: reg };
    hv.use(p).use(p);
    expect(reg).toHaveBeenCalledTimes(1);
  });

  it('irqchips, device types, extensions and cost profiles refuse duplicates (EEXIST) and unknown names (ENOENT)', () => {
    const hv = new Hypervisor();
    const desc: IrqchipDescriptor = {
      name: 'tiny',
      description: 'test',
      features: [],
      maxVcpus: 4,
      setup: () => {
        throw new Error('unused');
      },
    };
    hv.registerIrqchip(desc);
    expect(errno(() => hv.registerIrqchip(desc))).toBe(Errno.EEXIST);
    expect(hv.irqchip('tiny')).toBe(desc);
    expect(errno(() => hv.irqchip('nope'))).toBe(Errno.ENOENT);
    expect(() => hv.irqchip('nope')).toThrow(/valid: tiny/);
    expect(hv.irqchipDescriptors).toEqual([desc]);
    const type = {
      type: 0x1234,
      name: 't',
      create: () => ({ type: 0x1234, name: 't', setAttr: () => undefined, getAttr: () => 0n, hasAttr: () => false }),
    };
    hv.registerDeviceType(type);
    expect(errno(() => hv.registerDeviceType(type))).toBe(Errno.EEXIST);
    hv.registerExtension({ name: 'ext' });
    expect(errno(() => hv.registerExtension({ name: 'ext' }))).toBe(Errno.EEXIST);
    expect(errno(() => hv.registerCostProfile(hv.costProfiles[0]))).toBe(Errno.EEXIST);
    expect(errno(() => hv.costProfile('nope'))).toBe(Errno.ENOENT);
    expect(errno(() => hv.createVm({ costProfile: 'nope' }))).toBe(Errno.ENOENT);
  });

  it('createDevice: unknown type → ENODEV; a registered type is created and listed', () => {
    const hv = new Hypervisor();
    const vm = hv.createVm();
    expect(errno(() => vm.createDevice(99))).toBe(Errno.ENODEV);
    hv.registerDeviceType({
      type: 99,
      name: 'd',
      create: () => ({ type: 99, name: 'd', setAttr: () => undefined, getAttr: () => 0n, hasAttr: () => false, dump: () => 'dev-d' }),
    });
    const d = vm.createDevice(99);
    expect(vm.devices).toEqual([d]);
    expect(vm.dump()).toMatch(/dev-d/);
  });

  it('extensions see VM and vCPU creation and first run', () => {
    const hv = new Hypervisor();
    const seen: string[] = [];
    hv.registerExtension({
      name: 'probe',
      vmCreated: (vm) => void seen.push(`vm${vm.id}`),
      vcpuCreated: (v) => void seen.push(`vcpu${v.id}`),
      vcpuFirstRun: (v) => void seen.push(`run${v.id}`),
      dumpVcpu: (v) => `probe${v.id}`,
    });
    const vm = hv.createVm();
    const ctl = new TinyController(vm).install();
    const v = vm.createVcpu();
    v.setProgram(new GuestAsm().label('main').movi(0, 0x84000008).hvc().build());
    vm.run();
    expect(seen).toEqual(['vm0', 'vcpu0', 'run0']);
    expect(ctl.calls.vcpuFirstRun).toBe(1);
    expect(vm.dump()).toMatch(/probe0/);
  });
});

describe('createVm: the IPA size (KVM_VM_TYPE_ARM_IPA_SIZE)', () => {
  it('defaults to 40 bits, takes 32..48, refuses anything else with EINVAL without using up a VM id', () => {
    const hv = new Hypervisor();
    expect(hv.createVm().ipaSize).toBe(2 ** 40);
    expect(hv.createVm({ ipaBits: 0 }).ipaSize).toBe(2 ** 40);
    expect(hv.createVm({ ipaBits: 44 }).ipaSize).toBe(2 ** 44);
    for (const bad of [20, 31, 49, 40.5]) {
      let code: unknown;
      try {
        hv.createVm({ ipaBits: bad });
      } catch (e) {
        code = (e as { errno?: number }).errno;
      }
      expect(code).toBe(Errno.EINVAL);
    }
    expect(hv.createVm().id).toBe(3);
  });
});
