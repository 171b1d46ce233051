/**
 * The thin boundary between the GICv3 emulation (ITS commands, redistributors, CPU interface, distributor) and
 * the GICv4/4.1 model in this folder. The GICv3 files call these functions at the points where the
 * architecture (Arm IHI 0069, 5.3 "GICv4" and 6.3 ITS commands) or KVM's vgic-v4.c/vgic-its.c must keep the
 * physical side consistent with the emulated one; each is a no-op (one WeakMap lookup) for a VM without a
 * GICv4 host. This module imports nothing at run time, so the ITS can import it without an import cycle.
 *
 * @module
 */
import type { Vm } from '@irqflow/core';

/** What the GICv4 state of a VM implements for the hooks (see {@link v4HooksOf}). */
export interface V4Hooks {
  /**
   * An ITE mapping LPI `intid` is going away (DISCARD, MAPD remap or V=0, BASER Valid = 0, CTRL_RESET, restore):
   * a forwarded vLPI is unmapped first (KVM's its_free_ite → its_unmap_vlpi) and its virtual pending state dropped.
   */
  translationGone(intid: number): void;
  /** LPI `intid` now targets vCPU `vcpuIndex` (MOVI, MAPC retarget, MOVALL): a forwarded vLPI follows (VMOVI). */
  lpiMoved(intid: number, vcpuIndex: number): void;
  /**
   * The collection LPI `intid` belongs to was unmapped (MAPC V=0): the emulated ITS drops its MSIs, so the
   * forwarded vLPI is unmapped and the host interrupt returns to software injection.
   */
  collectionUnmapped(intid: number): void;
  /** INV / INVALL / GICR_INV*: LPI `intid`'s configuration was re-read; a forwarded vLPI is re-presented. */
  configChanged(intid: number): void;
  /** CLEAR of LPI `intid`: a forwarded vLPI loses its virtual pending state (irq_set_irqchip_state). */
  clearPending(intid: number): void;
  /**
   * The software path made LPI `intid` pending (an irqfd not mapped, KVM_SIGNAL_MSI, INT): if the vLPI is
   * forwarded, it is made pending in the vPE's virtual pending table instead (KVM's vgic_its_trigger_msi
   * sets the physical LPI pending) and true is returned.
   */
  redirectPending(intid: number, vcpuIndex: number): boolean;
  /** Whether forwarded vLPI `intid` is pending in its vPE's virtual pending table (SAVE_PENDING_TABLES). */
  isPending(intid: number): boolean;
  /**
   * Snapshot: the model's part of the vPEs that no attribute carries (when each pending vLPI/vSGI reaches its
   * vCPU under causal delivery), per vCPU index; plain data.
   */
  saveRunLoop(): unknown;
  /** Snapshot restore, after the attributes: puts {@link saveRunLoop}'s part back (malformed input is ignored). */
  restoreRunLoop(saved: unknown): void;
}

/** A VM's slot for its GICv4 hooks: empty until a GICv4 host registers, then filled for the VM's life. */
export interface V4HooksCell {
  /** The hooks, or undefined without a GICv4 host. */
  hooks: V4Hooks | undefined;
}

const registry = new WeakMap<Vm, V4HooksCell>();

/**
 * @internal The cell holding `vm`'s GICv4 hooks, created empty on first ask. A hot caller keeps the cell and
 * reads `hooks` from it per use: one load instead of a WeakMap lookup, and a registration made later is seen.
 */
export function v4HooksCell(vm: Vm): V4HooksCell {
  let c = registry.get(vm);
  if (c === undefined) {
    c = { hooks: undefined };
    registry.set(vm, c);
  }
  return c;
}

/** @internal Registers the GICv4 state of `vm`. */
export function registerV4Hooks(vm: Vm, hooks: V4Hooks): void {
  v4HooksCell(vm).hooks = hooks;
}

/** The GICv4 hooks of `vm`, or undefined when its host has no GICv4 (every hook is then skipped). */
export function v4HooksOf(vm: Vm): V4Hooks | undefined {
  return registry.get(vm)?.hooks;
}

/**
 * What the modelled virtual CPU interface asks a resident vPE (GICv4 redistributor): the highest-priority
 * pending, enabled vLPI or vSGI it presents alongside the list registers. Always group 1.
 */
export interface VirtualPendingSource {
  /** The INTID the redistributor presents (highest priority, lowest INTID on ties), or -1; sets {@link hppiPrio}. */
  hppi(): number;
  /** Priority of the last {@link hppi} answer. */
  hppiPrio: number;
  /** The guest acknowledged `intid` (IAR): its pending bit is consumed (no active state). */
  acknowledge(intid: number): void;
  /** EOIR/DIR of vSGI `intid` delivered by the vPE (nothing to deactivate); false when it was not. */
  deactivate(intid: number): boolean;
  /** Whether anything enabled is pending (kvm_vgic_vcpu_pending_irq: the vPE's pending_last). */
  hasPending(): boolean;
}
