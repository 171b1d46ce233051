/**
 * The @irqflow/rvic plugin: registers the kvm-arm-rvic device type (0x1000) and the "rvic" irqchip.
 *
 * @module
 */
import type { Hypervisor, IrqflowPlugin } from '@irqflow/core';
import { RVIC_DEVICE_TYPE } from './rvic-device';
import { RVIC_IRQCHIP } from './rvic-irqchip';

/** The rVIC plugin. */
export const RvicPlugin: IrqflowPlugin = {
  name: '@irqflow/rvic',
  register(hv: Hypervisor): void {
    hv.registerDeviceType(RVIC_DEVICE_TYPE);
    hv.registerIrqchip(RVIC_IRQCHIP);
  },
};
