/**
 * The vCPU attribute group KVM_ARM_VCPU_TIMER_CTRL (Documentation/virt/kvm/devices/vcpu.rst; references §3):
 * the PPI of each timer. KVM's rules, in its order: no in-kernel irqchip → EINVAL; a value that is not a PPI
 * (16..31) → EINVAL; after any vCPU of the VM ran → EBUSY; an unknown attribute → ENXIO. A number set on one vCPU
 * applies to the whole VM, as in KVM (kvm->arch.timer_data.ppi[]). Uniqueness is checked at the first run.
 *
 * @module
 */
import { Errno, fail, type Vcpu, type VcpuAttrGroup } from '@irqflow/core';
import { KVM_ARM_VCPU_TIMER_IRQ_HPTIMER } from './timer-constants';
import type { TimerVmState } from './timer-vm-state';

function attrIndex(attr: bigint): number {
  if (attr < 0n || attr > BigInt(KVM_ARM_VCPU_TIMER_IRQ_HPTIMER)) fail(Errno.ENXIO, `unknown timer attribute ${attr}`);
  return Number(attr);
}

/** The KVM_ARM_VCPU_TIMER_CTRL handlers for one VM. */
export function timerAttrGroup(state: TimerVmState): VcpuAttrGroup {
  return {
    set(vcpu: Vcpu, attr: bigint, value: bigint): void {
      const vm = vcpu.vm;
      if (!vm.hasIrqchip) fail(Errno.EINVAL, 'timer PPIs need an in-kernel irqchip');
      if (value < 16n || value > 31n) fail(Errno.EINVAL, `timer interrupt ${value} is not a PPI (16..31)`);
      if (vm.anyVcpuRan) fail(Errno.EBUSY, 'timer PPIs cannot change after a vCPU ran');
      state.ppi[attrIndex(attr)] = Number(value);
    },
    get(_vcpu: Vcpu, attr: bigint): bigint {
      return BigInt(state.ppi[attrIndex(attr)]);
    },
    has(_vcpu: Vcpu, attr: bigint): boolean {
      return attr >= 0n && attr <= BigInt(KVM_ARM_VCPU_TIMER_IRQ_HPTIMER);
    },
  };
}
