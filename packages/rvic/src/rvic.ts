/**
 * The rVIC/rVID interrupt controller of one VM behind `irqchip_flow` (the 2020 series'
 * arch/arm64/kvm/rvic-cpu.c shape; ARM-DEN-0103 for the architecture; references §2 and §5). It owns the
 * sizing, the per-vCPU {@link RvicCpu} state (in a core VcpuSlot), the {@link RvidTable}, the mapped
 * interrupts, and every way an interrupt gets pending: SIGNAL, rVID inputs (KVM_IRQ_LINE, irqfds, MSIs,
 * the doorbell) and in-kernel devices (`injectIrq`). The virtual IRQ line is set in flushHwstate iff the
 * rVIC is enabled and its delivery list is non-empty, cleared in syncHwstate; a change that flips what a
 * remote vCPU should see kicks it.
 *
 * Callbacks implemented: destroy, vcpuInit, vcpuFirstRun, vcpuPendingIrq, vcpuFlushHwstate, vcpuSyncHwstate,
 * injectIrq, injectUserspaceIrq, irqfdSetIrq, setMsi, validateRoute, mapPhysIrq, unmapPhysIrq, setOwner. The
 * rest use core's defaults (blocking/unblocking, load/put, mapIsActive = false, resetMappedIrq,
 * setIrqInatomic = EAGAIN).
 *
 * @module
 */
