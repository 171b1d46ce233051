/**
 * A GICv4 virtual PE (Arm IHI 0069, 5.3 "Virtual LPI support" / "Virtual PEs and residency" and, for
 * GICv4.1, 5.4 "Direct injection of virtual SGIs"), one per vCPU as KVM's `struct its_vpe`.
 *
 * Residency follows KVM's vgic_v4_load / vgic_v4_put: the vPE is made resident on the redistributor when the
 * vCPU is loaded (unless it is blocking in WFI) and when it unblocks, and non-resident when it is put or starts
 * blocking; while blocking its doorbell is armed.
 *
 * Delivery model (documented choice): the vPE's virtual pending table is the set {@link Vpe.pendingVlpis} (kept
 * in a {@link VirtualPendingTable}) plus the vSGI pending bits. While the vPE is resident the GICv4 redistributor presents its highest-priority
 * enabled pending vINTID to the virtual CPU interface *next to* the list registers: the modelled CPU interface
 * (vgic-cpuif.ts) asks {@link Vpe.hppi} when it evaluates vIRQ, on ICV_IAR1 (which consumes the pending bit:
 * vLPIs and GICv4.1 nASSGI vSGIs have no active state) and on ICV_EOIR1/DIR (a vSGI's EOI is only a priority drop). No list register is used, nothing is queued on the
 * ap_list, the hypervisor is not involved: a vLPI (or vSGI) arriving for a resident vPE only raises vIRQ —
 * no kick, no exit (counted in {@link VpeStats.direct}). For a non-resident vPE the bit just stays in the
 * virtual pending table; if the vCPU is blocked in WFI the redistributor raises the vPE's doorbell, a host
 * interrupt whose handler kicks the vCPU (KVM's vgic_v4_doorbell_handler), one-shot until the next blocking.
 *
 * Selection (issue #17: no walk over the pending vLPIs per evaluation). The table keeps, per pending vLPI, its
 * key (priority, vINTID) from the vPE's configuration ({@link VlpiConfig}: the property table as the ITS last read
 * it, Arm IHI 0069 5.1.1), in min-heaps over the arrived entries and over all entries (vpt.ts), so
 * {@link Vpe.hppi} / {@link Vpe.hasPending} cost amortised O(log n) and allocate nothing, and choose what a walk
 * would: lowest priority value, ties to the lowest vINTID, disabled vLPIs never. A configuration change must
 * re-key the entry: {@link Vpe.configChanged}(intid), which GicV4 calls for INV / INVALL / GICR_INV* (the only
 * paths that change what the ITS read: LpiTable.readConfig); a vLPI that moves (VMOVI) is cleared here and made
 * pending on its new vPE with that vPE's reading; restore re-stamps arrivals ({@link Vpe.restoreArrivals}).
 * The ≤ 32 vSGI bits are checked directly.
 *
 * Causality: a vINTID made pending by anyone but the vCPU itself (another vCPU's vSGI, an MSI, a forwarded host
 * interrupt) reaches the vPE's CPU interface after the delivery latency of a signal (core's Vm.signalVcpu):
 * each pending entry carries the simulated time from which the vCPU sees it, the CPU interface ignores it before
 * then ({@link Vpe.hppi}, {@link Vpe.hasPending}), and the vIRQ line is re-driven when it arrives.
 *
 * @module
 */
import { CostComponent, IrqchipState, MpState, type HostIrq, type Vcpu } from '@irqflow/core';
import type { VgicCpu } from '../vgic-cpu';
import { VGIC_NR_SGIS } from '../vgic-irq';
import type { VirtualPendingSource } from './v4-hooks';
import { NO_KEY, VirtualPendingTable } from './vpt';

/** Read once: `@irqflow/core`'s exports object is in dictionary mode, so an enum member read per use is a lookup. */
const VPE_RESIDENCY = CostComponent.VpeResidency;
const MP_STOPPED = MpState.Stopped;
const IRQCHIP_ACTIVE = IrqchipState.Active;

