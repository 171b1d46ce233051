/**
 * The vgic core, mirroring upstream KVM's arch/arm64/kvm/vgic/vgic.c: per-VM distributor state (VgicDist) and
 * per-vCPU state (VgicCpu in a core VcpuSlot), the target oracle (vgic_target_oracle), queueing onto a vCPU's
 * ap_list with a kick (vgic_queue_irq_unlock), injection validation (level: only on a level change; edge: on a
 * rising edge), the list-register flush before entry and the fold back after exit, and mapped (hardware)
 * interrupts (seed 000: per-IRQ get-input-level op, host deactivation through the LR HW bit).
 *
 * LR overflow scheme (mirrors the upstream 2025 "LR overflow" rework rather than the older UIE-based one):
 * - the ap_list is sorted lazily at flush, only when it holds more entries than there are LRs (vgic-ap-list.ts):
 *   interrupts of a group the vCPU has enabled first, within them pending-and-not-active first (highest priority
 *   first), then active ones (highest priority first), so a new higher-priority interrupt always reaches an LR
 *   even under 31 nested active interrupts, and a pending interrupt of a disabled group never holds an LR that an
 *   enabled group's interrupt could use (newest mainline vgic_irq_cmp);
 * - pending entries of an enabled group left out → ICH_HCR.NPIE (maintenance when no LR is pending, then refill);
 * - entries of a disabled group left out → ICH_HCR.VGrp0EIE / VGrp1EIE (maintenance when the guest enables that
 *   group, then a re-sort and refill);
 * - active entries left out → ICH_HCR.LRENPIE: an EOI (EOImode 0) of an interrupt not in an LR increments
 *   EOIcount; at the exit we deactivate that many of the highest-priority active interrupts not held in LRs
 *   (EOImode 0 always drops the highest active priority, so that is the interrupt the guest completed);
 * - ICC_DIR_EL1 / GICC_DIR always trap (ICH_HCR_EL2.TDIR kept set; for GICv2 the GICV page holding DIR is
 *   left unmapped): deactivation by INTID then works for interrupts outside the LRs and for an SPI active in
 *   another vCPU's LR (we rewrite that vCPU's LR, as kvm_arm_halt_guest + LR rewrite would).
 * Active priorities live in ICH_AP0R/AP1R, which are part of the vCPU context, so priority drop and preemption
 * never depend on an active interrupt holding an LR.
 *
 * @module
 */
import { Errno, fail, IrqchipState, TraceCounter, TraceKind, VcpuSlot, type Vcpu, type Vm } from '@irqflow/core';
import { VgicCpu } from './vgic-cpu';
import { LR_ACTIVE, LR_PENDING } from './vgic-cpuif';
import { vgicHasIts } from './its/its-vm';
import {
  IRQ_ACTIVE,
  IRQ_ENABLED,
  IRQ_LATCH,
  IRQ_LEVEL,
  irqDeliverable,
  irqPending,
  VGIC_MAX_SPI,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_NR_SGIS,
  VgicIrq,
} from './vgic-irq';
import { VgicLpiHost } from './vgic-lpi';
import { apCachedNext, apCachedWalk, apInsert, apMarkAllRekey, apMarkPrune, apRemove, apSort } from './vgic-ap-list';
import { assignRedist, checkNewVcpuRedist } from './vgic-redist';
import { recheckAt, stampQueued } from './vgic-visibility';

/** A GICv3 redistributor region (KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION); count 0 = the legacy REDIST base. */
export interface RedistRegion {
  /** Region index. */
  readonly index: number;
  /** Guest physical base. */
  readonly base: number;
  /** Number of redistributors (0 for the legacy single region: as many as vCPUs). */
  readonly count: number;
  /** The next redistributor slot to give a vCPU (KVM's free_index): slots below it are in use. */
  freeIndex: number;
}

/** NR_IRQS when userspace set none before the init (KVM's VGIC_NR_IRQS_LEGACY). */
export const VGIC_DEFAULT_NR_IRQS = 256;

/** Undefined address marker. */
export const VGIC_ADDR_UNSET = -1;

/** Where every vGIC keeps its per-vCPU state on the vCPU (one slot index for all VMs). */
const VGIC_SLOT = new VcpuSlot<VgicCpu>('vgic');

/** Read once: `@irqflow/core`'s exports object is in dictionary mode, so an enum member read per use is a lookup. */
const IRQCHIP_PENDING = IrqchipState.Pending;
const IRQCHIP_ACTIVE = IrqchipState.Active;

