/** FlowDispatch: each irqchip_flow callback is called when present and defaulted when absent. */
import {
  CPU_LINE_FIQ,
  CPU_LINE_IRQ,
  cpuIrqLines,
  Errno,
  FlowDispatch,
  GuestAsm,
  Hypervisor,
  IrqType,
  KvmError,
  NO_IRQCHIP_FLOW,
  type IrqchipFlow,
  type Vcpu,
  type Vm,
} from '../../src';
import { systemOff } from '../support/programs';

const MEMBERS = [
  'destroy',
  'vcpuInit',
  'vcpuBlocking',
  'vcpuUnblocking',
  'vcpuLoad',
  'vcpuPut',
  'vcpuPendingIrq',
  'vcpuFirstRun',
  'vcpuFlushHwstate',
  'vcpuSyncHwstate',
  'injectIrq',
  'injectUserspaceIrq',
  'mapIsActive',
  'resetMappedIrq',
  'mapPhysIrq',
  'unmapPhysIrq',
  'setOwner',
  'irqfdSetIrq',
  'setMsi',
  'setIrqInatomic',
  'validateRoute',
] as const;

function fixture(): { vm: Vm; v: Vcpu } {
  const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
  return { vm, v: vm.createVcpu() };
}

const route = { gsi: 0, type: 'irqchip', irqchip: 0, pin: 1 } as const;

/** Calls member `m` of `d` with plausible arguments. */
function call(d: FlowDispatch, m: (typeof MEMBERS)[number], vm: Vm, v: Vcpu): unknown {
  switch (m) {
    case 'destroy':
      return d.destroy(vm);
    case 'injectIrq':
      return d.injectIrq(vm, 0, 27, true, {});
    case 'injectUserspaceIrq':
      return d.injectUserspaceIrq(vm, IrqType.Spi, 0, 40, true);
    case 'mapIsActive':
      return d.mapIsActive(v, 27);
    case 'resetMappedIrq':
      return d.resetMappedIrq(v, 27);
    case 'mapPhysIrq':
      return d.mapPhysIrq(v, 5, 27, null);
    case 'unmapPhysIrq':
      return d.unmapPhysIrq(v, 27);
    case 'setOwner':
      return d.setOwner(v, 27, {});
    case 'irqfdSetIrq':
      return d.irqfdSetIrq(vm, route, true);
    case 'setMsi':
      return d.setMsi(vm, { address: 0, data: 0 });
    case 'setIrqInatomic':
      return d.setIrqInatomic(vm, route, true);
    case 'validateRoute':
      return d.validateRoute(vm, route);
    default:
      return d[m](v);
  }
}

describe('FlowDispatch', () => {
  it.each(MEMBERS)('%s: a provided callback is called with the arguments and its result returned', (m) => {
    const { vm, v } = fixture();
    const fn = jest.fn<number, unknown[]>(() => 7);
    const flow = { [m]: fn } as unknown as IrqchipFlow;
    const d = new FlowDispatch(flow, 'probe');
    const r = call(d, m, vm, v);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn.mock.contexts[0]).toBe(flow); // called as a method of the controller
    expect(fn.mock.calls[0][0] === vm || fn.mock.calls[0][0] === v).toBe(true);
    expect(r).toBe(7);
  });

  it.each(MEMBERS)('%s: absent → the documented default', (m) => {
    const { vm, v } = fixture();
    const d = new FlowDispatch({}, 'empty');
    if (m === 'setMsi') {
      let err: unknown;
      try {
        call(d, m, vm, v);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KvmError);
      expect((err as KvmError).errno).toBe(Errno.ENODEV);
      expect((err as KvmError).message).toMatch(/empty/);
    } else if (m === 'vcpuPendingIrq' || m === 'mapIsActive') expect(call(d, m, vm, v)).toBe(false);
    else if (m === 'setIrqInatomic') expect(call(d, m, vm, v)).toBe(-Errno.EAGAIN);
    else expect(call(d, m, vm, v)).toBeUndefined();
  });

  it('the no-irqchip flow reports an interrupt pending exactly when the IRQ or FIQ input is asserted', () => {
    const { v } = fixture();
    const d = NO_IRQCHIP_FLOW();
    // the inputs as the vCPU samples them at its clock (KVM_IRQ_LINE's levels, each due at its time)
    expect(d.vcpuPendingIrq(v)).toBe(false);
    cpuIrqLines(v).change(v.clock, CPU_LINE_FIQ);
    expect(d.vcpuPendingIrq(v)).toBe(true);
    cpuIrqLines(v).change(v.clock, CPU_LINE_IRQ);
    expect(d.vcpuPendingIrq(v)).toBe(true);
    expect([v.virq, v.vfiq]).toEqual([true, false]);
    cpuIrqLines(v).change(v.clock + 10, 0);
    expect(d.vcpuPendingIrq(v)).toBe(true); // the lower is not due yet
    v.charge(10);
    expect(d.vcpuPendingIrq(v)).toBe(false);
  });
});

describe('the run loop calls the flow in KVM order', () => {
  it('firstRun → load → flush → (exit: sync) … block: sync, blocking, put; wake: load, unblocking, flush', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    const v = vm.createVcpu();
    const log: string[] = [];
    const rec = (name: string) => (): void => void log.push(name);
    vm.setIrqchip(
      {
        vcpuFirstRun: rec('firstRun'),
        vcpuLoad: rec('load'),
        vcpuPut: rec('put'),
        vcpuFlushHwstate: rec('flush'),
        vcpuSyncHwstate: rec('sync'),
        vcpuBlocking: rec('blocking'),
        vcpuUnblocking: rec('unblocking'),
      },
      'logger',
    );
    const a = new GuestAsm();
    a.label('main').wfi();
    systemOff(a);
    v.setProgram(a.build());
    vm.run();
    expect(log).toEqual(['firstRun', 'load', 'flush', 'sync', 'blocking', 'put']);
    log.length = 0;
    vm.kickVcpu(v);
    expect(vm.run().reason).toBe('shutdown');
    expect(log).toEqual(['load', 'unblocking', 'flush', 'sync']);
  });

  it('a flow with no callbacks at all still runs guests (every default on the hot path)', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    const v = vm.createVcpu();
    vm.setIrqchip({}, 'empty');
    const a = new GuestAsm();
    a.label('main').movi(1, 2).wfi();
    systemOff(a);
    v.setProgram(a.build());
    expect(vm.run().reason).toBe('idle');
    vm.at(1000, () => vm.kickVcpu(v));
    expect(vm.run().reason).toBe('shutdown');
  });

  it('a KvmError thrown by vcpuFirstRun fails the run and the vCPU stays un-run', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    const v = vm.createVcpu();
    vm.setIrqchip(
      {
        vcpuFirstRun: () => {
          throw new KvmError(Errno.ENXIO, 'redistributor missing');
        },
      },
      'strict',
    );
    v.setProgram(new GuestAsm().label('main').nop().build());
    expect(() => vm.run()).toThrow(KvmError);
    expect(v.hasRun).toBe(false);
  });
});