import {
  Errno,
  fail,
  IrqchipState,
  IrqType,
  TraceCounter,
  TraceKind,
  VcpuSlot,
  type GetInputLevel,
  type IrqchipFlow,
  type IrqchipRoute,
  type Msi,
  type RoutingEntry,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { RVIC_DEFAULT_TOTAL, RVIC_DEFAULT_TRUSTED, RVIC_MAX_TOTAL, RVIC_NR_IPIS, RVID_MSI_DOORBELL } from './abi';
import { RvicCpu } from './rvic-cpu';
import { RvicMapped } from './rvic-mapped';
import { RvidTable } from './rvid-table';
import { rvicSignallingNow, rvicStampPending } from './rvic-visibility';

/** Per-VM counters of the controller (beyond the per-vCPU core counters). */
export interface RvicCounters {
  /** Edges/MSIs to unmapped rVID inputs. */
  rvidDropped: number;
  /** Interrupts dropped because the target rVIC was disabled. */
  disabledDropped: number;
  /** Doorbell writes that were not a valid MSI input. */
  doorbellIgnored: number;
  /** injectIrq calls refused because another owner holds the interrupt. */
  ownerRefused: number;
}

/** Where every rVIC keeps its per-vCPU state (one slot index for all VMs). */
const RVIC_CPU_SLOT = new VcpuSlot<RvicCpu | undefined>('rvic');
/** Where every rVIC keeps its per-vCPU mapped-interrupt state. */
const RVIC_MAP_SLOT = new VcpuSlot<RvicMapped | undefined>('rvic-mapped');

/** The rVIC of one VM. */
export class Rvic implements IrqchipFlow {
  /** Number of trusted interrupts. */
  nrTrusted = RVIC_DEFAULT_TRUSTED;
  /** Total number of interrupts. */
  nrTotal = RVIC_DEFAULT_TOTAL;
  /** Whether NR_IRQS was set (it may be set once). */
  sized = false;
  /** Whether CTRL INIT ran. */
  initialized = false;
  /** The rVID (allocated at INIT). */
  rvid: RvidTable | null = null;
  /** Counters. */
  readonly counters: RvicCounters = { rvidDropped: 0, disabledDropped: 0, doorbellIgnored: 0, ownerRefused: 0 };
  private readonly cpuSlot = RVIC_CPU_SLOT;
  private readonly mapSlot = RVIC_MAP_SLOT;

  /** @param vm - the VM */
  constructor(readonly vm: Vm) {}

  /** Number of untrusted interrupts (= number of rVID inputs). */
  get nrUntrusted(): number {
    return this.nrTotal - this.nrTrusted;
  }

  /** The rVIC of `vcpu` (undefined before INIT). */
  cpu(vcpu: Vcpu): RvicCpu | undefined {
    return this.cpuSlot.get(vcpu);
  }

  /** The mapped-interrupt table of `vcpu` (undefined before INIT). */
  mappedOf(vcpu: Vcpu): RvicMapped | undefined {
    return this.mapSlot.get(vcpu);
  }

  // ---- life cycle ---------------------------------------------------------------------------------------

  /** CTRL INIT: allocates every vCPU's rVIC and the rVID, installs default routing, finalizes the irqchip. */
  init(): void {
    if (this.initialized) return;
    const nrInputs = this.nrUntrusted;
    this.rvid = new RvidTable(nrInputs, nrInputs >>> 1);
    for (const v of this.vm.vcpus) this.vcpuInit(v);
    this.initialized = true;
    if (this.vm.routing.routes.length === 0) {
      const n = Math.min(this.rvid.nrWired, 988);
      const entries: RoutingEntry[] = [];
      for (let i = 0; i < n; i++) entries.push({ gsi: i, type: 'irqchip', irqchip: 0, pin: i });
      this.vm.setGsiRouting(entries);
    }
    this.vm.finalizeIrqchip();
  }

  /** @inheritDoc */
  vcpuInit(vcpu: Vcpu): void {
    if (this.rvid === null) return; // not sized yet: INIT comes back for it
    this.cpuSlot.set(vcpu, new RvicCpu(this.nrTrusted, this.nrTotal));
    this.mapSlot.set(vcpu, new RvicMapped(this.nrTrusted));
  }

  /** First run: the device must have been initialised (CTRL INIT), as for GICv3. */
  vcpuFirstRun(vcpu: Vcpu): void {
    if (!this.initialized) fail(Errno.EBUSY, `rVIC: vCPU ${vcpu.index} run before KVM_DEV_ARM_RVIC_CTRL_INIT`);
  }

  /** @inheritDoc */
  destroy(vm: Vm): void {
    for (const v of vm.vcpus) {
      this.cpuSlot.set(v, undefined);
      this.mapSlot.set(v, undefined);
    }
    this.rvid = null;
  }

  // ---- the virtual IRQ line ------------------------------------------------------------------------------

  /** Runnable check: enabled with a non-empty delivery list (of what this vCPU can see: rvic-visibility.ts). */
  vcpuPendingIrq(vcpu: Vcpu): boolean {
    const c = this.cpuSlot.get(vcpu);
    return c !== undefined && rvicSignallingNow(vcpu, c);
  }

  /**
   * Guest entry: assert the virtual IRQ line (HCR_EL2.VI) iff something is deliverable (and visible). Traced: the
   * length of the delivery list (pending and unmasked interrupts) as the vCPU's pending-interrupts counter, the
   * rVIC's analogue of the GIC's ap_list sample.
   */
  vcpuFlushHwstate(vcpu: Vcpu): void {
    const c = this.cpuSlot.get(vcpu);
    vcpu.virq = c !== undefined && rvicSignallingNow(vcpu, c);
    const tr = this.vm.trace;
    if (tr.on && c !== undefined) tr.emit(TraceKind.Counter, this.vm.id, vcpu.index, vcpu.clock, TraceCounter.Pending, c.queued);
  }

  /** Guest exit: drop the line; the next entry recomputes it. */
  vcpuSyncHwstate(vcpu: Vcpu): void {
    vcpu.virq = false;
  }

  /** After a state change on `target`: kick it when what it should see differs from its line. */
  sync(target: Vcpu, c: RvicCpu): void {
    if (c.signalling !== target.virq) this.vm.kickVcpu(target);
  }

  // ---- making interrupts pending -------------------------------------------------------------------------

  /** Makes `intid` pending on `target` (counted, traced); false when the rVIC was disabled (dropped). */
  pend(target: Vcpu, c: RvicCpu, intid: number): boolean {
    const was = c.isPending(intid);
    if (!c.setPending(intid)) {
      this.counters.disabledDropped++;
      this.vm.warn(
        'IRQFLOW_IRQ_DROPPED',
        intid,
        `interrupt ${intid} for vCPU ${target.index} was dropped: the guest has not enabled its rVIC yet (rVIC ENABLE); an rVIC discards what arrives while disabled`,
      );
      return false;
    }
    if (!was) {
      target.stats.injected++;
      const vm = this.vm;
      if (vm.trace.on) vm.trace.emit(TraceKind.Inject, vm.id, target.index, vm.now, intid, 1);
    }
    this.sync(target, c);
    // made pending by another vCPU: visible to the target when the kick arrives (rvic-visibility.ts)
    if (!was) rvicStampPending(target, c, intid);
    return true;
  }

  /** Sets the line level of an rVID input (wired inputs: IRQ_LINE, irqfds); a rising edge makes it pending. */
  setInputLevel(input: number, level: boolean): void {
    const t = this.rvid!;
    const rising = level && t.level[input] === 0;
    t.level[input] = level ? 1 : 0;
    const vi = t.targetOf[input];
    if (vi < 0) {
      if (rising) {
        t.dropped++;
        this.counters.rvidDropped++;
        this.vm.warn(
          'IRQFLOW_IRQ_DROPPED',
          input,
          `rVID input ${input} rose before the guest routed it (rVID MAP): the edge is dropped, as an unrouted rVID input keeps no pending state`,
        );
      }
      return;
    }
    const target = this.vm.vcpus[vi];
    const c = this.cpuSlot.get(target)!;
    const intid = t.intidOf[input];
    c.setLine(intid, level);
    if (rising) this.pend(target, c, intid);
  }

  /** An edge on an rVID input (MSI): 1 delivered (pending), 0 blocked (unmapped input or disabled rVIC). */
  signalInput(input: number): number {
    const t = this.rvid!;
    const vi = t.targetOf[input];
    if (vi < 0) {
      t.dropped++;
      this.counters.rvidDropped++;
      return 0;
    }
    const target = this.vm.vcpus[vi];
    return this.pend(target, this.cpuSlot.get(target)!, t.intidOf[input]) ? 1 : 0;
  }

  /** Checks an in-kernel/userspace target: initialised, vCPU exists, intid in range. */
  private checkTarget(cpu: number, intid: number, what: string): Vcpu {
    if (!this.initialized) fail(Errno.ENXIO, `rVIC: ${what} before KVM_DEV_ARM_RVIC_CTRL_INIT`);
    const v = this.vm.vcpus[cpu];
    if (v === undefined) fail(Errno.EINVAL, `rVIC: ${what}: no vCPU ${cpu}`);
    if (!Number.isInteger(intid) || intid < 0 || intid >= this.nrTotal)
      fail(Errno.EINVAL, `rVIC: ${what}: interrupt ${intid} out of range (0..${this.nrTotal - 1})`);
    return v;
  }

  /**
   * An in-kernel device (timer, PMU) sets the line of trusted interrupt `intid` of vCPU `cpu` (untrusted
   * interrupts come only through the rVID).
   * @throws KvmError EINVAL for a bad vCPU or a non-trusted intid; ENXIO before INIT
   */
  injectIrq(vm: Vm, cpu: number, intid: number, level: boolean, owner: unknown): void {
    const v = this.checkTarget(cpu, intid, 'injectIrq');
    if (intid >= this.nrTrusted) fail(Errno.EINVAL, `rVIC: injectIrq: ${intid} is untrusted (only the rVID feeds it)`);
    const o = this.mapSlot.get(v)!.owner[intid];
    if (o !== undefined && o !== owner) {
      this.counters.ownerRefused++;
      return;
    }
    const c = this.cpuSlot.get(v)!;
    if (c.setLine(intid, level)) this.pend(v, c, intid);
  }

  /**
   * KVM_IRQ_LINE. SPI type: `intid` is a wired rVID input (the vCPU field is ignored). PPI type: a trusted
   * non-IPI interrupt of vCPU `cpu` (16 ≤ intid < nr_trusted), for per-CPU devices emulated in userspace.
   * @throws KvmError EINVAL for an input/interrupt out of range or any other type; ENXIO before INIT
   */
  injectUserspaceIrq(vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean): void {
    if (!this.initialized) fail(Errno.ENXIO, 'rVIC: KVM_IRQ_LINE before KVM_DEV_ARM_RVIC_CTRL_INIT');
    if (type === IrqType.Spi) {
      if (!this.rvid!.isWired(intid)) fail(Errno.EINVAL, `rVID input ${intid} is not a wired input (0..${this.rvid!.nrWired - 1})`);
      this.setInputLevel(intid, level);
      return;
    }
    if (type === IrqType.Ppi) {
      if (intid < RVIC_NR_IPIS || intid >= this.nrTrusted)
        fail(Errno.EINVAL, `PPI-type line ${intid} is not a trusted non-IPI interrupt (${RVIC_NR_IPIS}..${this.nrTrusted - 1})`);
      const v = this.checkTarget(cpu, intid, 'KVM_IRQ_LINE');
      const c = this.cpuSlot.get(v)!;
      if (c.setLine(intid, level)) this.pend(v, c, intid);
      return;
    }
    fail(Errno.EINVAL, `rVIC: KVM_IRQ_LINE type ${type} is not supported`);
  }

  /**
   * An irqfd / kvm_set_irq on an irqchip route: `route.pin` is a wired rVID input.
   * @throws KvmError EINVAL for a pin that is not a wired input; ENXIO before INIT
   */
  irqfdSetIrq(vm: Vm, route: IrqchipRoute, level: boolean): void {
    if (!this.initialized) fail(Errno.ENXIO, 'rVIC: irqfd before KVM_DEV_ARM_RVIC_CTRL_INIT');
    const pin = route.pin;
    if (!this.rvid!.isWired(pin)) fail(Errno.EINVAL, `rVID input ${pin} is not a wired input`);
    this.setInputLevel(pin, level);
  }

  /**
   * An MSI (KVM_SIGNAL_MSI, an MSI route): the address must be the doorbell and the data an MSI input.
   * @returns 1 delivered, 0 blocked by the guest (unmapped input, disabled rVIC)
   * @throws KvmError EINVAL for another address or data outside the MSI inputs; EBUSY before INIT
   */
  setMsi(vm: Vm, msi: Msi): number {
    if (!this.initialized) fail(Errno.EBUSY, 'rVIC: MSI before KVM_DEV_ARM_RVIC_CTRL_INIT');
    if (msi.address !== RVID_MSI_DOORBELL)
      fail(Errno.EINVAL, `MSI address 0x${msi.address.toString(16)} is not the rVID doorbell 0x${RVID_MSI_DOORBELL.toString(16)}`);
    const t = this.rvid!;
    if (!t.isMsi(msi.data)) fail(Errno.EINVAL, `MSI data ${msi.data} is not an MSI input (${t.msiFirst}..${t.nrInputs - 1})`);
    return this.signalInput(msi.data);
  }

  /**
   * KVM_SET_GSI_ROUTING check of one entry (KVM rejects a bad entry with EINVAL before anything changes). An
   * irqchip route's pin must be a wired rVID input; an MSI route's address must be the doorbell and its data an
   * MSI input. Before INIT the sizing may still change (NR_IRQS), so the pin and data are checked against the
   * widest sizing instead (the fire-time checks in {@link irqfdSetIrq} / {@link setMsi} still apply).
   * @throws KvmError EINVAL for a route that could never deliver
   */
  validateRoute(vm: Vm, route: RoutingEntry): void {
    const t = this.initialized ? this.rvid : null;
    if (route.type === 'irqchip') {
      const nrWired = t !== null ? t.nrWired : (RVIC_MAX_TOTAL - RVIC_DEFAULT_TRUSTED) >>> 1;
      if (!Number.isInteger(route.pin) || route.pin < 0 || route.pin >= nrWired)
        fail(Errno.EINVAL, `route of GSI ${route.gsi}: rVID input ${route.pin} is not a wired input (0..${nrWired - 1})`);
      return;
    }
    const msi = route.msi;
    if (msi.address !== RVID_MSI_DOORBELL)
      fail(Errno.EINVAL, `route of GSI ${route.gsi}: MSI address 0x${msi.address.toString(16)} is not the rVID doorbell`);
    const first = t !== null ? t.msiFirst : (RVIC_DEFAULT_TOTAL - RVIC_DEFAULT_TRUSTED) >>> 1;
    const end = t !== null ? t.nrInputs : RVIC_MAX_TOTAL - RVIC_DEFAULT_TRUSTED;
    if (!Number.isInteger(msi.data) || msi.data < first || msi.data >= end)
      fail(Errno.EINVAL, `route of GSI ${route.gsi}: MSI data ${msi.data} is not an MSI input (${first}..${end - 1})`);
  }

  /** A guest (or device) write to the doorbell: data = MSI input; anything else is ignored (WI). */
  doorbell(data: number): void {
    const t = this.rvid;
    if (t === null || !t.isMsi(data)) {
      this.counters.doorbellIgnored++;
      return;
    }
    this.signalInput(data);
  }

  // ---- mapped interrupts ---------------------------------------------------------------------------------

  private checkTrusted(vcpu: Vcpu, intid: number, what: string): RvicMapped {
    const m = this.mapSlot.get(vcpu);
    if (m === undefined) fail(Errno.ENXIO, `rVIC: ${what} before KVM_DEV_ARM_RVIC_CTRL_INIT`);
    if (!Number.isInteger(intid) || intid < RVIC_NR_IPIS || intid >= this.nrTrusted)
      fail(Errno.EINVAL, `rVIC: ${what}: ${intid} is not a trusted non-IPI interrupt (${RVIC_NR_IPIS}..${this.nrTrusted - 1})`);
    return m;
  }

  /**
   * Maps trusted interrupt `intid` of `vcpu` to host interrupt `hostIrq`; `getInputLevel` samples the line.
   * @throws KvmError EINVAL for a non-trusted/IPI intid or an unknown host IRQ, EBUSY if mapped elsewhere
   */
  mapPhysIrq(vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null): void {
    const m = this.checkTrusted(vcpu, intid, 'mapPhysIrq');
    if (!this.vm.hv.hostIrqs.has(hostIrq)) fail(Errno.EINVAL, `host IRQ ${hostIrq} does not exist`);
    if (m.hostIrq[intid] >= 0 && m.hostIrq[intid] !== hostIrq)
      fail(Errno.EBUSY, `rVIC interrupt ${intid} of vCPU ${vcpu.index} is mapped to host IRQ ${m.hostIrq[intid]}`);
    m.hostIrq[intid] = hostIrq;
    m.getLevel[intid] = getInputLevel;
  }

  /** Undoes {@link mapPhysIrq}. @throws KvmError EINVAL for a bad intid */
  unmapPhysIrq(vcpu: Vcpu, intid: number): void {
    const m = this.checkTrusted(vcpu, intid, 'unmapPhysIrq');
    m.hostIrq[intid] = -1;
    m.getLevel[intid] = null;
  }

  /** Claims `intid` for `owner`. @throws KvmError EINVAL for a bad intid, EBUSY when another owner holds it */
  setOwner(vcpu: Vcpu, intid: number, owner: unknown): void {
    const m = this.checkTrusted(vcpu, intid, 'setOwner');
    const o = m.owner[intid];
    if (o !== undefined && o !== owner) fail(Errno.EBUSY, `rVIC interrupt ${intid} of vCPU ${vcpu.index} has another owner`);
    m.owner[intid] = owner;
  }

  // ---- resampling ----------------------------------------------------------------------------------------

  /**
   * RESAMPLE of `intid` on `vcpu` (local). Trusted: sample the line (mapped: the owner's getInputLevel; a low
   * line releases the host interrupt's active state), re-pend if high. Untrusted fed by a wired rVID input:
   * notify the ack (level irqfds lower their line and signal their resamplefd — the VMM may re-assert), then
   * re-pend if the input's line is still high.
   */
  resample(vcpu: Vcpu, c: RvicCpu, intid: number): void {
    let high: boolean;
    if (intid < this.nrTrusted) {
      const m = this.mapSlot.get(vcpu)!;
      const get = intid < m.getLevel.length ? m.getLevel[intid] : null;
      if (get !== null) {
        high = get(vcpu, intid);
        c.setLine(intid, high);
        const h = m.hostIrq[intid];
        if (!high && h >= 0) this.vm.hv.hostIrqs.setIrqchipState(h, IrqchipState.Active, false);
      } else high = c.line(intid);
    } else {
      const input = c.inputOf[intid];
      if (input < 0) return;
      const t = this.rvid!;
      if (t.isWired(input)) this.vm.notifyAckedIrq(0, input);
      // the notification may have re-targeted nothing but changed the line: read it afresh
      high = c.inputOf[intid] === input && t.level[input] !== 0;
    }
    if (high) this.pend(vcpu, c, intid);
  }

  /** The vCPU with MPIDR `mpidr` if it has an rVIC. */
  vcpuByMpidr(mpidr: number): Vcpu | undefined {
    return this.vm.vcpuByMpidr(mpidr);
  }
}
