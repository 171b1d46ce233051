/**
 * The vGICv3 ITS and LPIs (Arm IHI 0069 chapters 5 and 6; Documentation/virt/kvm/devices/arm-vgic-its.rst):
 * the ARM_VGIC_ITS device, the command queue, translation with a translation cache, the per-VM LPI table,
 * table save/restore ABI revision 0, and the hooks the vGICv3 wires in (see README.md in this folder).
 *
 * @module
 */
export * from './lpi-host';
export * from './lpi-table';
export * from './gits-regs';
export * from './its-tables';
export * from './vgic-its';
export * from './itt';
export * from './translation-cache';
export * from './its-commands';
export * from './its-abi';
export * from './its-mmio';
export * from './its-vm';
export * from './its-device';