/**
 * Configuration of a vLPI as the redistributor sees it (the VM's LPI property table). The vPE reads it when a
 * vLPI becomes pending and when told of a change ({@link Vpe.configChanged} with the vINTID), not per selection.
 */
export interface VlpiConfig {
  /** Enable bit of vLPI `intid` (false for an unknown LPI). */
  vlpiEnabled(intid: number): boolean;
  /** Priority of vLPI `intid`: an integer; a vLPI at 0x100 or above (or not an integer in 0..0xff) is never presented. */
  vlpiPriority(intid: number): number;
}

/** Key scale: a vLPI's selection key is priority × 2^32 + vINTID (exact in a double; orders (priority, vINTID)). */
const PRIO_SCALE = 4294967296;

/** Counters of one vPE. */
export interface VpeStats {
  /** vLPIs/vSGIs made pending while the vPE was resident: delivered with no exit. */
  direct: number;
  /** vLPIs/vSGIs recorded while the vPE was not resident. */
  deferred: number;
  /** Doorbells raised (the vCPU was blocked in WFI). */
  doorbells: number;
  /** vSGIs received. */
  vsgis: number;
  /** vINTIDs acknowledged by the guest through the CPU interface. */
  acked: number;
}

/** {@link Vpe.saveArrivals}: (vINTID, arrival time) of each pending vLPI and vSGI. */
export interface SavedVpeArrivals {
  /** Pending vLPIs. */
  readonly vlpis: readonly (readonly [intid: number, at: number])[];
  /** Pending vSGIs. */
  readonly sgis: readonly (readonly [intid: number, at: number])[];
}

/** One vPE. */
export class Vpe implements VirtualPendingSource {
  /** Resident on the redistributor (between load/unblocking and put/blocking). */
  resident = false;
  /** The vCPU is blocking in WFI (kvm_vcpu_is_blocking). */
  blocking = false;
  /** Doorbell armed (set when blocking, cleared when it fires or the vPE becomes resident). */
  doorbellArmed = false;
  /** Pending vLPIs of the virtual pending table, each with the simulated time from which the vCPU sees it. */
  private readonly vpt = new VirtualPendingTable();
  /** vSGI pending bits (GICv4.1). */
  sgiPending = 0;
  /** For each vSGI, the simulated time from which the vCPU sees its pending bit. */
  private readonly sgiAt = new Float64Array(VGIC_NR_SGIS);
  /**
   * vSGIs acknowledged and not yet EOId. With GICD_CTLR.nASSGIreq SGIs have no active state (IHI 0069 12.9.4):
   * acknowledging consumes the pending bit and EOI only drops the running priority; the bit only lets the CPU
   * interface recognise that EOI (no EOIcount, nothing to deactivate).
   */
  sgiInService = 0;
  /** Priority of the last {@link hppi} answer. */
  hppiPrio = 0x100;
  /** Counters. */
  readonly stats: VpeStats = { direct: 0, deferred: 0, doorbells: 0, vsgis: 0, acked: 0 };
  /** The doorbell: a host interrupt of the host interrupt model. */
  readonly doorbell: HostIrq;

  /**
   * @param cpu - the vCPU's vgic state (CPU interface, SGI configuration)
   * @param config - vLPI configuration
   */
  constructor(
    readonly cpu: VgicCpu,
    private readonly config: VlpiConfig,
  ) {
    const vcpu = cpu.vcpu;
    const hostIrqs = vcpu.vm.hv.hostIrqs;
    this.doorbell = hostIrqs.allocate(`vpe-doorbell/vm${vcpu.vm.id}/vcpu${vcpu.index}`, (h) => {
      this.doorbellArmed = false;
      this.stats.doorbells++;
      vcpu.vm.kickVcpu(vcpu);
      hostIrqs.setIrqchipState(h.irq, IRQCHIP_ACTIVE, false);
    });
  }

