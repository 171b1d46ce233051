/**
 * The named controller "rvic" (core IrqchipDescriptor): the board recipe — create the kvm-arm-rvic device,
 * size it (default 64 trusted / 256 total), INIT — and the guest driver workloads use
 * (ARM-DEN-0103 rVIC/rVID; references §5).
 *
 * @module
 */
import { KVM_MAX_VCPUS, Vm, type IrqchipDescriptor, type IrqchipSetupOptions } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_CTRL_INIT,
  KVM_DEV_ARM_RVIC_GRP_CTRL,
  KVM_DEV_ARM_RVIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_RVIC,
  rvicNrIrqs,
} from './abi';
import { RvicGuestDriver } from './guest/rvic-guest-driver';

/** Default trusted interrupts of the "rvic" board. */
export const RVIC_BOARD_TRUSTED = 64;
/** Default total interrupts of the "rvic" board. */
export const RVIC_BOARD_TOTAL = 256;

/** The "rvic" irqchip. Options: `nrIrqs` (total), `trusted` (number of trusted interrupts). */
export const RVIC_IRQCHIP: IrqchipDescriptor = {
  name: 'rvic',
  description: 'rVIC/rVID paravirtual interrupt controller (every operation is a hypercall)',
  features: ['ipi', 'msi', 'level', 'timer'],
  maxVcpus: KVM_MAX_VCPUS,
  /** KVM_IRQ_LINE type SPI on an rVIC names the rVID wired input itself. */
  deviceLineId: (pin: number): number => pin,
  setup(vm: Vm, options: IrqchipSetupOptions = {}): RvicGuestDriver {
    const trusted = typeof options.trusted === 'number' ? options.trusted : RVIC_BOARD_TRUSTED;
    const total = options.nrIrqs ?? RVIC_BOARD_TOTAL;
    const dev = vm.createDevice(KVM_DEV_TYPE_ARM_RVIC);
    dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_NR_IRQS, 0), rvicNrIrqs(trusted, total));
    dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_CTRL, KVM_DEV_ARM_RVIC_CTRL_INIT));
    return new RvicGuestDriver(vm, trusted, total);
  },
};
