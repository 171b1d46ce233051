/**
 * A model of the GIC virtual CPU interface hardware (Arm IHI 0069, chapter 4.4 "Virtual CPU interface" and
 * 12.4 "ICH_* registers"; Arm IHI 0048B chapter 5 "GIC Support for Virtualization" for GICv2's GICH/GICV):
 * N list registers (ICH_VTR_EL2.ListRegs, 4 by default, up to 16) with state/priority/group/HW/pINTID/EOI
 * fields, ICH_VMCR (PMR, BPR0/1, VENG0/1, VEOIM, VCBPR, GICv2 AckCtl/FIQEn), ICH_AP0R0/AP1R0 (5 priority bits
 * → one 32-bit active-priority register per group), ICH_HCR (En, UIE, NPIE, LRENPIE, VGrp0EIE, VGrp1EIE, TDIR,
 * EOIcount) and ICH_MISR. Guest accesses the hardware serves without an exit (IAR, EOIR, HPPIR, RPR, PMR, BPR, …) run
 * here against this state only; the hypervisor side (vgic.ts) fills and folds the LRs.
 *
 * Signalling: the highest-priority pending (not active) LR whose group is enabled, whose priority is below PMR
 * and whose group priority beats the running priority drives vIRQ (group 1) or vFIQ (group 0, GICv3 always;
 * GICv2 only with FIQEn set, else vIRQ). The lines are re-evaluated after every change of LR/VMCR/APR state.
 * A maintenance condition (ICH_MISR != 0) raised by an untrapped access makes the vCPU exit (requestExit).
 *
 * @module
 */
import { IrqchipState, TraceKind, type Vcpu } from '@irqflow/core';
import { INTID_SPURIOUS, VGIC_MIN_LPI, VGIC_NR_SGIS } from './vgic-irq';
import type { VirtualPendingSource } from './v4/v4-hooks';

/** List register State field bits (ICH_LR<n>_EL2.State; a const enum for the reason {@link IrqFlag} is one). */
export const enum LrState {
  /** Pending. */
  Pending = 1,
  /** Active. */
  Active = 2,
}

/** ICH_MISR bits. */
export const MISR = { EOI: 1, U: 2, LRENP: 4, NP: 8, VGRP0E: 16, VGRP1E: 64 } as const;

/** Maximum list registers (ICH_VTR_EL2.ListRegs + 1 ≤ 16). */
export const MAX_LRS = 16;

/**
 * The virtual CPU interface of one vCPU. (Its boolean fields are tested with `=== true` on the acknowledge and EOI
 * paths: V8 tracks no type for a boolean field, and a plain test is its generic ToBoolean.)
 */
export class VgicCpuIf {
  /** Number of implemented list registers (set before the first run). */
  nrLrs: number;
  /** LR state (0 invalid, LrState.Pending, LrState.Active, both). */
  readonly lrState = new Uint8Array(MAX_LRS);
  /** LR vINTID. */
  readonly lrIntid = new Int32Array(MAX_LRS);
  /** LR priority. */
  readonly lrPrio = new Uint8Array(MAX_LRS);
  /** LR group. */
  readonly lrGroup = new Uint8Array(MAX_LRS);
  /** LR HW bit. */
  readonly lrHw = new Uint8Array(MAX_LRS);
  /** LR pINTID (host interrupt number). */
  readonly lrPintid = new Int32Array(MAX_LRS);
  /** LR EOI bit (maintenance on deactivation). */
  readonly lrEoi = new Uint8Array(MAX_LRS);
  /** LR CPUID (GICv2 SGI source). */
  readonly lrSource = new Uint8Array(MAX_LRS);
  /** LRs the hypervisor wrote at the last flush. */
  usedLrs = 0;
  /** LRs written with the HW bit since the LRs were last cleared (0: {@link holdsHwLr} needs no scan). */
  hwLrs = 0;
  /**
   * Hypervisor bookkeeping (vgic-lr-sync.ts), bit n = LR n: the LRs the last flush wrote on its common path (edge,
   * not mapped, not a GICv2 SGI: no HW, EOI or CPUID bits). Cleared by {@link clearLrs}.
   */
  fastLrs = 0;
  /**
   * Hypervisor bookkeeping (vgic-lr-sync.ts), bit n = LR n: the LRs the last fold left as they were (the guest did
   * not change them) instead of clearing them, so that the next flush, putting the same interrupt back in the
   * same state, need not write them again. Outside {@link usedLrs}, so nothing but that flush looks at them; any
   * other write of the LRs ({@link clearLrs}) drops them.
   */
  keptLrs = 0;