  /** The vCPU. */
  get vcpu(): Vcpu {
    return this.cpu.vcpu;
  }

  // ---- residency (vgic_v4_load / vgic_v4_put) ------------------------------------------------------------

  /** vcpu_load: resident unless blocking. */
  load(): void {
    if (!this.blocking) this.makeResident();
  }

  /** vcpu_put: not resident. */
  put(): void {
    this.resident = false;
  }

  /** The vCPU blocks in WFI: not resident, doorbell armed. */
  block(): void {
    this.blocking = true;
    this.resident = false;
    this.doorbellArmed = true;
  }

  /** The vCPU unblocks: resident again, doorbell disarmed. */
  unblock(): void {
    this.blocking = false;
    this.makeResident();
  }

  private makeResident(): void {
    // its_make_vpe_resident: program the redistributor's VPENDBASER (and wait for it), on the vCPU's pCPU
    if (!this.resident) {
      const v = this.vcpu;
      v.clock += v.vm.costNs.vpeResidency;
      v.costBy[VPE_RESIDENCY] += v.vm.costNs.vpeResidency;
    }
    this.resident = true;
    this.doorbellArmed = false;
    this.vpt.dropAll(); // the doorbell's whole-table question is not asked of a resident vPE
  }

  // ---- the virtual pending table -------------------------------------------------------------------------

  /** The pending vLPIs of the virtual pending table, in the order they became pending (a new array). */
  get pendingVlpis(): number[] {
    return this.vpt.ids();
  }

  /** @internal Work counter of the selection (entries the virtual pending table looked at; for tests). */
  get selectionWork(): number {
    return this.vpt.visited;
  }

  /** Whether vLPI `intid` is pending in the virtual pending table. */
  isVlpiPending(intid: number): boolean {
    return this.vpt.has(intid);
  }

  /** The redistributor makes vLPI `intid` pending (a forwarded host interrupt fired, or a software MSI). */
  setVlpiPending(intid: number): void {
    if (this.vpt.has(intid)) return; // edge: coalesces with the pending one
    const s = this.vcpu.vm.scheduler;
    s.stampSignal(this.vcpu);
    const enabled = this.config.vlpiEnabled(intid);
    this.vpt.add(intid, s.signalTime, enabled ? this.prioKey(intid) : NO_KEY);
    this.vcpu.stats.injected++;
    this.signal(enabled);
  }

  /** The selection key of vLPI `intid` from its configuration ({@link NO_KEY}: never presented). */
  private keyOf(intid: number): number {
    return this.config.vlpiEnabled(intid) ? this.prioKey(intid) : NO_KEY;
  }

  /** The selection key of enabled vLPI `intid`: its priority and vINTID ({@link NO_KEY} for a priority ≥ 0x100). */
  private prioKey(intid: number): number {
    const p = this.config.vlpiPriority(intid);
    return (p | 0) === p && p >= 0 && p < 0x100 ? p * PRIO_SCALE + intid : NO_KEY;
  }

  /** Clears vLPI `intid`'s pending bit; returns whether it was pending. */
  clearVlpiPending(intid: number): boolean {
    if (!this.vpt.remove(intid)) return false;
    this.relines();
    return true;
  }

  /** GICv4.1: the hypervisor makes vSGI `intid` pending for this vPE (no list register, no kick). */
  setVsgiPending(intid: number): void {
    this.stats.vsgis++;
    const bit = 1 << intid;
    if (this.sgiPending & bit) return;
    const s = this.vcpu.vm.scheduler;
    s.stampSignal(this.vcpu);
    this.sgiAt[intid] = s.signalTime;
    this.sgiPending |= bit;
    this.vcpu.stats.injected++;
    this.signal(this.cpu.privateIrqs[intid].enabled);
  }

