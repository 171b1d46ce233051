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
import { Errno, fail, IrqchipState, MpState, TraceKind, VcpuSlot, type Vcpu, type Vm } from '@irqflow/core';
import { VgicCpu } from './vgic-cpu';
import { LrState } from './vgic-cpuif';
import { vgicHasIts } from './its/its-vm';
import { IrqFlag, irqDeliverable, irqPending, VGIC_MAX_SPI, VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS, VgicIrq } from './vgic-irq';
import { VgicLpiHost } from './vgic-lpi';
import { apInsert, apMarkPrune, apRemove } from './vgic-ap-list';
import { assignRedist, checkNewVcpuRedist } from './vgic-redist';
import { recheckAt, stampQueued } from './vgic-visibility';
import { vgicFlush, vgicSync } from './vgic-lr-sync';

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
const MP_HALTED = MpState.Halted;

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
    if ((f & IrqFlag.Active) !== 0) return irq.apCpu ?? irq.targetCpu;
    // (`=== true`: one compare each, not the generic ToBoolean of a call's result or a field V8 has no type for)
    if ((f & IrqFlag.Enabled) !== 0 && irqPending(f) === true && (irq.group === 0 ? this.enableGrp0 : this.enableGrp1) === true)
      return irq.targetCpu;
    return null;
  }

  /**
   * Makes the vCPU notice new state (kvm_vcpu_kick). Vm.kickVcpu's first answer is taken here: a vCPU neither
   * blocked nor in the guest needs no kick (it flushes on entry), so a burst of MSIs to one woken vCPU makes one
   * call, not one per interrupt.
   */
  kick(c: VgicCpu): void {
    const v = c.vcpu;
    if (v.mp === MP_HALTED || v.inGuest) this.vm.kickVcpu(v);
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
    if (irq.lrCpu !== null) return (irq.lrCpu.cpuif.lrState[irq.lr] & LrState.Active) !== 0;
    return irq.active;
  }

  /** Whether `irq` is pending (guest view), looking into the list register that holds it. */
  isPending(irq: VgicIrq): boolean {
    if (irq.lrCpu !== null && (irq.lrCpu.cpuif.lrState[irq.lr] & LrState.Pending) !== 0) return true;
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
      c.cpuif.lrState[irq.lr] &= ~LrState.Pending;
      c.cpuif.refresh();
    }
  }

  /** ISACTIVER / ICACTIVER (guest and userspace restore). */
  setActive(irq: VgicIrq, active: boolean, user: boolean): void {
    const c = irq.lrCpu;
    if (c !== null) {
      if (active) c.cpuif.lrState[irq.lr] |= LrState.Active;
      else if (c.cpuif.lrState[irq.lr] & LrState.Active) c.cpuif.deactivateLr(irq.lr);
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
      if ((c.cpuif.lrState[irq.lr] & LrState.Active) === 0) return;
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

  /** @internal An interrupt left the active state outside an LR: host deactivation, EOI notification, resampling. */
  completed(irq: VgicIrq, hostDeactivate: boolean): void {
    if (hostDeactivate && irq.hw) this.hostState(irq, IRQCHIP_ACTIVE, false);
    if (irq.level) this.notifyEoi(irq);
  }

  /** @internal Level EOI: resamplefd notification for SPIs, line re-sample for mapped level interrupts. */
  notifyEoi(irq: VgicIrq): void {
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

  // ---- flush / sync (vgic-lr-sync.ts) --------------------------------------------------------------------

  /** vgic_flush_hwstate: fills the list registers from the head of the ap_list (vgic-lr-sync.ts). */
  flush(vcpu: Vcpu): void {
    vgicFlush(this, vcpu);
  }

  /** vgic_sync_hwstate: folds the list registers back, handles EOIcount, prunes the ap_list (vgic-lr-sync.ts). */
  sync(vcpu: Vcpu): void {
    vgicSync(this, vcpu);
  }

  /**
   * kvm_vgic_vcpu_pending_irq: a deliverable interrupt is waiting on `c`'s ap_list (after sync). Takes the VgicCpu
   * its caller has already looked up (VgicFlow.vcpuPendingIrq, twice per IPI), not the vCPU to look it up again.
   */
  pendingIrq(c: VgicCpu): boolean {
    const vcpu = c.vcpu;
    const hw = c.cpuif;
    const list = c.apList;
    const clock = vcpu.clock;
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    let hidden = 1e999;
    for (let k = 0; k < c.apLen; k++) {
      const irq = list[k];
      if (!irqDeliverable(irq.stateBits)) continue;
      if (irq.priority >= hw.pmr) continue;
      if ((irq.group === 0 ? hw.eng0 : hw.eng1) !== true) continue; // (one compare, not the generic ToBoolean)
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
