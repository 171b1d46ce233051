/**
 * One virtual interrupt, struct-like, as upstream KVM's `struct vgic_irq` (arch/arm64/kvm/vgic/vgic.h):
 * pending latch and line level (a level interrupt is pending when latch OR line), active, enabled, group,
 * priority (5 implemented bits: 0x00..0xf8 step 8), edge/level configuration, target (GICv2 ITARGETSR byte,
 * GICv3 IROUTER affinity), owner, and the hardware mapping (host IRQ + get-input-level op, seed 000).
 * Interrupt ID ranges: Arm IHI 0069, 2.2 "INTIDs" (SGI 0-15, PPI 16-31, SPI 32-1019, LPI >= 8192).
 *
 * @module
 */
import type { GetInputLevel } from '@irqflow/core';
import type { VgicCpu } from './vgic-cpu';

/** Number of SGIs. */
export const VGIC_NR_SGIS = 16;
/** Number of private interrupts (SGIs + PPIs) per vCPU. */
export const VGIC_NR_PRIVATE_IRQS = 32;
/** One past the largest SPI INTID. */
export const VGIC_MAX_SPI = 1020;
/** First LPI INTID (the ITS adds these later, keyed in a Map). */
export const VGIC_MIN_LPI = 8192;
/** The spurious INTID. */
export const INTID_SPURIOUS = 1023;
/** Priority bits implemented (ICH_VTR_EL2.PRIbits + 1), as KVM. */
export const VGIC_PRI_BITS = 5;
/** Mask of the implemented priority bits. */
export const VGIC_PRI_MASK = 0xf8;

/** One virtual interrupt (`struct vgic_irq`). */
export class VgicIrq {
  /** The vCPU whose ap_list holds it (upstream `irq->vcpu`), or null. */
  apCpu: VgicCpu | null = null;
  /** The vCPU it is routed to (`irq->target_vcpu`); fixed for private interrupts. */
  targetCpu: VgicCpu | null = null;
  /** The vCPU whose list register holds it while that vCPU is in the guest, or null. */
  lrCpu: VgicCpu | null = null;
  /** The list register index while {@link lrCpu} is set. */
  lr = -1;
  // The state the ap_list is sorted by (see vgic.ts). Each setter marks the holding ap_list unsorted when the
  // value changes, so flush sorts only when something changed; the list registers move an edge latch without
  // marking ({@link setLatchInLr}).
  private _pendingLatch = false;
  private _lineLevel = false;
  private _active = false;
  private _enabled = false;
  private _priority = 0;
  private _level = false;
  /** Group (0 or 1). */
  group = 0;
  /** GICv2 ITARGETSR byte (SPIs). */
  targets = 0;
  /** GICv3 IROUTER affinity (Aff2.Aff1.Aff0). */
  mpidr = 0;
  /** Mapped to a host interrupt (LR HW bit). */
  hw = false;
  /** Host interrupt number when {@link hw}. */
  hostIrq = 0;
  /** The owner's line sampler for mapped level interrupts. */
  getInputLevel: GetInputLevel | null = null;
  /** In-kernel owner (timer, PMU) or null. */
  owner: unknown = null;
  /** GICv2 SGIs: pending source CPUs (bit n = vCPU n). */
  source = 0;
  /** GICv2 SGIs: the source of the active instance. */
  activeSource = 0;

  /**
   * @param intid - the INTID
   * @param ownerCpu - the vCPU owning a private interrupt (null for SPIs and LPIs)
   */
  constructor(
    readonly intid: number,
    readonly ownerCpu: VgicCpu | null,
  ) {
    this.targetCpu = ownerCpu;
  }

  /** Pending latch (edge: the pending state; level: a software-set pending, ISPENDR). */
  get pendingLatch(): boolean {
    return this._pendingLatch;
  }
  set pendingLatch(v: boolean) {
    if (this._pendingLatch === v) return;
    this._pendingLatch = v;
    this.sortKeyChanged();
  }

  /** Line level (level interrupts). */
  get lineLevel(): boolean {
    return this._lineLevel;
  }
  set lineLevel(v: boolean) {
    if (this._lineLevel === v) return;
    this._lineLevel = v;
    this.sortKeyChanged();
  }

  /** Active. */
  get active(): boolean {
    return this._active;
  }
  set active(v: boolean) {
    if (this._active === v) return;
    this._active = v;
    this.sortKeyChanged();
  }

  /** Enabled (ISENABLER). */
  get enabled(): boolean {
    return this._enabled;
  }
  set enabled(v: boolean) {
    if (this._enabled === v) return;
    this._enabled = v;
    this.sortKeyChanged();
  }

  /** Priority (top 5 bits). */
  get priority(): number {
    return this._priority;
  }
  set priority(v: number) {
    if (this._priority === v) return;
    this._priority = v;
    this.sortKeyChanged();
  }

  /** Level-sensitive configuration (false = edge). */
  get level(): boolean {
    return this._level;
  }
  set level(v: boolean) {
    if (this._level === v) return;
    this._level = v;
    this.sortKeyChanged();
  }

  /**
   * Sets the pending latch as the list registers move it, without marking the ap_list unsorted: the flush consumes
   * an edge latch into an LR, and the fold at the next exit gives it back if the LR is still pending — which
   * leaves the interrupt ordered exactly as when it was sorted. Anything else that happens meanwhile changes
   * another field (marked), or leaves the interrupt not pending and not active, and prune drops it.
   */
  setLatchInLr(v: boolean): void {
    this._pendingLatch = v;
  }

  private sortKeyChanged(): void {
    const c = this.apCpu;
    if (c !== null) c.apDirty = true;
  }

  /** Whether it is pending as the architecture defines it (edge: latch; level: latch OR line). */
  get pending(): boolean {
    return this._pendingLatch || (this._level && this._lineLevel);
  }

  /** Whether it is a mapped level interrupt whose line is sampled from the device (upstream vgic_irq_is_mapped_level). */
  get mappedLevel(): boolean {
    return this.hw && this._level && this.getInputLevel !== null;
  }

  /** Resets the architectural state (not the mapping). */
  reset(v3: boolean): void {
    this.pendingLatch = this.lineLevel = this.active = false;
    this.enabled = this.intid < VGIC_NR_SGIS;
    this.group = v3 ? 1 : 0;
    this.priority = 0;
    this.level = this.intid >= VGIC_NR_SGIS && this.intid < VGIC_NR_PRIVATE_IRQS;
    this.targets = 0;
    this.mpidr = 0;
    this.source = this.activeSource = 0;
  }
}
