/**
 * The `@irqflow/vgic` plugin: registers the KVM device types ARM_VGIC_V2 (5), ARM_VGIC_V3 (7) and ARM_VGIC_ITS (8) and the named
 * irqchips "gic-v2", "gic-v3" and the GICv4 host flavours "gic-v4" and "gic-v4.1".
 *
 * @module
 */
import { KVM_DEV_TYPE, type Hypervisor, type IrqflowPlugin } from '@irqflow/core';
import { GIC_V2_DESCRIPTOR, GIC_V3_DESCRIPTOR } from './gic-driver';
import { itsDeviceType } from './its';
import { GIC_V41_DESCRIPTOR, GIC_V4_DESCRIPTOR } from './v4/gic-v4-driver';
import { VgicDevice } from './vgic-kvm-device';
import { lpiHostOf } from './vgic-lpi';

/**
 * The vgic plugin.
 *
 * @example
 * ```ts
 * import { Hypervisor } from '@irqflow/core';
 * import { VgicPlugin } from '@irqflow/vgic';
 *
 * const hv = new Hypervisor().use(VgicPlugin);
 * console.log(hv.irqchipDescriptors.map((d) => d.name).join(' '), hv.irqchip('gicv3').name);
 * // → gic-v3 gic-v2 gic-v4 gic-v4.1 gic-v3
 * ```
 */
export const VgicPlugin: IrqflowPlugin = {
  name: '@irqflow/vgic',
  register(hv: Hypervisor): void {
    hv.registerDeviceType({ type: KVM_DEV_TYPE.ARM_VGIC_V2, name: 'kvm-arm-vgic-v2', create: (vm) => new VgicDevice(vm, true) });
    hv.registerDeviceType({ type: KVM_DEV_TYPE.ARM_VGIC_V3, name: 'kvm-arm-vgic-v3', create: (vm) => new VgicDevice(vm, false) });
    hv.registerDeviceType(itsDeviceType(lpiHostOf));
    hv.registerIrqchip(GIC_V3_DESCRIPTOR);
    hv.registerIrqchip(GIC_V2_DESCRIPTOR);
    hv.registerIrqchip(GIC_V4_DESCRIPTOR);
    hv.registerIrqchip(GIC_V41_DESCRIPTOR);
  },
};