/** Per-VM vgic state (`struct vgic_dist`) and the operations on it. */
export class Vgic {
  /** Per-vCPU state slot (one for every VM: see {@link VcpuSlot}). */
  readonly slot = VGIC_SLOT;
  /** VgicCpu by vCPU index. */
  readonly cpus: VgicCpu[] = [];
  /** SPIs (index intid - 32). */
  spis: VgicIrq[] = [];
  /** LPIs (the ITS adds them). */
  readonly lpis = new Map<number, VgicIrq>();
  /** NR_IRQS (0 = not set; defaults to 256 at init). */
  nrIrqs = 0;
  /** GICD_CTLR.EnableGrp0. */
  enableGrp0 = false;
  /** GICD_CTLR.EnableGrp1 (GICv3: EnableGrp1A). */
  enableGrp1 = false;
  /** Initialised (KVM_DEV_ARM_VGIC_CTRL_INIT / lazy init). */
  initialized = false;
  /** Resources mapped (first run). */
  ready = false;
  /** Distributor base. */
  distBase = VGIC_ADDR_UNSET;
  /** GICv2 CPU interface base. */
  cpuBase = VGIC_ADDR_UNSET;
  /** GICv3 redistributor regions in index order. */
  readonly redistRegions: RedistRegion[] = [];
  /** Whether the legacy REDIST address was used. */
  legacyRedist = false;
  /** Per-vCPU interrupt list registers (ICH_VTR_EL2.ListRegs + 1). */
  nrLrs = 4;
  /** Redistributor LPI state and the ITS's view of this vGICv3 (GICv3 only). */
  readonly lpiHost: VgicLpiHost;
  /** @internal Snapshot restore: hidden entries not on their list yet (vgic-visibility.ts), applied at first run. */
  hiddenStash: [number, number, number][] | null = null;

  /** LPIs supported (the VM has an ITS): GICD_TYPER.LPIS, GICR_TYPER.PLPIS. */
  get lpiSupport(): boolean {
    return !this.v2 && vgicHasIts(this.vm);
  }

  /**
   * @param vm - the VM
   * @param v2 - GICv2 model (else GICv3)
   */
  constructor(
    readonly vm: Vm,
    readonly v2: boolean,
  ) {
    this.lpiHost = new VgicLpiHost(this);
  }

  /** The VgicCpu of a vCPU. */
  cpu(vcpu: Vcpu): VgicCpu {
    return this.slot.get(vcpu);
  }

  /** Number of SPIs. */
  get nrSpis(): number {
    return this.spis.length;
  }

  /**
   * Creates the per-vCPU state (kvm_vgic_vcpu_init). GICv3: the vCPU gets a redistributor now if a region has
   * a free slot (KVM registers the redistributor at vCPU creation); the regions are checked first, so a
   * refused vCPU leaves nothing behind.
   * @throws KvmError E2BIG for a 9th GICv2 vCPU, EINVAL when the redistributor regions fail the base check
   */
  initCpu(vcpu: Vcpu): void {
    if (this.v2 && vcpu.index >= 8) fail(Errno.E2BIG, 'GICv2 supports at most 8 vCPUs');
    if (!this.v2) checkNewVcpuRedist(this);
    const c = new VgicCpu(vcpu, this.v2, this.nrLrs);
    this.slot.set(vcpu, c);
    this.cpus[vcpu.index] = c;
    if (!this.v2) assignRedist(this, c);
  }

  /** Allocates the SPIs (vgic_init). Idempotent. */
  init(): void {
    if (this.initialized) return;
    const nr = this.nrIrqs || VGIC_DEFAULT_NR_IRQS;
    this.nrIrqs = nr;
    this.spis = [];
    for (let i = VGIC_NR_PRIVATE_IRQS; i < Math.min(nr, VGIC_MAX_SPI); i++) {
      const irq = new VgicIrq(i, null);
      irq.reset(!this.v2);
      this.spis.push(irq);
      // As KVM: every SPI starts targeting vCPU 0 (GICv2 until ITARGETSR is written; GICv3 IROUTER = 0).
      irq.targetCpu = this.cpus[0] ?? null;
      if (!this.v2) this.retarget(irq);
    }
    this.initialized = true;
    this.vm.finalizeIrqchip();
    const routes = [];
    for (let p = 0; p < this.spis.length; p++) routes.push({ gsi: p, type: 'irqchip' as const, irqchip: 0, pin: p });
    this.vm.setGsiRouting(routes);
  }