  /** VMCR.VPMR (8-bit priority mask; 0 masks everything). */
  pmr = 0;
  /** VMCR.VBPR0. */
  bpr0 = 2;
  /** VMCR.VBPR1. */
  bpr1 = 3;
  /** VMCR.VENG0. */
  eng0 = false;
  /** VMCR.VENG1. */
  eng1 = false;
  /** VMCR.VEOIM (EOImode). */
  eoim = false;
  /** VMCR.VCBPR. */
  cbpr = false;
  /** GICv2 VMCR.VAckCtl. */
  ackCtl = false;
  /** GICv2 VMCR.VFIQEn. */
  fiqEn = false;
  /** ICH_AP0R0_EL2. */
  ap0r = 0;
  /** ICH_AP1R0_EL2. */
  ap1r = 0;

  /** ICH_HCR_EL2.En. */
  en = true;
  /** ICH_HCR_EL2.UIE. */
  uie = false;
  /** ICH_HCR_EL2.NPIE. */
  npie = false;
  /** ICH_HCR_EL2.LRENPIE. */
  lrenpie = false;
  /** ICH_HCR_EL2.VGrp0EIE: maintenance while VENG0 is set (the hypervisor left group 0 interrupts out). */
  vgrp0eie = false;
  /** ICH_HCR_EL2.VGrp1EIE: maintenance while VENG1 is set. */
  vgrp1eie = false;
  /** ICH_HCR_EL2.EOIcount. */
  eoiCount = 0;
  /**
   * GICv4: the resident vPE's redistributor, presenting vLPIs/vSGIs next to the LRs (src/v4/vpe.ts); null
   * without a GICv4 host.
   */
  vpe: VirtualPendingSource | null = null;

  /**
   * @param vcpu - the vCPU
   * @param v2 - GICv2 flavour (SGI source in IAR, FIQEn)
   * @param nrLrs - list registers (1..16)
   */
  constructor(
    readonly vcpu: Vcpu,
    readonly v2: boolean,
    nrLrs: number,
  ) {
    this.nrLrs = nrLrs;
  }

  /** Group-priority mask for a group under the current binary points. */
  private groupMask(group: number): number {
    const bpr = group === 0 || this.cbpr ? this.bpr0 : this.bpr1 - 1;
    return (0xff << (bpr + 1)) & 0xff;
  }

  /** ICV_RPR: the running priority (highest active priority), 0xff when idle. */
  rpr(): number {
    const a = (this.ap0r | this.ap1r) >>> 0;
    if (a === 0) return 0xff;
    return (31 - Math.clz32(a & -a)) << 3;
  }

  /**
   * The highest-priority pending LR of `group` (-1 = either enabled group) that may be signalled, or -1.
   * With `checkMasks` false, PMR and the running priority are ignored (HPPIR).
   */
  hppiLr(group: number, checkMasks: boolean): number {
    let best = -1;
    let bestPrio = 0x100;
    const n = this.usedLrs;
    for (let i = 0; i < n; i++) {
      if ((this.lrState[i] as LrState) !== LrState.Pending) continue;
      const g = this.lrGroup[i];
      if (group >= 0 && g !== group) continue;
      if ((g === 0 ? this.eng0 : this.eng1) !== true) continue;
      const p = this.lrPrio[i];
      if (p < bestPrio) {
        best = i;
        bestPrio = p;
      }
    }
    return checkMasks ? this.passesMasks(best, bestPrio) : best;
  }

  /**
   * GICv4: whether the vPE's pending vINTID (group 1) beats LR `i` (-1: none) and, with `checkMasks`, passes
   * PMR and the running priority. Leaves the INTID in `vpeIntid`.
   */
  private vpeWins(i: number, checkMasks: boolean): boolean {
    const p = this.vpe;
    if (p === null || !this.eng1) return false;
    const id = p.hppi();
    if (id < 0) return false;
    const prio = p.hppiPrio;
    if (i >= 0 && this.lrPrio[i] <= prio) return false;
    if (checkMasks && (prio >= this.pmr || (prio & this.groupMask(1)) >= this.rpr())) return false;
    this.vpeIntid = id;
    return true;
  }

  private vpeIntid = -1;

