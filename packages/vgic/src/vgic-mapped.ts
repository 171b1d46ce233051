/**
 * Mapped (hardware) interrupts, seed 000 (references §1; upstream kvm_vgic_map_phys_irq & co. in vgic.c): a
 * virtual interrupt backed by a host interrupt, with the owner's get-input-level op sampled instead of a cached
 * line level, the LR HW bit carrying the host INTID so the guest's deactivation deactivates the host interrupt,
 * and guest writes of pending/active mirrored onto the host interrupt (vgic.ts setPending/clearPending/setActive).
 *
 * @module
 */
import { Errno, fail, IrqchipState, type GetInputLevel, type Vcpu } from '@irqflow/core';
import type { Vgic } from './vgic';
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from './vgic-irq';

/** kvm_vgic_map_phys_irq. @throws KvmError EINVAL for a bad INTID or host IRQ, EBUSY if already mapped */
export function mapPhysIrq(vg: Vgic, vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null): void {
  const irq = vg.irq(vg.slot.get(vcpu), intid);
  if (!irq) fail(Errno.EINVAL, `INTID ${intid} does not exist`);
  if (!vg.vm.hv.hostIrqs.has(hostIrq)) fail(Errno.EINVAL, `host IRQ ${hostIrq} does not exist`);
  if (irq.hw) fail(Errno.EBUSY, `INTID ${intid} is already mapped`);
  irq.hw = true;
  irq.hostIrq = hostIrq;
  irq.getInputLevel = getInputLevel;
  irq.ver++; // the list registers carry the mapping (HW, pINTID)
}

/** kvm_vgic_unmap_phys_irq. @throws KvmError EINVAL when not mapped */
export function unmapPhysIrq(vg: Vgic, vcpu: Vcpu, intid: number): void {
  const irq = vg.irq(vg.slot.get(vcpu), intid);
  if (!irq || !irq.hw) fail(Errno.EINVAL, `INTID ${intid} is not mapped`);
  irq.hw = false;
  irq.hostIrq = 0;
  irq.getInputLevel = null;
  irq.ver++;
}

/** kvm_vgic_map_is_active. */
export function mapIsActive(vg: Vgic, vcpu: Vcpu, intid: number): boolean {
  const irq = vg.irq(vg.slot.get(vcpu), intid);
  return irq !== undefined && vg.isActive(irq);
}

/** kvm_vgic_reset_mapped_irq. */
export function resetMappedIrq(vg: Vgic, vcpu: Vcpu, intid: number): void {
  const irq = vg.irq(vg.slot.get(vcpu), intid);
  if (!irq || !irq.hw) return;
  irq.pendingLatch = false;
  irq.lineLevel = false;
  irq.active = false;
  vg.hostState(irq, IrqchipState.Active, false);
}

/** kvm_vgic_set_owner. @throws KvmError EINVAL for a non-PPI/invalid SPI, EBUSY for another owner */
export function setOwner(vg: Vgic, vcpu: Vcpu, intid: number, owner: unknown): void {
  if (intid < VGIC_NR_SGIS || intid >= VGIC_NR_PRIVATE_IRQS + vg.nrSpis)
    fail(Errno.EINVAL, `INTID ${intid} is neither a PPI nor a valid SPI`);
  const irq = vg.irq(vg.slot.get(vcpu), intid)!;
  if (irq.owner !== null && irq.owner !== owner) fail(Errno.EBUSY, `INTID ${intid} already has an owner`);
  irq.owner = owner;
}