  /** O(1) lookup: private interrupts of `cpu`, SPIs, LPIs. */
  irq(cpu: VgicCpu | null, intid: number): VgicIrq | undefined {
    if (intid < VGIC_NR_PRIVATE_IRQS) return intid >= 0 && cpu !== null ? cpu.privateIrqs[intid] : undefined;
    if (intid < VGIC_MAX_SPI) return this.spis[intid - VGIC_NR_PRIVATE_IRQS];
    return this.lpis.get(intid);
  }

  /** Recomputes an SPI's target vCPU from ITARGETSR (v2) or IROUTER (v3). */
  retarget(irq: VgicIrq): void {
    if (irq.ownerCpu !== null) return;
    let t: VgicCpu | null;
    if (this.v2) {
      // KVM (vgic_mmio_write_target): the lowest set target bit, and vCPU 0 when none is set — the same as reset,
      // so a userspace restore of ITARGETSR = 0 leaves the SPI where the source VM had it
      const m = irq.targets & ((1 << this.cpus.length) - 1);
      t = this.cpus[m === 0 ? 0 : 31 - Math.clz32(m & -m)] ?? null;
    } else {
      const v = this.vm.vcpuByMpidr(irq.mpidr);
      t = v ? this.slot.get(v) : null;
    }
    irq.targetCpu = t;
    const ap = irq.apCpu;
    if (ap !== null && !irq.active && ap !== t) {
      if (irq.lrCpu !== null) this.kick(irq.lrCpu);
      else {
        this.unqueue(irq);
        this.queue(irq);
      }
    }
  }

  // ---- the oracle and the ap_list -------------------------------------------------------------------------

  /** vgic_target_oracle: the vCPU that must see the interrupt, or null. */
  oracle(irq: VgicIrq): VgicCpu | null {
    const f = irq.stateBits;
    if ((f & IRQ_ACTIVE) !== 0) return irq.apCpu ?? irq.targetCpu;
    if ((f & IRQ_ENABLED) !== 0 && irqPending(f) && (irq.group === 0 ? this.enableGrp0 : this.enableGrp1)) return irq.targetCpu;
    return null;
  }

  /** Makes the vCPU notice new state (kvm_vcpu_kick). */
  kick(c: VgicCpu): void {
    this.vm.kickVcpu(c.vcpu);
  }

  /**
   * vgic_queue_irq_unlock: puts the interrupt on its target's ap_list if it must be seen, and kicks. `fresh`: the
   * caller has just made it pending (it was not): queued by another vCPU, its pending state becomes visible to
   * the target when the kick arrives (vgic-visibility.ts), also for an entry already listed (active).
   */
  queue(irq: VgicIrq, fresh = false): void {
    const t = this.oracle(irq);
    if (irq.apCpu !== null || t === null) {
      if (t !== null) {
        this.kick(t);
        if (fresh && irq.apCpu === t) stampQueued(this, irq, t, false);
      }
      return;
    }
    irq.apCpu = t;
    apInsert(t, irq);
    this.kick(t);
    stampQueued(this, irq, t, true);
  }

  /** Takes `irq` off the ap_list that holds it (not while it is in a list register). O(log n). */
  unqueue(irq: VgicIrq): void {
    const ap = irq.apCpu;
    if (ap === null) return;
    apRemove(ap, irq);
    irq.apCpu = null;
  }

  // ---- injection ----------------------------------------------------------------------------------------

  /**
   * kvm_vgic_inject_irq: sets the line level of `irq` (edge: a rising edge latches pending).
   * Returns false when an owner mismatch refused it.
   */
  inject(irq: VgicIrq, level: boolean, owner: unknown): boolean {
    if (irq.owner !== null && irq.owner !== owner) return false;
    const was = this.isPending(irq);
    if (irq.level) {
      if (irq.lineLevel === level) return true;
      irq.lineLevel = level;
    } else {
      if (!level) return true;
      irq.pendingLatch = true;
    }
    if (level && irq.targetCpu !== null) irq.targetCpu.vcpu.stats.injected++;
    if (level && !irq.enabled) this.earlyIrq(irq);
    const tr = this.vm.trace;
    if (tr.on)
      tr.emit(
        TraceKind.Inject,
        this.vm.id,
        irq.targetCpu === null ? -1 : irq.targetCpu.vcpu.index,
        this.vm.now,
        irq.intid,
        level ? 1 : 0,
        0,
      );
    this.queue(irq, !was);
    return true;
  }