  /**
   * What {@link ackFast} learnt about the state it left: the LR to signal next before the PMR and running-priority
   * checks (-1: none) and its priority. Valid until anything else changes LR or VMCR state (every such change
   * goes through {@link changed}, {@link updateLines}, {@link clearLrs} or {@link deactivateLr}, which drop it),
   * and only when that state raised no maintenance condition. An LPI's EOI changes nothing but the active
   * priorities, so it re-derives the lines from this instead of another pass over the LRs.
   */
  private nextLr = -1;
  private nextPrio = 0x100;
  private nextValid = false;
  /** The LR {@link ackFast} acknowledged and the valid LRs it left (with {@link nextValid}). */
  private ackedLr = -1;
  private ackedValid = 0;

  /** LR `i` (priority `prio`) if it passes the PMR and beats the running priority, else -1 (also for `i` = -1). */
  private passesMasks(i: number, prio: number): number {
    if (i < 0 || prio >= this.pmr || (prio & this.groupMask(this.lrGroup[i])) >= this.rpr()) return -1;
    return i;
  }

  /** Re-evaluates vIRQ/vFIQ from the hardware state. */
  updateLines(): void {
    this.nextValid = false;
    this.setLines(this.en ? this.hppiLr(-1, true) : -1);
  }

  /**
   * {@link updateLines} when the caller already knows what {@link hppiLr}(-1, false) finds: LR `best` of priority
   * `bestPrio` (-1: none) — the flush, which wrote the LRs, saves the pass over them.
   */
  updateLinesFor(best: number, bestPrio: number): void {
    this.nextValid = false;
    this.setLines(this.en ? this.passesMasks(best, bestPrio) : -1);
  }

  /** Drives vIRQ/vFIQ given the signalled LR `i` (-1: none) — the second half of {@link updateLines}. */
  private setLines(i: number): void {
    const v = this.vcpu;
    if (this.vpe !== null && this.en && this.vpeWins(i, true)) {
      v.virq = true;
      v.vfiq = false;
    } else if (i < 0) {
      v.virq = false;
      v.vfiq = false;
    } else if (this.lrGroup[i] === 0 && (!this.v2 || this.fiqEn)) {
      v.vfiq = true;
      v.virq = false;
    } else {
      v.virq = true;
      v.vfiq = false;
    }
  }

  /** ICH_MISR_EL2. */
  misr(): number {
    let m = 0;
    let valid = 0;
    let pending = false;
    for (let i = 0; i < this.usedLrs; i++) {
      const s = this.lrState[i];
      if (s !== 0) valid++;
      if (s & LrState.Pending) pending = true;
      if (s === 0 && this.lrEoi[i] && !this.lrHw[i]) m |= MISR.EOI;
    }
    if (this.uie && valid <= 1) m |= MISR.U;
    if (this.lrenpie && this.eoiCount !== 0) m |= MISR.LRENP;
    if (this.npie && !pending) m |= MISR.NP;
    if (this.vgrp0eie && this.eng0) m |= MISR.VGRP0E;
    if (this.vgrp1eie && this.eng1) m |= MISR.VGRP1E;
    return this.en ? m : 0;
  }

