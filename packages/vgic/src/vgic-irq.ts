/**
 * One virtual interrupt, struct-like, as upstream KVM's `struct vgic_irq` (arch/arm64/kvm/vgic/vgic.h):
 * pending latch and line level (a level interrupt is pending when latch OR line), active, enabled, group,
 * priority (5 implemented bits: 0x00..0xf8 step 8), edge/level configuration, target (GICv2 ITARGETSR byte,
 * GICv3 IROUTER affinity), owner, and the hardware mapping (host IRQ + get-input-level op, seed 000).
 * Interrupt ID ranges: Arm IHI 0069, 2.2 "INTIDs" (SGI 0-15, PPI 16-31, SPI 32-1019, LPI >= 8192).
 *
 * @module
 */
import type { GetInputLevel, VmWarning } from '@irqflow/core';
import type { VgicCpu } from './vgic-cpu';
import { apActiveAdd, apActiveRemove, apMarkPrune, apMarkRekey } from './vgic-ap-list';

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

/**
 * The bits of {@link VgicIrq.stateBits}. A const enum, so the compiler writes each value in place: an exported
 * `const` read from another module compiles (CommonJS) to a property load of that module's exports object per use,
 * which the list-register paths would pay for every interrupt they visit.
 */
export const enum IrqFlag {
  /** The pending latch. */
  Latch = 1,
  /** The line level. */
  Line = 2,
  /** Active. */
  Active = 4,
  /** Enabled. */
  Enabled = 8,
  /** Level-sensitive. */
  Level = 16,
}

/** Whether state bits `f` say pending (edge: latch; level: latch OR line). */
export function irqPending(f: number): boolean {
  return (f & IrqFlag.Latch) !== 0 || (f & (IrqFlag.Level | IrqFlag.Line)) === (IrqFlag.Level | IrqFlag.Line);
}

/** Whether state bits `f` say enabled, pending and not active (what the ap_list puts first). */
export function irqDeliverable(f: number): boolean {
  return ((f & (IrqFlag.Enabled | IrqFlag.Active)) as IrqFlag) === IrqFlag.Enabled && irqPending(f);
}

/** One virtual interrupt (`struct vgic_irq`). */
export class VgicIrq {
  /** The vCPU whose ap_list holds it (upstream `irq->vcpu`), or null. */
  apCpu: VgicCpu | null = null;
  /** The ap_list position (vgic-ap-list.ts), -1 off the list. */
  apIdx = -1;
  /** The position in its ap_list's active entries (vgic-ap-list.ts), -1 when not there. */
  actIdx = -1;
  /** The ap_list order key (vgic-ap-list.ts). */
  apOrd = 0;
  /** The vCPU whose ap_list re-key marks hold it (vgic-ap-list.ts), or null. */
  rekeyCpu: VgicCpu | null = null;
  /** The vCPU whose ap_list prune marks hold it (vgic-ap-list.ts), or null. */
  pruneCpu: VgicCpu | null = null;
  private _target: VgicCpu | null = null;
  private _group = 0;
  /** The vCPU whose list register holds it while that vCPU is in the guest, or null. */
  lrCpu: VgicCpu | null = null;
  /** The list register index while {@link lrCpu} is set. */
  lr = -1;
  // The state the ap_list is sorted by (see vgic-ap-list.ts), as one word of IRQ_* bits plus the priority and
  // group. Each setter marks the interrupt on its ap_list for the next sort and prune when the value changes, so
  // both cost what changed; the list registers move an edge latch without marking ({@link setLatchInLr}).
  private _f = 0;
  private _priority = 0;
  /**
   * @internal Changes so far of anything the flush derives a list register or the target oracle from: the
   * {@link IrqFlag} bits, priority, group and target (counted by their setters; not by {@link setLatchInLr}, which
   * follows the list registers), the hardware mapping (vgic-mapped.ts) and {@link visibleAt}
   * (vgic-visibility.ts). A list register the flush wrote, the guest left alone and whose interrupt has the same
   * count at the next flush holds exactly what that flush would write again (vgic-lr-sync.ts). A double: exact
   * far beyond any number of changes a guest can make.
   */
  ver = 0;
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
  /** The VM's warning record for an injection before the guest enabled this interrupt (vgic.ts earlyIrq). */
  earlyWarning: VmWarning | null = null;
  /** GICv2 SGIs: pending source CPUs (bit n = vCPU n). */
  source = 0;
  /** GICv2 SGIs: the source of the active instance. */
  activeSource = 0;
  /**
   * When the pending state another vCPU's handler queued becomes visible to the target's flush and WFI check
   * (simulated ns; vgic-visibility.ts): the instant that vCPU's kick for it reaches the target. 0 once visible
   * (queued by the target itself, the host or userspace). Written only by vgic-visibility.ts, which counts each
   * change in {@link ver}.
   */
  visibleAt = 0;

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

