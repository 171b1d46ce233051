/**
 * Registration of the "pic" example controller: {@link PicPlugin} registers the KVM device type and the
 * named irqchip "pic" whose board setup creates the device, sets its attributes and returns the guest driver.
 * `hv.use(PicPlugin)` is all a user of the hypervisor needs — core is not touched.
 *
 * @module
 */
import {
  Vm,
  type GuestIrqDriver,
  type Hypervisor,
  type IrqchipDescriptor,
  type IrqchipSetupOptions,
  type IrqflowPlugin,
} from '@irqflow/core';
import { KVM_DEV_TYPE_IRQFLOW_PIC, PIC_CTRL_INIT, PIC_DEFAULT_BASE, PIC_DEFAULT_NR_IRQS, PIC_DEV_GRP } from './pic-abi';
import { PIC_DEVICE_TYPE } from './pic-device';
import { PicDriver } from './pic-driver';

/** The named controller "pic". */
export const PIC_IRQCHIP: IrqchipDescriptor = {
  name: 'pic',
  description: 'third-party example: paravirtual MMIO priority interrupt controller (examples package)',
  features: ['ipi', 'msi', 'level', 'timer', 'priorities'],
  maxVcpus: 256,
  setup(vm: Vm, options: IrqchipSetupOptions = {}): GuestIrqDriver {
    const nr = options.nrIrqs ?? PIC_DEFAULT_NR_IRQS;
    const base = typeof options.base === 'number' ? options.base : PIC_DEFAULT_BASE;
    const dev = vm.createDevice(KVM_DEV_TYPE_IRQFLOW_PIC);
    dev.setAttr(Vm.attr(PIC_DEV_GRP.ADDR, 0), BigInt(base));
    dev.setAttr(Vm.attr(PIC_DEV_GRP.NR_IRQS, 0), BigInt(nr));
    dev.setAttr(Vm.attr(PIC_DEV_GRP.CTRL, PIC_CTRL_INIT));
    return new PicDriver(base, nr);
  },
};

/**
 * The plugin: registers the device type and the irqchip.
 *
 * @example
 * ```ts
 * import { Hypervisor } from '@irqflow/core';
 * import { findWorkload, PicPlugin, runWorkload } from '@irqflow/examples';
 *
 * const hv = new Hypervisor().use(PicPlugin); // a third-party controller: core is not touched
 * const r = runWorkload(hv, findWorkload('ipi-pingpong')!, { irqchip: 'pic' });
 * console.log(r.status, r.interrupts, Object.keys(r.exitsByReason).includes('mmio-kernel'));
 * // → ok 400 true
 * ```
 */
export const PicPlugin: IrqflowPlugin = {
  name: '@irqflow/examples/pic',
  register(hv: Hypervisor): void {
    hv.registerDeviceType(PIC_DEVICE_TYPE);
    hv.registerIrqchip(PIC_IRQCHIP);
  },
};
export default PicPlugin;