  /** After an untrapped access changed state: lines, then the maintenance interrupt (forces an exit). */
  private changed(): void {
    // Equivalent to updateLines() then `if (misr() !== 0) requestExit()`, in one pass over the LRs.
    this.nextValid = false;
    if (!this.en) {
      const v = this.vcpu;
      v.virq = false;
      v.vfiq = false;
      return;
    }
    const st = this.lrState;
    const n = this.usedLrs;
    const e0 = this.eng0 === true;
    const e1 = this.eng1 === true;
    let best = -1;
    let bestPrio = 0x100;
    let valid = 0;
    let pending = false;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const s = st[i];
      if (s === 0) {
        if (this.lrEoi[i] && !this.lrHw[i]) m |= MISR.EOI;
        continue;
      }
      valid++;
      if ((s & LrState.Pending) === 0) continue;
      pending = true;
      if ((s as LrState) !== LrState.Pending || (this.lrGroup[i] === 0 ? !e0 : !e1)) continue;
      const p = this.lrPrio[i];
      if (p < bestPrio) {
        best = i;
        bestPrio = p;
      }
    }
    this.setLines(this.passesMasks(best, bestPrio));
    if (this.uie && valid <= 1) m |= MISR.U;
    if (this.lrenpie && this.eoiCount !== 0) m |= MISR.LRENP;
    if (this.npie && !pending) m |= MISR.NP;
    if (this.vgrp0eie && e0) m |= MISR.VGRP0E;
    if (this.vgrp1eie && e1) m |= MISR.VGRP1E;
    if (m !== 0) this.vcpu.requestExit();
  }

  /** The value IAR returns for LR `i`. */
  private iarValue(i: number): number {
    const id = this.lrIntid[i];
    return this.v2 && id < VGIC_NR_SGIS ? id | (this.lrSource[i] << 10) : id;
  }

  /** ICV_IAR0/1 (GICv2 GICV_IAR with `group` -1, GICV_AIAR with 1): acknowledge. */
  ack(group: number): number {
    const r = group >= 0 && this.en ? this.ackFast(group) : this.ackGeneral(group);
    if (this.vcpu.vm.trace.on) this.traceIntid(TraceKind.Ack, r);
    return r;
  }

  /** Trace: an acknowledge / EOI of the INTID in `value` (IAR/EOIR layout), unless spurious. */
  private traceIntid(kind: TraceKind, value: number): void {
    const intid = value & (this.v2 ? 0x3ff : 0xffffff);
    if (intid >= 1020 && intid <= 1023) return;
    const v = this.vcpu;
    v.vm.trace.emit(kind, v.vm.id, v.index, v.clock, intid, 0);
  }

  /**
   * {@link ack} of one group, in one pass over the LRs: the LR to acknowledge (what {@link hppiLr} picks) and,
   * for the state after it, what {@link changed} would compute — the next LR to signal (the best other
   * candidate, judged against the new running priority), the valid and pending counts and the EOI maintenance
   * condition. With a GICv4 vPE the vPE's candidate is judged against that LR exactly as {@link ackGeneral}
   * does (the same {@link vpeWins} calls in the same order), and a vPE win takes {@link ackVpe}.
   */
  private ackFast(group: number): number {
    const st = this.lrState;
    const n = this.usedLrs;
    const e0 = this.eng0 === true;
    const e1 = this.eng1 === true;
    let best = -1; // the acknowledge candidate: pending only, of `group`, group enabled
    let bestPrio = 0x100;
    let top1 = -1; // the two best signalling candidates: pending only, group enabled (first index on ties)
    let top1Prio = 0x100;
    let top2 = -1;
    let top2Prio = 0x100;
    let valid = 0;
    let pending = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const s = st[i];
      if (s === 0) {
        if (this.lrEoi[i] && !this.lrHw[i]) m |= MISR.EOI;
        continue;
      }
      valid++;
      if ((s & LrState.Pending) === 0) continue;
      pending++;
      if ((s as LrState) !== LrState.Pending) continue;
      const g = this.lrGroup[i];
      if (g === 0 ? !e0 : !e1) continue;
      const p = this.lrPrio[i];
      if (p < top1Prio) {
        top2 = top1;
        top2Prio = top1Prio;
        top1 = i;
        top1Prio = p;
      } else if (p < top2Prio) {
        top2 = i;
        top2Prio = p;
      }
      if (g === group && p < bestPrio) {
        best = i;
        bestPrio = p;
      }
    }
    // what hppiLr(group, true) returns: the candidate if it passes PMR and beats the running priority
    const groupPrio = bestPrio & this.groupMask(group);
    if (best >= 0 && (bestPrio >= this.pmr || groupPrio >= this.rpr())) best = -1;
    if (group === 1 && this.vpe !== null && this.vpeWins(best, true)) return this.ackVpe();
    if (best < 0) return INTID_SPURIOUS;
    // LPIs have no active state: acknowledging one invalidates its LR (IHI 0069, 5.1).
    const after = this.lrIntid[best] >= VGIC_MIN_LPI ? 0 : LrState.Active;
    st[best] = after;
    const bit = 1 << (groupPrio >> 3);
    if (group === 0) this.ap0r = (this.ap0r | bit) >>> 0;
    else this.ap1r = (this.ap1r | bit) >>> 0;
    this.vcpu.stats.acked++;
    // the state after: what changed() computes
    const sig = best === top1 ? top2 : top1;
    const sigPrio = best === top1 ? top2Prio : top1Prio;
    this.nextLr = sig;
    this.nextPrio = sigPrio;
    this.setLines(this.passesMasks(sig, sigPrio));
    if (after === 0) {
      valid--;
      if (this.lrEoi[best] && !this.lrHw[best]) m |= MISR.EOI;
    }
    if (this.uie && valid <= 1) m |= MISR.U;
    if (this.lrenpie && this.eoiCount !== 0) m |= MISR.LRENP;
    if (this.npie && pending === 1) m |= MISR.NP;
    if (this.vgrp0eie && e0) m |= MISR.VGRP0E;
    if (this.vgrp1eie && e1) m |= MISR.VGRP1E;
    this.nextValid = m === 0;
    this.ackedLr = best;
    this.ackedValid = valid;
    if (m !== 0) this.vcpu.requestExit();
    return this.iarValue(best);
  }

  /**
   * @internal {@link ack} in the general way — {@link hppiLr}, then `changed` — without the trace: the
   * reference `ackFast` must match (test/vgic-cpuif-ack.test.ts).
   */
  ackGeneral(group: number): number {
    let i: number;
    if (group < 0) {
      i = this.hppiLr(-1, true);
      if (i >= 0 && this.lrGroup[i] === 1 && !this.ackCtl) {
        this.changed();
        return 1022;
      }
    } else i = this.hppiLr(group, true);
    if (group === 1 && this.vpe !== null && this.en && this.vpeWins(i, true)) return this.ackVpe();
    if (i < 0) return INTID_SPURIOUS;
    // LPIs have no active state: acknowledging one invalidates its LR (IHI 0069, 5.1).
    this.lrState[i] = this.lrIntid[i] >= VGIC_MIN_LPI ? 0 : LrState.Active;
    const bit = 1 << ((this.lrPrio[i] & this.groupMask(this.lrGroup[i])) >> 3);
    if (this.lrGroup[i] === 0) this.ap0r = (this.ap0r | bit) >>> 0;
    else this.ap1r = (this.ap1r | bit) >>> 0;
    this.vcpu.stats.acked++;
    const r = this.iarValue(i);
    this.changed();
    return r;
  }

  /** GICv4: acknowledges the vPE's vINTID (group 1): active priority, no LR involved. */
  private ackVpe(): number {
    const id = this.vpeIntid;
    this.vpe!.acknowledge(id);
    const bit = 1 << ((this.vpe!.hppiPrio & this.groupMask(1)) >> 3);
    this.ap1r = (this.ap1r | bit) >>> 0;
    this.vcpu.stats.acked++;
    this.changed();
    return id;
  }

  /** ICV_HPPIR0/1: the highest-priority pending interrupt (no masks), or 1023. */
  hppir(group: number): number {
    const i = this.hppiLr(group, false);
    if (group !== 0 && this.vpe !== null && this.vpeWins(i, false)) return this.vpeIntid;
    return i < 0 ? INTID_SPURIOUS : this.iarValue(i);
  }

  /** Whether a list register holds a hardware-mapped interrupt (an EOI or DIR may then reach the host). */
  holdsHwLr(): boolean {
    if (this.hwLrs === 0) return false;
    for (let i = 0; i < this.usedLrs; i++) if (this.lrHw[i] !== 0 && this.lrState[i] !== 0) return true;
    return false;
  }

  /** Finds the LR holding `intid` (GICv2 SGIs: and `source`) in an active state, or -1. */
  findActiveLr(intid: number, source: number): number {
    for (let i = 0; i < this.usedLrs; i++) {
      if (this.lrIntid[i] !== intid || (this.lrState[i] & LrState.Active) === 0) continue;
      if (this.v2 && intid < VGIC_NR_SGIS && this.lrSource[i] !== source) continue;
      return i;
    }
    return -1;
  }

  /**
   * Deactivates LR `i` (hardware deactivation: the HW bit deactivates the host interrupt too). Used by
   * EOIR/DIR and by the hypervisor when it deactivates an interrupt held in another vCPU's LR.
   */
  deactivateLr(i: number): void {
    this.nextValid = false;
    this.lrState[i] &= ~LrState.Active;
    const v = this.vcpu;
    if (v.vm.trace.on) v.vm.trace.emit(TraceKind.Deactivate, v.vm.id, v.index, v.vm.now, this.lrIntid[i], 0);
    if (this.lrHw[i]) {
      const h = this.vcpu.vm.hv.hostIrqs;
      if (h.has(this.lrPintid[i])) h.setIrqchipState(this.lrPintid[i], IrqchipState.Active, false);
    }
    this.vcpu.stats.completed++;
  }

  /** ICV_EOIR0/1 (GICV_EOIR / GICV_AEOIR): priority drop; with EOImode 0 also deactivation. */
  eoi(value: number): void {
    const intid = value & 0xffffff & (this.v2 ? 0x3ff : 0xffffff);
    if (intid >= 1020 && intid <= 1023) return;
    if (this.vcpu.vm.trace.on) this.traceIntid(TraceKind.Eoi, value);
    const a = this.ap0r !== 0 || this.ap1r !== 0;
    if (a) {
      const lo0 = this.ap0r & -this.ap0r;
      const lo1 = this.ap1r & -this.ap1r;
      // Drop the highest active priority (lowest set bit across both registers).
      if (lo0 !== 0 && (lo1 === 0 || lo0 >>> 0 <= lo1 >>> 0)) this.ap0r = (this.ap0r & ~lo0) >>> 0;
      else this.ap1r = (this.ap1r & ~lo1) >>> 0;
    }
    // (with a GICv4 vPE too: setLines judges the vPE's candidate afresh, and nothing else here depends on it)
    if (this.nextValid === true) {
      if (intid >= VGIC_MIN_LPI) {
        // An LPI has no active state (nothing to deactivate or count): only the priority drop changed, so the
        // maintenance state is as ackFast left it (none) and the lines follow from the LR it found next.
        this.setLines(this.passesMasks(this.nextLr, this.nextPrio));
        return;
      }
      if (this.eoim !== true) {
        const i = this.findActiveLr(intid, (value >>> 10) & 7);
        if (i >= 0 && i === this.ackedLr && this.lrHw[i] === 0) {
          // The EOI deactivates the LR ackFast left active (not mapped: no host interrupt is touched): since
          // then only the priority drop changed, and now that LR goes from active to invalid. What changed()
          // would find: the same next LR; one valid LR fewer (underflow); that LR's EOI maintenance; every
          // other condition as ackFast left it (none).
          this.deactivateLr(i);
          let m = 0;
          if (this.lrEoi[i]) m |= MISR.EOI;
          if (this.uie && this.ackedValid - 1 <= 1) m |= MISR.U;
          this.setLines(this.passesMasks(this.nextLr, this.nextPrio));
          if (m !== 0) this.vcpu.requestExit();
          return;
        }
      }
    }
    if (this.eoim !== true) this.deactivate(intid, (value >>> 10) & 7);
    this.changed();
  }

  /** ICV_DIR / GICV_DIR served by hardware (EOImode 1). */
  dir(value: number): void {
    if (!this.eoim) return;
    this.deactivate(value & (this.v2 ? 0x3ff : 0xffffff), (value >>> 10) & 7);
    this.changed();
  }

  private deactivate(intid: number, source: number): void {
    if (intid >= VGIC_MIN_LPI) return; // no active state, nothing to deactivate or count
    const i = this.findActiveLr(intid, source);
    if (i >= 0) this.deactivateLr(i);
    else if (this.vpe === null || !this.vpe.deactivate(intid)) this.eoiCount = (this.eoiCount + 1) & 0x1f;
  }

  /** Writes the PMR (5 implemented bits). */
  setPmr(v: number): void {
    this.pmr = v & 0xf8;
    this.changed();
  }

  /** Applies a state change made by the hypervisor or a VMCR-side register write. */
  refresh(): void {
    this.changed();
  }

  /** Clears every LR (the hypervisor's save path empties them; flush rebuilds them). */
  clearLrs(): void {
    this.foldLrs(0);
    this.fastLrs = 0;
  }

  /**
   * The fold's {@link clearLrs}: clears every used LR but those in `kept` (bit n = LR n), which keep their contents
   * outside {@link usedLrs} ({@link keptLrs}).
   */
  foldLrs(kept: number): void {
    this.dropKeptLrs(0);
    this.nextValid = false;
    this.hwLrs = 0;
    for (let i = 0; i < this.usedLrs; i++) {
      if (((kept >> i) & 1) !== 0) continue;
      this.lrState[i] = 0;
      this.lrEoi[i] = 0;
      this.lrHw[i] = 0;
    }
    this.usedLrs = 0;
    this.keptLrs = kept;
  }

  /** Invalidates the {@link keptLrs} from LR `from` on (the flush: those it did not use) and forgets them all. */
  dropKeptLrs(from: number): void {
    for (let k = this.keptLrs & -(1 << from); k !== 0; k &= k - 1) this.lrState[31 - Math.clz32(k & -k)] = 0;
    this.keptLrs = 0;
  }
}