  /** GICv4.1: clears vSGI `intid`'s pending bit (GICR_ICPENDR0: irq_set_irqchip_state(PENDING, false)). */
  clearVsgiPending(intid: number): void {
    const bit = 1 << intid;
    if ((this.sgiPending & bit) === 0) return;
    this.sgiPending &= ~bit;
    this.relines();
  }

  /**
   * Re-presents after a configuration change (INV, enable, priority, group); with `intid` (a vLPI's
   * configuration was re-read: INV / INVALL), its pending entry is re-keyed first.
   */
  configChanged(intid?: number): void {
    if (intid !== undefined) this.vpt.setKey(intid, this.keyOf(intid));
    if (this.resident) this.relines();
    else if (this.doorbellArmed && this.hasPending(false)) this.ringDoorbell();
  }

  /**
   * The vIRQ line must be re-evaluated: at once when the vCPU itself changed the state, else when the change
   * reaches it (a line signal, core's Vm.signalVcpu; the controller's vcpuSignalled calls {@link signalled}).
   */
  private relines(): void {
    if (this.resident && this.vcpu.inGuest) this.vcpu.vm.signalVcpu(this.vcpu);
  }

  /**
   * A line signal reached the vCPU: re-drives vIRQ, and posts another for the earliest entry it cannot see yet
   * (signals coalesce to the earliest, so a later arrival needs its own).
   */
  signalled(): void {
    const v = this.vcpu;
    if (this.resident && v.inGuest) this.cpu.cpuif.updateLines();
    const clock = v.clock;
    let next = this.vpt.nextArrival(clock);
    let sgis = this.sgiPending;
    while (sgis !== 0) {
      const id = 31 - Math.clz32(sgis & -sgis);
      sgis &= sgis - 1;
      if (this.sgiAt[id] > clock && this.sgiAt[id] < next) next = this.sgiAt[id];
    }
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    if (next < 1e999) {
      v.vm.scheduler.signalTime = next;
      v.postLines();
    }
  }

  /**
   * Snapshot (the model's run-loop position; no KVM attribute carries it): when each pending vLPI and vSGI
   * reaches the vCPU. The pending bits themselves travel through the ABI (pending tables, GICR_ISPENDR0).
   */
  saveArrivals(): SavedVpeArrivals {
    const sgis: [number, number][] = [];
    for (let id = 0; id < VGIC_NR_SGIS; id++) if (this.sgiPending & (1 << id)) sgis.push([id, this.sgiAt[id]]);
    const t = this.vpt;
    const vlpis: [number, number][] = [];
    for (let k = t.firstSlot(); k >= 0; k = t.nextSlot(k)) vlpis.push([t.idOf(k), t.atOf(k)]);
    return { vlpis, sgis };
  }

  /**
   * Puts back {@link saveArrivals}' times for the entries that are pending again after the restore (they were
   * made pending at the restore's instant); others are ignored. Malformed input changes nothing.
   */
  restoreArrivals(saved: SavedVpeArrivals): void {
    const ok = (l: unknown): l is readonly (readonly [number, number])[] =>
      Array.isArray(l) && l.every((e) => Array.isArray(e) && Number.isInteger(e[0]) && typeof e[1] === 'number');
    if (saved === null || typeof saved !== 'object' || !ok(saved.vlpis) || !ok(saved.sgis)) return;
    for (const [id, at] of saved.vlpis) this.vpt.setAt(id, at);
    for (const [id, at] of saved.sgis) if (id >= 0 && id < VGIC_NR_SGIS && this.sgiPending & (1 << id)) this.sgiAt[id] = at;
  }

  /** Drops every pending and active bit (guest reboot / vPE teardown). */
  reset(): void {
    this.vpt.clear();
    this.sgiPending = 0;
    this.sgiInService = 0;
  }

