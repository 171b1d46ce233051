/**
 * The @irqflow/rvic plugin: registers the kvm-arm-rvic device type (0x1000) and the "rvic" irqchip.
 *
 * @module
 */
import type { Hypervisor, IrqflowPlugin } from '@irqflow/core';
import { RVIC_DEVICE_TYPE } from './rvic-device';
import { RVIC_IRQCHIP } from './rvic-irqchip';

/**
 * The rVIC plugin.
 *
 * @example
 * ```ts
 * import { Hypervisor } from '@irqflow/core';
 * import { RvicPlugin } from '@irqflow/rvic';
 *
 * const vm = new Hypervisor().use(RvicPlugin).createVm({ irqchip: 'rvic', vcpus: 4 });
 * console.log(vm.irqchip?.features.join(','), vm.driver?.ipi?.(0), vm.deviceLine(3) & 0xffff);
 * // → ipi,msi,level,timer 0 3
 * ```
 */
export const RvicPlugin: IrqflowPlugin = {
  name: '@irqflow/rvic',
  register(hv: Hypervisor): void {
    hv.registerDeviceType(RVIC_DEVICE_TYPE);
    hv.registerIrqchip(RVIC_IRQCHIP);
  },
};
