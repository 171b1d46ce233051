/**
 * @irqflow/vgic — KVM's vGICv2 and vGICv3 behind irqchip_flow: distributor, redistributors, CPU interfaces
 * with a list-register model of the virtual CPU interface, mapped interrupts and the KVM userspace ABI.
 *
 * @packageDocumentation
 */
export * from './vgic-irq';
export * from './vgic-cpuif';
export * from './vgic-cpu';
export * from './vgic';
export * from './vgic-mapped';
export * from './vgic-mmio';
export * from './vgic-mmio-v3';
export * from './vgic-mmio-v2';
export * from './vgic-sys-regs-v3';
export * from './vgic-flow';
export * from './vgic-kvm-device';
export * from './vgic-debug';
export * from './gic-driver';
export * from './vgic-lpi';
export * from './plugin';
export * from './its';
export * from './v4';
export * from './vgic-migration';
export * from './vgic-hwstate';
export type { SavedHidden } from './vgic-visibility';