  /** A host interrupt raised while the guest has not enabled it yet: it stays pending; edges merge. */
  private earlyIrq(irq: VgicIrq): void {
    // the record is kept on the interrupt: a storm of early injections counts into it without building strings
    if (irq.earlyWarning !== null) {
      irq.earlyWarning.count++;
      return;
    }
    irq.earlyWarning = this.vm.warn(
      'IRQFLOW_IRQ_EARLY',
      irq.intid,
      irq.level
        ? `level-sensitive INTID ${irq.intid} was asserted before the guest enabled it: it is delivered once enabled only if the line is still asserted then`
        : `edge-triggered INTID ${irq.intid} was raised before the guest enabled it: it stays pending and is delivered once enabled, and further edges before that merge into that one pending interrupt (GIC: one pending state per interrupt)`,
    );
  }

  /** Makes an SGI pending on `target` from `source` (GICv2 records the source CPU). */
  sendSgi(target: VgicCpu, intid: number, source: number): void {
    const irq = target.privateIrqs[intid];
    // (GICv2: a further source of an SGI already pending shares the entry's visibility; one stamp per entry)
    const fresh = !this.isPending(irq);
    if (this.v2) irq.source |= 1 << source;
    irq.pendingLatch = true;
    target.vcpu.stats.injected++;
    const tr = this.vm.trace;
    if (tr.on) tr.emit(TraceKind.Inject, this.vm.id, target.vcpu.index, this.vm.now, intid, 1, source + 1);
    this.queue(irq, fresh);
  }

  // ---- state changes from register writes ----------------------------------------------------------------

  /** Whether `irq` is active, looking into the list register that holds it. */
  isActive(irq: VgicIrq): boolean {
    if (irq.lrCpu !== null) return (irq.lrCpu.cpuif.lrState[irq.lr] & LR_ACTIVE) !== 0;
    return irq.active;
  }

  /** Whether `irq` is pending (guest view), looking into the list register that holds it. */
  isPending(irq: VgicIrq): boolean {
    if (irq.lrCpu !== null && (irq.lrCpu.cpuif.lrState[irq.lr] & LR_PENDING) !== 0) return true;
    if (irq.lrCpu !== null && !irq.level) return irq.pendingLatch;
    return irq.pending;
  }