  /** Frees the doorbell's host interrupt (its_free_vcpu_irqs); the vPE is unusable afterwards. */
  destroy(): void {
    this.doorbellArmed = false;
    const pool = this.vcpu.vm.hv.hostIrqs;
    if (pool.has(this.doorbell.irq) && pool.get(this.doorbell.irq) === this.doorbell) pool.free(this.doorbell.irq);
  }

  private signal(enabled: boolean): void {
    if (this.resident) {
      this.stats.direct++;
      this.relines();
      return;
    }
    this.stats.deferred++;
    if (this.doorbellArmed) {
      if (enabled) this.ringDoorbell();
    } else if (this.vcpu.mp !== MP_STOPPED) {
      // awake but not resident (woken, not yet unblocked; or outside KVM_RUN): it may become resident before the
      // entry arrives, so the arrival re-drives its lines (and wakes it if it blocked meanwhile)
      this.vcpu.vm.signalVcpu(this.vcpu);
    }
  }

  private ringDoorbell(): void {
    this.vcpu.vm.hv.hostIrqs.raise(this.doorbell.irq);
  }

  // ---- VirtualPendingSource (what the CPU interface sees) -----------------------------------------------------

  /** Highest-priority enabled pending vINTID presented to the CPU interface (resident only), or -1. */
  hppi(): number {
    this.hppiPrio = 0x100;
    if (!this.resident) return -1;
    return this.best(this.vcpu.clock);
  }

  /** The best vINTID that has arrived by `clock` (1e999: everything in the virtual pending table). */
  private best(clock: number): number {
    let best = -1;
    let bp = 0x100;
    const t = this.vpt;
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    const k = clock < 1e999 ? t.bestArrived(clock) : t.bestAll();
    if (k >= 0) {
      best = t.idOf(k);
      bp = Math.floor(t.keyOf(k) / PRIO_SCALE);
    }
    let sgis = this.sgiPending;
    while (sgis !== 0) {
      const id = 31 - Math.clz32(sgis & -sgis);
      sgis &= sgis - 1;
      const irq = this.cpu.privateIrqs[id];
      if (this.sgiAt[id] > clock || !irq.enabled || irq.group !== 1) continue;
      if (irq.priority < bp || (irq.priority === bp && id < best)) {
        best = id;
        bp = irq.priority;
      }
    }
    this.hppiPrio = bp;
    return best;
  }

  /** IAR: the pending bit is consumed (neither vLPIs nor nASSGI vSGIs have an active state). */
  acknowledge(intid: number): void {
    this.stats.acked++;
    if (intid < VGIC_NR_SGIS) {
      const bit = 1 << intid;
      this.sgiPending &= ~bit;
      this.sgiInService |= bit;
      return;
    }
    this.vpt.remove(intid);
  }

  /** EOIR/DIR of a vSGI this vPE delivered: nothing to deactivate (no active state), consumed here. */
  deactivate(intid: number): boolean {
    if (intid >= VGIC_NR_SGIS || (this.sgiInService & (1 << intid)) === 0) return false;
    this.sgiInService &= ~(1 << intid);
    return true;
  }

  /** Takes the vSGI pending bits back (GICD_CTLR.nASSGIreq cleared: vgic_v4_disable_vsgis). */
  takeVsgis(): number {
    const p = this.sgiPending;
    this.sgiPending = 0;
    this.sgiInService = 0;
    return p;
  }

  /**
   * Anything enabled pending that the CPU interface could signal (wakes WFI), checked against PMR and the
   * group 1 enable like the software path's kvm_vgic_vcpu_pending_irq. `arrived` (the vCPU asking): only what
   * has reached it by its clock; false (the redistributor deciding on a doorbell): the whole pending table.
   */
  hasPending(arrived = true): boolean {
    const hw = this.cpu.cpuif;
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    return this.best(arrived ? this.vcpu.clock : 1e999) >= 0 && hw.eng1 && this.hppiPrio < hw.pmr;
  }
}
