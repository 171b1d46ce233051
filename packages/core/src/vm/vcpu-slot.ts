/**
 * Per-extension state on every vCPU: controllers and in-kernel devices keep their per-vCPU state in a slot
 * (an index into the vCPU's slot array), so core needs to know nothing of their types.
 *
 * @module
 */
import type { Vcpu } from './vcpu';

/**
 * Per-extension state slot on every vCPU (controllers and devices keep their per-vCPU state here). Create one
 * per kind of extension, at module level, and use it from every VM: the index comes from a process-wide
 * counter when the slot is made, so a slot made per VM would lengthen every later vCPU's slot array. The values
 * live on each vCPU, so VMs sharing a slot share no state.
 */
export class VcpuSlot<T> {
  private static next = 0;
  /** Slot index. */
  readonly index = VcpuSlot.next++;
  /** @param name - owner name (dumps) */
  constructor(readonly name: string) {}
  /** The value stored on `vcpu` (undefined until set). */
  get(vcpu: Vcpu): T {
    return vcpu.slots[this.index] as T;
  }
  /** Stores `value` on `vcpu`. */
  set(vcpu: Vcpu, value: T): void {
    vcpu.slots[this.index] = value;
  }
}
