/**
 * The vgic's `irqchip_flow` callbacks (references §2; the 2020 series' arch/arm64/kvm/vgic glue): vCPU init,
 * pending check, first run (map resources), flush/sync, in-kernel and userspace injection with KVM's range
 * checks (Documentation/virt/kvm/api.rst, KVM_IRQ_LINE), irqfd pins (SPI = pin + 32) and mapped interrupts.
 *
 * @module
 */
import {
  Errno,
  fail,
  IrqType,
  type GetInputLevel,
  type IrqchipFlow,
  type IrqchipRoute,
  type Msi,
  type RoutingEntry,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { itsSetIrqInatomicOn, itsSetMsiOn, itsValidateRoute, itsVmOf, type ItsVm } from './its/its-vm';
import { VGIC_DEFAULT_NR_IRQS, type Vgic } from './vgic';
import { mapIsActive, mapPhysIrq, resetMappedIrq, setOwner, unmapPhysIrq } from './vgic-mapped';
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from './vgic-irq';
import { gicV4Of } from './v4/gic-v4';
import { checkVgicHwstates, restoreVgicHwstate, saveVgicHwstate } from './vgic-hwstate';
import type { Vpe } from './v4/vpe';
import { applyHiddenStash } from './vgic-visibility';

/**
 * IrqType.Ppi, read once: `@irqflow/core`'s exports object is in dictionary mode (its re-exports are
 * getters), so an enum read through it is a generic lookup and a getter call at every KVM_IRQ_LINE.
 */
const PPI = IrqType.Ppi;

/** The flow of one vgic. `firstRun` maps resources (addresses, frames) and may throw KvmError. */
export class VgicFlow implements IrqchipFlow {
  /**
   * @param vg - the vgic
   * @param firstRun - the device's resource mapping (kvm_vgic_map_resources)
   * @param teardown - the device's teardown
   */
  constructor(
    private readonly vg: Vgic,
    private readonly firstRun: (vcpu: Vcpu) => void,
    private readonly teardown: () => void,
  ) {}

  /** VM teardown. */
  destroy(): void {
    gicV4Of(this.vg.vm)?.destroy();
    this.teardown();
  }

  /** Creates the vCPU's vgic state. */
  vcpuInit(vcpu: Vcpu): void {
    this.vg.initCpu(vcpu);
  }

  /** kvm_vgic_vcpu_pending_irq (GICv4: or the vPE has a pending vINTID). */
  vcpuPendingIrq(vcpu: Vcpu): boolean {
    // (`=== true`: one compare, not the generic ToBoolean of a field V8 has no type for)
    const vg = this.vg;
    if (vg.initialized !== true) return false;
    const c = vg.cpu(vcpu);
    const p = c.cpuif.vpe;
    return vg.pendingIrq(c) || (p !== null && p.hasPending());
  }

  /** kvm_vgic_map_resources (GICv4: and vgic_v4_init, creating the vPEs). */
  vcpuFirstRun(vcpu: Vcpu): void {
    this.firstRun(vcpu);
    gicV4Of(vcpu.vm)?.attach();
    // a snapshot's hidden LPI entries, now that the ITS has restored them (vgic-visibility.ts)
    if (this.vg.hiddenStash !== null) applyHiddenStash(this.vg);
  }

  /** vgic_v4_load. */
  vcpuLoad(vcpu: Vcpu): void {
    this.vpeOf(vcpu)?.load();
  }

  /** vgic_v4_put. */
  vcpuPut(vcpu: Vcpu): void {
    this.vpeOf(vcpu)?.put();
  }

  /** vgic_v4_put with the doorbell armed. */
  vcpuBlocking(vcpu: Vcpu): void {
    this.vpeOf(vcpu)?.block();
  }

  /** vgic_v4_load after WFI. */
  vcpuUnblocking(vcpu: Vcpu): void {
    this.vpeOf(vcpu)?.unblock();
  }

  private vpeOf(vcpu: Vcpu): Vpe | null {
    return (this.vg.cpus[vcpu.index]?.cpuif.vpe as Vpe | null | undefined) ?? null;
  }

  /** kvm_vgic_v4_set_forwarding (GICv4 hosts only). */
  irqBypassAddProducer(vm: Vm, hostIrq: number, route: RoutingEntry): void {
    gicV4Of(vm)?.setForwarding(hostIrq, route);
  }

  /** kvm_vgic_v4_unset_forwarding. */
  irqBypassDelProducer(vm: Vm, hostIrq: number): void {
    gicV4Of(vm)?.unsetForwarding(hostIrq);
  }

  /**
   * A line signal reached the vCPU (GICv4 direct injection from another vCPU, a device or the host): the CPU
   * interface re-evaluates vIRQ/vFIQ with what has arrived by now.
   */
  vcpuSignalled(vcpu: Vcpu): void {
    const vpe = this.vpeOf(vcpu);
    if (vpe !== null) vpe.signalled();
    else if (vcpu.inGuest && this.vg.ready) this.vg.cpus[vcpu.index]?.cpuif.updateLines();
  }

  /** List-register flush. */
  vcpuFlushHwstate(vcpu: Vcpu): void {
    if (this.vg.ready === true) this.vg.flush(vcpu); // (one compare, as in vcpuPendingIrq)
  }

  /** List-register fold. */
  vcpuSyncHwstate(vcpu: Vcpu): void {
    if (this.vg.ready === true) this.vg.sync(vcpu);
  }

  /** Migration: the loaded list registers and ICH_HCR_EL2 state, read without a fold (vgic-hwstate.ts). */
  vcpuSaveHwstate(vcpu: Vcpu): unknown {
    return this.vg.ready ? saveVgicHwstate(this.vg, vcpu) : null;
  }

  /** Migration: every vCPU's saved list registers checked before the restore changes anything (vgic-hwstate.ts). @throws KvmError EINVAL */
  checkHwstate(_vm: Vm, states: readonly unknown[]): void {
    checkVgicHwstates(this.vg, states);
  }

  /** Migration: installs {@link vcpuSaveHwstate}'s result instead of a flush (vgic-hwstate.ts). @throws KvmError EINVAL */
  vcpuRestoreHwstate(vcpu: Vcpu, state: unknown): void {
    if (state === null) {
      if (this.vg.ready) this.vg.flush(vcpu);
      return;
    }
    if (!this.vg.ready) fail(Errno.EINVAL, 'vgic hwstate for a vgic whose resources are not mapped');
    restoreVgicHwstate(this.vg, vcpu, state);
  }

  /** In-kernel device injection (timer, PMU): silently ignored when invalid, as KVM's callers expect. */
  injectIrq(_vm: Vm, cpu: number, intid: number, level: boolean, owner: unknown): void {
    if (!this.vg.initialized) return;
    const irq = this.vg.irq(this.vg.cpus[cpu] ?? null, intid);
    if (irq) this.vg.inject(irq, level, owner);
  }

  /** Lazy init for GICv2, EBUSY for an uninitialised GICv3 (vgic_lazy_init). */
  private ensureInit(): void {
    if (this.vg.initialized) return;
    if (!this.vg.v2) fail(Errno.EBUSY, 'the GICv3 is not initialised (KVM_DEV_ARM_VGIC_CTRL_INIT)');
    this.vg.init();
  }

  /**
   * KVM_IRQ_LINE for PPIs and SPIs, validating before the lazy init as KVM's kvm_vm_ioctl_irq_line does: a PPI
   * outside 16..31 or an SPI below 32 is EINVAL first (also on an uninitialised GICv3, before its EBUSY). An
   * SPI at or beyond NR_IRQS is EINVAL too; KVM finds that only after vgic_lazy_init (a GICv2 is then
   * initialised), here it is checked against the NR_IRQS the init would use, so a refused call changes nothing.
   * @throws KvmError EINVAL out of range, EBUSY uninitialised v3, EPERM owned
   */
  injectUserspaceIrq(_vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean): void {
    const vg = this.vg;
    if (type === PPI) {
      if (intid < VGIC_NR_SGIS || intid >= VGIC_NR_PRIVATE_IRQS) fail(Errno.EINVAL, `PPI ${intid} outside 16..31`);
    } else if (intid < VGIC_NR_PRIVATE_IRQS) fail(Errno.EINVAL, `SPI ${intid} is below 32`);
    if (!vg.initialized) {
      if (!vg.v2) fail(Errno.EBUSY, 'the GICv3 is not initialised (KVM_DEV_ARM_VGIC_CTRL_INIT)');
      const nr = vg.nrIrqs || VGIC_DEFAULT_NR_IRQS;
      if (type !== PPI && intid >= nr) fail(Errno.EINVAL, `SPI ${intid} outside 32..${nr - 1}`);
      vg.init();
    } else if (type !== PPI && intid >= vg.nrIrqs) fail(Errno.EINVAL, `SPI ${intid} outside 32..${vg.nrIrqs - 1}`);
    const irq = vg.irq(type === PPI ? (vg.cpus[cpu] ?? null) : null, intid);
    if (!irq) fail(Errno.EINVAL, `no interrupt ${intid}`);
    if (!vg.inject(irq, level, null)) fail(Errno.EPERM, `INTID ${intid} is owned by an in-kernel device`);
  }

  /** An irqfd on an irqchip route: SPI pin + 32. */
  irqfdSetIrq(_vm: Vm, route: IrqchipRoute, level: boolean): void {
    this.ensureInit();
    const irq = this.vg.irq(null, route.pin + VGIC_NR_PRIVATE_IRQS);
    if (!irq) fail(Errno.EINVAL, `pin ${route.pin} is beyond NR_IRQS`);
    this.vg.inject(irq, level, null);
  }

  /** KVM_SIGNAL_MSI / MSI routes: through the ITS (GICv3); ENODEV for a GICv2. */
  setMsi(vm: Vm, msi: Msi): number {
    if (this.vg.v2) fail(Errno.ENODEV, 'a GICv2 has no MSI support');
    return itsSetMsiOn(this.itsOf(vm), msi);
  }

  /** This VM's ITS state, looked up until the first ITS device creates it, then kept (it lives as long as the VM). */
  private itsOf(vm: Vm): ItsVm | undefined {
    return this.its ?? (this.its = itsVmOf(vm));
  }

  private its: ItsVm | undefined;

  /**
   * kvm_arch_set_irq_inatomic (newest mainline): an irqfd whose GSI has exactly one route. Only a raise can be
   * atomic (level 0 → -EWOULDBLOCK). An irqchip route on an initialised vgic (v2 or v3) injects its SPI at level
   * 1 right here and leaves the line high — a level SPI then stays pending until the VMM lowers it with
   * KVM_IRQ_LINE — or answers -EINVAL for a pin beyond NR_IRQS; before init it is -EWOULDBLOCK (the slow path
   * pulses it, initialising a GICv2 lazily). An MSI route tries the ITS translation cache (GICv3 only).
   */
  setIrqInatomic(vm: Vm, route: RoutingEntry, level: boolean): number {
    if (route.type === 'irqchip') {
      const vg = this.vg;
      if (!level || !vg.initialized) return -Errno.EAGAIN;
      const intid = route.pin + VGIC_NR_PRIVATE_IRQS;
      const irq = intid < vg.nrIrqs ? vg.irq(null, intid) : undefined;
      if (irq === undefined) return -Errno.EINVAL;
      vg.inject(irq, true, null);
      return 0;
    }
    return this.vg.v2 ? -Errno.EAGAIN : itsSetIrqInatomicOn(this.itsOf(vm), route, level);
  }

  /** MSI routes need a DeviceID once the VM has an ITS. */
  validateRoute(vm: Vm, route: RoutingEntry): void {
    if (!this.vg.v2) itsValidateRoute(vm, route);
  }

  /** kvm_vgic_map_is_active. */
  mapIsActive(vcpu: Vcpu, intid: number): boolean {
    return mapIsActive(this.vg, vcpu, intid);
  }

  /** kvm_vgic_reset_mapped_irq. */
  resetMappedIrq(vcpu: Vcpu, intid: number): void {
    resetMappedIrq(this.vg, vcpu, intid);
  }

  /** kvm_vgic_map_phys_irq. */
  mapPhysIrq(vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null): void {
    mapPhysIrq(this.vg, vcpu, hostIrq, intid, getInputLevel);
  }

  /** kvm_vgic_unmap_phys_irq. */
  unmapPhysIrq(vcpu: Vcpu, intid: number): void {
    unmapPhysIrq(this.vg, vcpu, intid);
  }

  /** kvm_vgic_set_owner. */
  setOwner(vcpu: Vcpu, intid: number, owner: unknown): void {
    setOwner(this.vg, vcpu, intid, owner);
  }
}
