/**
 * The table of controller setups every timer test runs on. Each entry builds a hypervisor with the timer plugin
 * (and the controller's plugin), and installs the controller on a VM whose vCPUs exist, returning its guest
 * driver. Entries for the real controllers are added when their packages provide a working irqchip.
 */
import { Hypervisor, type GuestIrqDriver, type IrqflowPlugin, type Vcpu, type Vm } from '@irqflow/core';
import { RvicPlugin } from '@irqflow/rvic';
import { TimerPlugin } from '@irqflow/timer';
import { VgicPlugin } from '@irqflow/vgic';
import { TestIrqchip } from './test-irqchip';

/** One controller setup. */
export interface ControllerCase {
  /** Display name. */
  readonly name: string;
  /** Whether the timer maps the virtual timer on it (host interrupt + input level). */
  readonly mapped: boolean;
  /**
   * Whether a pending level interrupt stays pending after its line drops until the guest resamples it (rVIC:
   * pending is a latch; RESAMPLE re-reads the line). GICs and the test controller follow the line.
   */
  readonly latchesLevel: boolean;
  /**
   * Whether the guest's completion of a mapped interrupt whose line is still high deactivates the host
   * interrupt, which then fires again (GIC: the LR's HW bit, references §1). rVIC's RESAMPLE re-pends the
   * interrupt itself and keeps the host interrupt active while the line is high.
   */
  readonly hostRefiresAfterEoi: boolean;
  /** A hypervisor with the timer and the controller registered. */
  hypervisor(): Hypervisor;
  /** Installs the controller on `vm` (vCPUs created) and returns the guest driver (plus test hooks). */
  install(vm: Vm): { driver: GuestIrqDriver; pending?: (vcpu: Vcpu, intid: number) => boolean };
}

function testCase(mapping: boolean): ControllerCase {
  return {
    name: mapping ? 'test-mapped' : 'test-emulated',
    mapped: mapping,
    latchesLevel: false,
    hostRefiresAfterEoi: true,
    hypervisor: () => new Hypervisor({ traceCapacity: 1000 }).use(TimerPlugin),
    install(vm: Vm) {
      const c = new TestIrqchip(vm, mapping);
      c.install();
      return { driver: c.driver(), pending: (v, i) => c.isPending(v, i) };
    },
  };
}

/** A registered irqchip: `hv.irqchip(name).setup(vm)`. All of them map the virtual timer. */
function irqchipCase(name: string, plugin: IrqflowPlugin, rvicLike: boolean): ControllerCase {
  return {
    name,
    mapped: true,
    latchesLevel: rvicLike,
    hostRefiresAfterEoi: !rvicLike,
    hypervisor: () => new Hypervisor({ traceCapacity: 1000 }).use(TimerPlugin).use(plugin),
    install: (vm: Vm) => ({ driver: vm.hv.irqchip(name).setup(vm) }),
  };
}

/** Every controller the tests run on. */
export const CONTROLLERS: readonly ControllerCase[] = [
  testCase(true),
  testCase(false),
  irqchipCase('gic-v3', VgicPlugin, false),
  irqchipCase('gic-v2', VgicPlugin, false),
  irqchipCase('gic-v4', VgicPlugin, false),
  irqchipCase('gic-v4.1', VgicPlugin, false),
  irqchipCase('rvic', RvicPlugin, true),
];

/** A VM ready to run: controller installed on `nVcpus` vCPUs. */
export interface Harness {
  readonly hv: Hypervisor;
  readonly vm: Vm;
  readonly vcpus: Vcpu[];
  readonly driver: GuestIrqDriver;
  readonly pending?: (vcpu: Vcpu, intid: number) => boolean;
}

/** Options of {@link makeHarness}. */
export interface HarnessOptions {
  /** vCPU count (default 1). */
  vcpus?: number;
  /** Reuse a hypervisor. */
  hv?: Hypervisor;
  /** Advance the new VM's clock to this simulated time before creating its vCPUs. */
  startAt?: number;
}

/** Builds a VM with the controller of `c` installed. */
export function makeHarness(c: ControllerCase, opts: HarnessOptions = {}): Harness {
  const hv = opts.hv ?? c.hypervisor();
  const vm = hv.createVm();
  if (opts.startAt !== undefined && opts.startAt > 0) {
    vm.at(opts.startAt, () => {}, 'start');
    vm.run({ until: opts.startAt });
  }
  const vcpus: Vcpu[] = [];
  for (let i = 0; i < (opts.vcpus ?? 1); i++) vcpus.push(vm.createVcpu());
  const { driver, pending } = c.install(vm);
  return { hv, vm, vcpus, driver, pending };
}