  /** Sets the number of list registers (1..16) of every vCPU; before the first run. */
  setNrLrs(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > 16) fail(Errno.EINVAL, `${n} list registers: 1..16 supported`);
    this.nrLrs = n;
    for (const c of this.cpus) if (c) c.cpuif.nrLrs = n;
  }

  /** ISPENDR (guest: mirrored to a mapped host interrupt; userspace: the latch only). GICv2 SGIs: WI. */
  setPending(irq: VgicIrq, user: boolean): void {
    if (this.v2 && irq.intid < VGIC_NR_SGIS) return;
    if (!user && irq.hw) this.hostState(irq, IRQCHIP_PENDING, true);
    const fresh = !this.isPending(irq);
    irq.pendingLatch = true;
    if (irq.targetCpu !== null) irq.targetCpu.vcpu.stats.injected++;
    const tr = this.vm.trace;
    if (tr.on) tr.emit(TraceKind.Inject, this.vm.id, irq.targetCpu === null ? -1 : irq.targetCpu.vcpu.index, this.vm.now, irq.intid, 1, 0);
    this.queue(irq, fresh);
  }

  /** ICPENDR (guest only; userspace ICPENDR is RAZ/WI). */
  clearPending(irq: VgicIrq): void {
    if (irq.hw) this.hostState(irq, IRQCHIP_PENDING, false);
    irq.pendingLatch = false;
    if (this.v2 && irq.intid < VGIC_NR_SGIS) irq.source = 0;
    if (irq.mappedLevel) irq.lineLevel = irq.getInputLevel!(irq.targetCpu!.vcpu, irq.intid);
    const c = irq.lrCpu;
    if (c !== null) {
      c.cpuif.lrState[irq.lr] &= ~LR_PENDING;
      c.cpuif.refresh();
    }
  }

  /** ISACTIVER / ICACTIVER (guest and userspace restore). */
  setActive(irq: VgicIrq, active: boolean, user: boolean): void {
    const c = irq.lrCpu;
    if (c !== null) {
      if (active) c.cpuif.lrState[irq.lr] |= LR_ACTIVE;
      else if (c.cpuif.lrState[irq.lr] & LR_ACTIVE) c.cpuif.deactivateLr(irq.lr);
      c.cpuif.refresh();
      this.kick(c);
      return;
    }
    if (irq.active === active) return;
    irq.active = active;
    if (!user && irq.hw) this.hostState(irq, IRQCHIP_ACTIVE, active);
    if (!active) this.completed(irq, false);
    this.queue(irq);
  }

  /** Deactivation by INTID (trapped ICC_DIR_EL1 / GICC_DIR): in an LR of any vCPU, or in the model. */
  deactivate(irq: VgicIrq, source: number): void {
    const c = irq.lrCpu;
    if (c !== null) {
      if ((c.cpuif.lrState[irq.lr] & LR_ACTIVE) === 0) return;
      if (this.v2 && irq.intid < VGIC_NR_SGIS && c.cpuif.lrSource[irq.lr] !== source) return;
      c.cpuif.deactivateLr(irq.lr);
      c.cpuif.refresh();
      this.kick(c);
      return;
    }
    if (!irq.active) return;
    irq.active = false;
    if (irq.apCpu !== null) irq.apCpu.vcpu.stats.completed++;
    const tr = this.vm.trace;
    if (tr.on) tr.emit(TraceKind.Deactivate, this.vm.id, irq.apCpu === null ? -1 : irq.apCpu.vcpu.index, this.vm.now, irq.intid, 0);
    this.completed(irq, true);
    this.queue(irq);
  }

  /** An interrupt left the active state outside an LR: host deactivation, EOI notification, resampling. */
  private completed(irq: VgicIrq, hostDeactivate: boolean): void {
    if (hostDeactivate && irq.hw) this.hostState(irq, IRQCHIP_ACTIVE, false);
    if (irq.level) this.notifyEoi(irq);
  }

  /** Level EOI: resamplefd notification for SPIs, line re-sample for mapped level interrupts. */
  private notifyEoi(irq: VgicIrq): void {
    if (irq.intid >= VGIC_NR_PRIVATE_IRQS && irq.intid < VGIC_MAX_SPI) this.vm.notifyAckedIrq(0, irq.intid - VGIC_NR_PRIVATE_IRQS);
    if (irq.mappedLevel && irq.targetCpu !== null) irq.lineLevel = irq.getInputLevel!(irq.targetCpu.vcpu, irq.intid);
  }

  /** irq_set_irqchip_state on the host interrupt behind a mapped interrupt. */
  hostState(irq: VgicIrq, which: IrqchipState, v: boolean): void {
    const h = this.vm.hv.hostIrqs;
    if (h.has(irq.hostIrq)) h.setIrqchipState(irq.hostIrq, which, v);
  }

  /** GICD_CTLR group enables changed: re-evaluate every pending SPI and private interrupt (not a hot path). */
  groupEnablesChanged(): void {
    // every listed interrupt's oracle may have changed: the next prune of its list looks at it
    for (const c of this.cpus) for (let k = 0; k < c.apLen; k++) apMarkPrune(c, c.apList[k]);
    for (const irq of this.spis) this.queue(irq);
    for (const c of this.cpus) for (const irq of c.privateIrqs) this.queue(irq);
  }

  // ---- flush / sync ---------------------------------------------------------------------------------------

  /** vgic_flush_hwstate: fills the list registers from the head of the ap_list (vgic-ap-list.ts). */
  flush(vcpu: Vcpu): void {
    const c = this.slot.get(vcpu);
    const hw = c.cpuif;
    const nr = hw.nrLrs;
    const len = c.apLen;
    hw.eoiCount = 0;
    if (len === 0) {
      hw.npie = hw.lrenpie = hw.uie = hw.vgrp0eie = hw.vgrp1eie = false;
      hw.updateLines();
      if (this.vm.trace.on) this.traceCounters(vcpu, 0, 0);
      return;
    }
    const eng = (hw.eng0 ? 1 : 0) | (hw.eng1 ? 2 : 0);
    if (eng !== c.apEng) {
      // the group enables are part of the sort key: every entry must be re-keyed at the next sort
      c.apEng = eng;
      apMarkAllRekey(c);
    }
    if (len > nr && c.apRekeyLen !== 0) apSort(c, eng);
    let n = 0;
    let act = 0;
    let grp0 = 0;
    let overP = false;
    // a pending state another vCPU queued is left out until its kick arrives (vgic-visibility.ts)
    const clock = vcpu.clock;
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    let hidden = 1e999;
    // what hppiLr(-1, false) would find over the LRs written (pending only, group enabled, first on ties)
    let best = -1;
    let bestPrio = 0x100;
    const v2 = this.v2;
    const tr = this.vm.trace;
    apCachedWalk(c);
    for (let irq = apCachedNext(c); irq !== null; irq = apCachedNext(c)) {
      if (this.oracle(irq) !== c) continue;
      const later = irq.visibleAt > clock;
      if (later) {
        if (irq.visibleAt < hidden) hidden = irq.visibleAt;
        if (!irq.active) continue;
      }
      if (n === nr) {
        // The first entry for this vCPU that did not fit. Sorted (the list only overflows after a sort), so
        // if it is not a pending one of an enabled group, no such entry was left out.
        overP = irqDeliverable(irq.stateBits) && ((eng >> irq.group) & 1) !== 0;
        break;
      }
      const f = irq.stateBits;
      const g = irq.group;
      if ((f & IRQ_ACTIVE) !== 0) act++;
      if (g === 0) grp0++;
      if (!later && (f & IRQ_LEVEL) === 0 && !irq.hw && !(v2 && irq.intid < VGIC_NR_SGIS)) {
        // populateLr for the common case (edge, not mapped, not a GICv2 SGI), written out: the pending latch
        // moves into the LR, no EOI maintenance, no source
        let state = 0;
        if ((f & IRQ_LATCH) !== 0) {
          state = LR_PENDING;
          irq.setLatchInLr(false);
        }
        if ((f & IRQ_ACTIVE) !== 0) state |= LR_ACTIVE;
        const prio = irq.priority;
        hw.lrState[n] = state;
        hw.lrIntid[n] = irq.intid;
        hw.lrPrio[n] = prio;
        hw.lrGroup[n] = g;
        hw.lrHw[n] = 0;
        hw.lrPintid[n] = irq.hostIrq;
        hw.lrEoi[n] = 0;
        hw.lrSource[n] = 0;
        c.lrFlushState[n] = state;
        c.lrIrqs[n] = irq;
        irq.lrCpu = c;
        irq.lr = n;
        if (tr.on) tr.emit(TraceKind.LrLoad, this.vm.id, vcpu.index, vcpu.clock, irq.intid, n);
        if (state === LR_PENDING && ((eng >> g) & 1) !== 0 && prio < bestPrio) {
          best = n;
          bestPrio = prio;
        }
      } else {
        this.populateLr(c, n, irq, later);
        if (hw.lrState[n] === LR_PENDING && ((eng >> hw.lrGroup[n]) & 1) !== 0 && hw.lrPrio[n] < bestPrio) {
          best = n;
          bestPrio = hw.lrPrio[n];
        }
      }
      n++;
    }
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    if (hidden < 1e999) recheckAt(vcpu, hidden);
    hw.usedLrs = n;
    hw.npie = overP;
    // active entries left out (an active entry always belongs to the vCPU whose list holds it)
    hw.lrenpie = c.apActiveLen > act;
    // entries of a disabled group left out: maintenance when the guest enables it (entries not for this vCPU
    // that prune has yet to drop may count too: at worst one extra exit)
    hw.vgrp0eie = (eng & 1) === 0 && c.apGrp0 > grp0;
    hw.vgrp1eie = (eng & 2) === 0 && len - c.apGrp0 > n - grp0;
    hw.uie = false;
    vcpu.charge(this.vm.costNs.lrAccess * n);
    hw.updateLinesFor(best, bestPrio);
    if (this.vm.trace.on) this.traceCounters(vcpu, len, n);
  }

  /** Trace: the vCPU's ap_list length (interrupts pending or active for it) and the LRs in use. */
  private traceCounters(vcpu: Vcpu, pending: number, lrs: number): void {
    const tr = this.vm.trace;
    tr.emit(TraceKind.Counter, this.vm.id, vcpu.index, vcpu.clock, TraceCounter.Pending, pending);
    tr.emit(TraceKind.Counter, this.vm.id, vcpu.index, vcpu.clock, TraceCounter.LrsInUse, lrs);
  }

  /** Loads `irq` into LR `i`; `hidden`: its pending state is not visible yet (only its active state is loaded). */
  private populateLr(c: VgicCpu, i: number, irq: VgicIrq, hidden: boolean): void {
    const hw = c.cpuif;
    // the state bits in one read (the setters below change only the latch, which nothing after them reads)
    const f = irq.stateBits;
    const isHw = irq.hw;
    const level = (f & IRQ_LEVEL) !== 0;
    const sgi2 = this.v2 && irq.intid < VGIC_NR_SGIS;
    let state = 0;
    let eoi = 0;
    let src = 0;
    if (irqPending(f) && !hidden) {
      state |= LR_PENDING;
      if (sgi2) {
        const s = irq.source & -irq.source;
        src = s ? 31 - Math.clz32(s) : 0;
        irq.source &= ~s;
        irq.setLatchInLr(irq.source !== 0);
        if (irq.source !== 0) eoi = 1;
      } else if (!level) irq.setLatchInLr(false);
    }
    if ((f & IRQ_ACTIVE) !== 0) {
      state |= LR_ACTIVE;
      if (sgi2) {
        if (state & LR_PENDING) {
          // One source per LR: keep the pending source for later, deliver the active one.
          irq.source |= 1 << src;
          irq.pendingLatch = true;
          eoi = 1;
        }
        state = LR_ACTIVE;
        src = irq.activeSource;
      } else if (isHw || level) state = LR_ACTIVE;
    }
    if (level && !isHw) eoi = 1;
    hw.lrState[i] = state;
    hw.lrIntid[i] = irq.intid;
    hw.lrPrio[i] = irq.priority;
    hw.lrGroup[i] = irq.group;
    hw.lrHw[i] = isHw ? 1 : 0;
    if (isHw) hw.hwLrs++;
    hw.lrPintid[i] = irq.hostIrq;
    hw.lrEoi[i] = eoi;
    hw.lrSource[i] = src;
    c.lrFlushState[i] = state;
    c.lrIrqs[i] = irq;
    irq.lrCpu = c;
    irq.lr = i;
    const tr = this.vm.trace;
    if (tr.on) tr.emit(TraceKind.LrLoad, this.vm.id, c.vcpu.index, c.vcpu.clock, irq.intid, i);
  }

  /** vgic_sync_hwstate: folds the list registers back, handles EOIcount, prunes the ap_list. */
  sync(vcpu: Vcpu): void {
    const c = this.slot.get(vcpu);
    const hw = c.cpuif;
    const n = hw.usedLrs;
    const tr = this.vm.trace;
    if (hw.eoiCount !== 0) this.eoiCountDeactivate(c, hw.eoiCount);
    for (let i = 0; i < n; i++) {
      const irq = c.lrIrqs[i]!;
      c.lrIrqs[i] = null;
      const s = hw.lrState[i];
      if (tr.on) tr.emit(TraceKind.LrFold, this.vm.id, vcpu.index, vcpu.clock, irq.intid, s);
      irq.lrCpu = null;
      irq.lr = -1;
      const f = irq.stateBits;
      // An LR the guest left as the flush wrote it (edge, not mapped, not a GICv2 SGI, active as the interrupt):
      // the fold only gives back the edge latch the flush consumed. Nothing that decides whether the interrupt
      // belongs on this list changed without a setter marking it for prune (VgicIrq), so prune need not look.
      if (
        s === c.lrFlushState[i] &&
        s !== 0 &&
        (f & IRQ_LEVEL) === 0 &&
        ((s & LR_ACTIVE) !== 0) === ((f & IRQ_ACTIVE) !== 0) &&
        !irq.hw &&
        !(this.v2 && irq.intid < VGIC_NR_SGIS)
      ) {
        if ((s & LR_PENDING) !== 0) irq.setLatchInLr(true);
        continue;
      }
      apMarkPrune(c, irq);
      const wasActive = (f & IRQ_ACTIVE) !== 0;
      irq.active = (s & LR_ACTIVE) !== 0;
      const sgi2 = this.v2 && irq.intid < VGIC_NR_SGIS;
      if (sgi2) {
        if (irq.active) irq.activeSource = hw.lrSource[i];
        if (s & LR_PENDING) {
          irq.source |= 1 << hw.lrSource[i];
          irq.pendingLatch = true;
        }
      } else if (!irq.level && s & LR_PENDING) irq.setLatchInLr(true);
      // A level interrupt's soft pending latch is consumed when the guest acknowledges it (P → A or invalid).
      if (irq.level && (c.lrFlushState[i] & LR_PENDING) !== 0 && (s & LR_PENDING) === 0) irq.pendingLatch = false;
      if (irq.mappedLevel) {
        irq.lineLevel = irq.getInputLevel!(vcpu, irq.intid);
        // vgic_irq_handle_resampling: a line found low while the guest does not hold the interrupt active
        // (still pending in the LR, or deactivated by the guest) releases the host interrupt, which may have
        // fired again and gone active after an EOI, so the next assertion of the line reaches the guest.
        if (!irq.lineLevel && (s & LR_ACTIVE) === 0) this.hostState(irq, IrqchipState.Active, false);
      }
      if (s === 0 && hw.lrEoi[i] && !hw.lrHw[i] && irq.level) this.notifyEoi(irq);
      else if (wasActive && !irq.active && irq.level && !irq.hw) this.notifyEoi(irq);
    }
    hw.clearLrs();
    hw.eoiCount = 0;
    if (n) vcpu.charge(this.vm.costNs.lrAccess * n);
    vcpu.virq = false;
    vcpu.vfiq = false;
    this.prune(c);
    if (tr.on && n) tr.emit(TraceKind.Counter, this.vm.id, vcpu.index, vcpu.clock, TraceCounter.LrsInUse, 0);
  }

  /**
   * EOIcount: deactivate the highest-priority active interrupts that were not in an LR (the first in list order
   * among equal priorities). Only with LRENPIE, i.e. more active interrupts than LRs.
   */
  private eoiCountDeactivate(c: VgicCpu, count: number): void {
    for (let k = 0; k < count; k++) {
      let best: VgicIrq | null = null;
      const act = c.apActive;
      for (let j = 0; j < c.apActiveLen; j++) {
        const irq = act[j];
        if (irq.lrCpu === c) continue;
        if (best === null || irq.priority < best.priority || (irq.priority === best.priority && irq.apOrd < best.apOrd)) best = irq;
      }
      if (best === null) return;
      best.active = false;
      c.vcpu.stats.completed++;
      if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Deactivate, this.vm.id, c.vcpu.index, c.vcpu.clock, best.intid, 0);
      this.completed(best, true);
    }
  }

  /**
   * vgic_prune_ap_list: drops what no longer needs a vCPU and migrates what moved. Looks only at the entries
   * that were in the LRs and those whose state or target changed since the last prune (vgic-ap-list.ts): every
   * other entry still belongs here. Interrupts that move are queued on their new vCPU in list order.
   */
  private prune(c: VgicCpu): void {
    const marks = c.apPrune;
    const m = c.apPruneLen;
    c.apPruneLen = 0;
    const moving = c.apMoving;
    let nm = 0;
    for (let k = 0; k < m; k++) {
      const irq = marks[k];
      (marks as (VgicIrq | null)[])[k] = null;
      if (irq.pruneCpu !== c) continue;
      irq.pruneCpu = null;
      if (irq.apCpu !== c) continue;
      const t = this.oracle(irq);
      if (t === c) continue;
      apRemove(c, irq);
      irq.apCpu = null;
      if (t !== null) {
        // insertion by list order (apOrd is kept after removal); rarely more than one
        let j = nm++;
        while (j > 0 && moving[j - 1]!.apOrd > irq.apOrd) {
          moving[j] = moving[j - 1];
          j--;
        }
        moving[j] = irq;
      }
    }
    for (let k = 0; k < nm; k++) {
      const irq = moving[k]!;
      // the scratch list keeps no reference once used (an interrupt freed later must not stay reachable here)
      moving[k] = null;
      this.queue(irq);
    }
  }

  /** kvm_vgic_vcpu_pending_irq: a deliverable interrupt is waiting (after sync). */
  pendingIrq(vcpu: Vcpu): boolean {
    const c = this.slot.get(vcpu);
    const hw = c.cpuif;
    const list = c.apList;
    const clock = vcpu.clock;
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    let hidden = 1e999;
    for (let k = 0; k < c.apLen; k++) {
      const irq = list[k];
      if (!irqDeliverable(irq.stateBits)) continue;
      if (irq.priority >= hw.pmr) continue;
      if (irq.group === 0 ? !hw.eng0 : !hw.eng1) continue;
      // queued by another vCPU whose kick has not arrived yet: the vCPU cannot know of it (vgic-visibility.ts)
      if (irq.visibleAt > clock) {
        if (irq.visibleAt < hidden) hidden = irq.visibleAt;
        continue;
      }
      return true;
    }
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    if (hidden < 1e999) recheckAt(vcpu, hidden);
    return false;
  }
}