  /** The vCPU it is routed to (`irq->target_vcpu`); fixed for private interrupts. */
  get targetCpu(): VgicCpu | null {
    return this._target;
  }
  set targetCpu(v: VgicCpu | null) {
    if (v === this._target) return;
    this._target = v;
    this.ver++;
    const c = this.apCpu;
    if (c !== null) apMarkPrune(c, this);
  }

  /** Group (0 or 1). */
  get group(): number {
    return this._group;
  }
  set group(v: number) {
    if (v === this._group) return;
    const c = this.apCpu;
    if (c !== null) c.apGrp0 += v === 0 ? 1 : -1;
    this._group = v;
    this.sortKeyChanged();
  }

  /** Pending latch (edge: the pending state; level: a software-set pending, ISPENDR). */
  get pendingLatch(): boolean {
    return (this._f & IrqFlag.Latch) !== 0;
  }
  set pendingLatch(v: boolean) {
    const f = v === true ? this._f | IrqFlag.Latch : this._f & ~IrqFlag.Latch;
    if (f === this._f) return;
    this._f = f;
    this.sortKeyChanged();
  }

  /** Line level (level interrupts). */
  get lineLevel(): boolean {
    return (this._f & IrqFlag.Line) !== 0;
  }
  set lineLevel(v: boolean) {
    const f = v === true ? this._f | IrqFlag.Line : this._f & ~IrqFlag.Line;
    if (f === this._f) return;
    this._f = f;
    this.sortKeyChanged();
  }

  /** Active. */
  get active(): boolean {
    return (this._f & IrqFlag.Active) !== 0;
  }
  set active(v: boolean) {
    const f = v === true ? this._f | IrqFlag.Active : this._f & ~IrqFlag.Active;
    if (f === this._f) return;
    this._f = f;
    this.ver++;
    const c = this.apCpu;
    if (c !== null) {
      if (v) apActiveAdd(c, this);
      else apActiveRemove(c, this);
      apMarkRekey(c, this);
      apMarkPrune(c, this);
    }
  }

  /** Enabled (ISENABLER). */
  get enabled(): boolean {
    return (this._f & IrqFlag.Enabled) !== 0;
  }
  set enabled(v: boolean) {
    const f = v === true ? this._f | IrqFlag.Enabled : this._f & ~IrqFlag.Enabled;
    if (f === this._f) return;
    this._f = f;
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
    return (this._f & IrqFlag.Level) !== 0;
  }
  set level(v: boolean) {
    const f = v === true ? this._f | IrqFlag.Level : this._f & ~IrqFlag.Level;
    if (f === this._f) return;
    this._f = f;
    this.sortKeyChanged();
  }

  /**
   * Sets the pending latch as the list registers move it, without marking: the flush consumes an edge latch into
   * an LR, and the fold at the next exit gives it back if the LR is still pending — which leaves the interrupt
   * ordered exactly as when it was sorted. Anything else that happens meanwhile changes another field (marked),
   * or leaves the interrupt not pending and not active, and prune (which looks at every folded LR) drops it.
   */
  setLatchInLr(v: boolean): void {
    this._f = v === true ? this._f | IrqFlag.Latch : this._f & ~IrqFlag.Latch;
  }

  /** @internal The IRQ_* bits in one read (the flush/prune paths test several at once). */
  get stateBits(): number {
    return this._f;
  }

  /**
   * @internal Migration (vgic-hwstate.ts): sets the IRQ_* bits to `f` (as {@link stateBits} read them) through
   * the setters, so the ap_list's bookkeeping (active entries, re-key and prune marks) follows.
   */
  restoreStateBits(f: number): void {
    this.level = (f & IrqFlag.Level) !== 0;
    this.enabled = (f & IrqFlag.Enabled) !== 0;
    this.pendingLatch = (f & IrqFlag.Latch) !== 0;
    this.lineLevel = (f & IrqFlag.Line) !== 0;
    this.active = (f & IrqFlag.Active) !== 0;
  }

  /** What orders it on the ap_list or decides whether it belongs there changed (vgic-ap-list.ts). */
  private sortKeyChanged(): void {
    this.ver++;
    const c = this.apCpu;
    if (c !== null) {
      apMarkRekey(c, this);
      apMarkPrune(c, this);
    }
  }

  /** Whether it is pending as the architecture defines it (edge: latch; level: latch OR line). */
  get pending(): boolean {
    return irqPending(this._f);
  }

  /** Whether it is a mapped level interrupt whose line is sampled from the device (upstream vgic_irq_is_mapped_level). */
  get mappedLevel(): boolean {
    return this.hw && (this._f & IrqFlag.Level) !== 0 && this.getInputLevel !== null;
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
