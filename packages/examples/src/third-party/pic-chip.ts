/**
 * The "pic" example controller behind `irqchip_flow` (references §2): one object holding the per-vCPU banks
 * and implementing the flow callbacks the run loop, the irqfd/routing layer and in-kernel devices (the arch
 * timer) call. A shared interrupt (>= 32) lives in the bank of the vCPU its TARGET byte names; a private one
 * (< 32) in the bank of its vCPU. The virtual IRQ line of a vCPU is asserted on entry iff its bank has a
 * deliverable interrupt; a change on another vCPU kicks it. Written against the public core API only.
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
  type MmioDevice,
  type Msi,
  type RoutingEntry,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { PIC_NR_PRIVATE, PIC_REG, PIC_SPURIOUS } from './pic-abi';
import { PicCpu } from './pic-cpu';

/** Where every PIC keeps its per-vCPU banks: one slot for all VMs (a slot per VM would grow every vCPU's slot array). */
const PIC_SLOT = new VcpuSlot<PicCpu>('pic');

/** The controller instance of one VM. */
export class PicChip implements IrqchipFlow {
  /** Per-vCPU banks. */
  readonly slot = PIC_SLOT;
  /** Number of interrupts. */
  nrIrqs: number;
  /** Frame base (-1 = not set). */
  base = -1;
  /** Whether CTRL/INIT ran. */
  initialized = false;
  /** Target vCPU index of each shared interrupt. */
  readonly target = new Uint16Array(1024);
  /** MSIs delivered through the doorbell. */
  msis = 0;

  /** @param vm - the VM; @param nrIrqs - initial NR_IRQS */
  constructor(
    readonly vm: Vm,
    nrIrqs: number,
  ) {
    this.nrIrqs = nrIrqs;
  }

  /** The bank of `vcpu`. */
  cpu(vcpu: Vcpu): PicCpu {
    return this.slot.get(vcpu);
  }

  /** The vCPU whose bank holds `intid` when raised towards vCPU index `cpu` (private) or its target (shared). */
  bankOf(cpu: number, intid: number): Vcpu | undefined {
    return this.vm.vcpus[intid < PIC_NR_PRIVATE ? cpu : this.target[intid]];
  }

  // ---- state changes (all O(1)) ----------------------------------------------------------------------

  /** Makes `v` notice a newly ready interrupt. */
  private changed(v: Vcpu, gained: boolean, intid: number): void {
    if (!gained) return;
    v.stats.injected++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Inject, this.vm.id, v.index, this.vm.now, intid, 1);
    if (this.cpu(v).deliverable()) this.vm.kickVcpu(v);
  }

  /** Drives the input line of `intid` in `v`'s bank: a rising edge latches an edge interrupt. */
  setLine(v: Vcpu, intid: number, level: boolean): void {
    const c = this.cpu(v);
    const w = intid >>> 5;
    const m = 1 << (intid & 31);
    const was = (c.line[w] & m) !== 0;
    if (level) {
      c.line[w] |= m;
      if (!was && (c.trigger[w] & m) === 0) c.latch[w] |= m;
    } else c.line[w] &= ~m;
    this.changed(v, c.update(w), intid);
  }

  /** Latches `intid` pending in `v`'s bank (edge, IPI, doorbell, PENDING_SET). */
  setPending(v: Vcpu, intid: number): void {
    const c = this.cpu(v);
    const w = intid >>> 5;
    c.latch[w] |= 1 << (intid & 31);
    this.changed(v, c.update(w), intid);
  }

  /** Sets bits of one state bitmap for `intid` in `v`'s bank. */
  setBit(v: Vcpu, which: 'enabled' | 'trigger' | 'latch', intid: number, on: boolean): void {
    const c = this.cpu(v);
    const w = intid >>> 5;
    const m = 1 << (intid & 31);
    if (on) c[which][w] |= m;
    else c[which][w] &= ~m;
    this.changed(v, c.update(w), intid);
  }

  /** Moves shared interrupt `intid` to vCPU index `to`, carrying its state along. */
  retarget(intid: number, to: number): void {
    const from = this.vm.vcpus[this.target[intid]];
    const dest = this.vm.vcpus[to];
    if (!dest || !from || from === dest) {
      if (dest) this.target[intid] = to;
      return;
    }
    const a = this.cpu(from);
    const b = this.cpu(dest);
    const w = intid >>> 5;
    const m = 1 << (intid & 31);
    for (const k of ['enabled', 'trigger', 'line', 'latch', 'active'] as const) {
      b[k][w] = (b[k][w] & ~m) | (a[k][w] & m);
      a[k][w] &= ~m;
    }
    a.update(w);
    this.target[intid] = to;
    this.changed(dest, b.update(w), intid);
  }

  /** Guest read of ACK: the highest deliverable interrupt becomes active, or {@link PIC_SPURIOUS}. */
  acknowledge(v: Vcpu): number {
    const c = this.cpu(v);
    if (!c.deliverable()) return PIC_SPURIOUS;
    const intid = c.highest();
    const w = intid >>> 5;
    const m = 1 << (intid & 31);
    c.latch[w] &= ~m;
    c.active[w] |= m;
    c.update(w);
    v.stats.acked++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Ack, this.vm.id, v.index, v.clock, intid, 0);
    return intid;
  }

  /**
   * Guest write of EOI: deactivates `intid` in the writer's bank (WI if it is not active there), resamples a
   * mapped line through its owner's input-level callback and deactivates the host interrupt, and tells the
   * irqfd layer (resamplefd) for shared interrupts.
   */
  complete(v: Vcpu, intid: number): void {
    if (intid >= this.nrIrqs) return;
    const c = this.cpu(v);
    const w = intid >>> 5;
    const m = 1 << (intid & 31);
    if ((c.active[w] & m) === 0) return;
    c.active[w] &= ~m;
    if (intid < PIC_NR_PRIVATE && c.hostIrq[intid] >= 0) {
      const gil = c.inputLevel[intid];
      if (gil !== null) {
        if (gil(v, intid)) c.line[w] |= m;
        else c.line[w] &= ~m;
      }
      const hi = this.vm.hv.hostIrqs;
      if (hi.has(c.hostIrq[intid])) hi.setIrqchipState(c.hostIrq[intid], IrqchipState.Active, false);
    }
    v.stats.completed++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Eoi, this.vm.id, v.index, v.clock, intid, 0);
    this.changed(v, c.update(w), intid);
    if (intid >= PIC_NR_PRIVATE) this.vm.notifyAckedIrq(0, intid - PIC_NR_PRIVATE);
  }

  /** Guest write of IPI: target index [23:8], IPI number [3:0]. A missing target is ignored. */
  sendIpi(value: number): void {
    const t = this.vm.vcpus[(value >>> 8) & 0xffff];
    if (t) this.setPending(t, value & 0xf);
  }

  /** A doorbell write of `intid` (guest store or KVM_SIGNAL_MSI). Returns whether it was a valid number. */
  doorbell(intid: number): boolean {
    if (intid < PIC_NR_PRIVATE || intid >= this.nrIrqs) return false;
    const v = this.vm.vcpus[this.target[intid]];
    if (!v) return false;
    this.msis++;
    this.setPending(v, intid);
    return true;
  }

  // ---- irqchip_flow ------------------------------------------------------------------------------------

  /** Allocates the vCPU's bank. */
  vcpuInit(vcpu: Vcpu): void {
    this.slot.set(vcpu, new PicCpu());
  }

  /** Refuses to run before CTRL/INIT (EBUSY), as KVM does for an uninitialised GICv3. */
  vcpuFirstRun(vcpu: Vcpu): void {
    void vcpu;
    if (!this.initialized) fail(Errno.EBUSY, 'pic: KVM_DEV_PIC_CTRL_INIT was not issued');
  }

  /** Is an interrupt deliverable? */
  vcpuPendingIrq(vcpu: Vcpu): boolean {
    return this.cpu(vcpu).deliverable();
  }

  /** Entry: drive the virtual IRQ line from the bank. Traced: the bank's pending interrupts as a counter. */
  vcpuFlushHwstate(vcpu: Vcpu): void {
    const c = this.cpu(vcpu);
    vcpu.virq = c.deliverable();
    const tr = this.vm.trace;
    if (tr.on) tr.emit(TraceKind.Counter, this.vm.id, vcpu.index, vcpu.clock, TraceCounter.Pending, c.pendingCount());
  }

  /** Exit: nothing to fold back — the bank is the only copy of the state. */
  vcpuSyncHwstate(vcpu: Vcpu): void {
    void vcpu;
  }

  /** In-kernel devices (the timer): level-sensitive, owner-checked. */
  injectIrq(vm: Vm, cpu: number, intid: number, level: boolean, owner: unknown): void {
    if (intid >= this.nrIrqs) return;
    const v = this.bankOf(cpu, intid);
    if (!v) return;
    const c = this.cpu(v);
    if (intid < PIC_NR_PRIVATE && c.owner[intid] !== null && owner !== null && c.owner[intid] !== owner) return;
    c.trigger[intid >>> 5] |= 1 << (intid & 31);
    this.setLine(v, intid, level);
    // a mapped line that drops while the guest does not hold the interrupt active releases the host interrupt
    // (as the vgic's resampling does): after an EOI-then-mask handler the host interrupt fired again and went
    // active, and would otherwise stay active with the line low, so no later assertion would reach the guest
    if (!level && intid < PIC_NR_PRIVATE && c.hostIrq[intid] >= 0 && (c.active[0] & (1 << intid)) === 0) {
      const hi = vm.hv.hostIrqs;
      if (hi.has(c.hostIrq[intid])) hi.setIrqchipState(c.hostIrq[intid], IrqchipState.Active, false);
    }
  }

  /** KVM_IRQ_LINE: PPIs 16..31 on one vCPU, SPIs 32..NR_IRQS-1. @throws KvmError EINVAL out of range */
  injectUserspaceIrq(vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean): void {
    void vm;
    if (type === IrqType.Ppi) {
      if (intid < 16 || intid >= PIC_NR_PRIVATE) fail(Errno.EINVAL, `pic: PPI ${intid} outside 16..31`);
    } else if (intid < PIC_NR_PRIVATE || intid >= this.nrIrqs) {
      fail(Errno.EINVAL, `pic: SPI ${intid} outside 32..${this.nrIrqs - 1}`);
    }
    const v = this.bankOf(cpu, intid);
    if (v) this.setLine(v, intid, level);
  }

  /** Is the mapped interrupt active? */
  mapIsActive(vcpu: Vcpu, intid: number): boolean {
    const c = this.cpu(vcpu);
    return intid < PIC_NR_PRIVATE && (c.active[0] & (1 << intid)) !== 0;
  }

  /** Clears a mapped interrupt's pending/active/line state. */
  resetMappedIrq(vcpu: Vcpu, intid: number): void {
    if (intid >= PIC_NR_PRIVATE) return;
    const c = this.cpu(vcpu);
    const m = ~(1 << intid);
    c.active[0] &= m;
    c.latch[0] &= m;
    c.line[0] &= m;
    c.update(0);
  }

  /** Maps a private interrupt to a host interrupt (level-sensitive from now on). @throws KvmError EINVAL for a shared one */
  mapPhysIrq(vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null): void {
    if (intid >= PIC_NR_PRIVATE) fail(Errno.EINVAL, `pic: only private interrupts can be mapped (got ${intid})`);
    const c = this.cpu(vcpu);
    c.hostIrq[intid] = hostIrq;
    c.inputLevel[intid] = getInputLevel;
    c.trigger[0] |= 1 << intid;
    c.update(0);
  }

  /** Undoes {@link mapPhysIrq}. */
  unmapPhysIrq(vcpu: Vcpu, intid: number): void {
    if (intid >= PIC_NR_PRIVATE) return;
    const c = this.cpu(vcpu);
    c.hostIrq[intid] = -1;
    c.inputLevel[intid] = null;
  }

  /** Claims a private interrupt for an in-kernel device. @throws KvmError EINVAL for a shared one, EBUSY if owned */
  setOwner(vcpu: Vcpu, intid: number, owner: unknown): void {
    if (intid >= PIC_NR_PRIVATE) fail(Errno.EINVAL, `pic: only private interrupts have owners (got ${intid})`);
    const c = this.cpu(vcpu);
    if (c.owner[intid] !== null && c.owner[intid] !== owner) fail(Errno.EBUSY, `pic: interrupt ${intid} already has an owner`);
    c.owner[intid] = owner;
  }

  /** An irqfd on irqchip pin `p` drives shared interrupt p + 32. */
  irqfdSetIrq(vm: Vm, route: IrqchipRoute, level: boolean): void {
    void vm;
    const intid = route.pin + PIC_NR_PRIVATE;
    if (intid >= this.nrIrqs) fail(Errno.EINVAL, `pic: pin ${route.pin} beyond NR_IRQS`);
    const v = this.bankOf(0, intid);
    if (v) this.setLine(v, intid, level);
  }

  /** Rejects routes to pins beyond NR_IRQS once initialised. */
  validateRoute(vm: Vm, route: RoutingEntry): void {
    void vm;
    if (route.type === 'irqchip' && this.initialized && route.pin + PIC_NR_PRIVATE >= this.nrIrqs)
      fail(Errno.EINVAL, `pic: pin ${route.pin} beyond NR_IRQS ${this.nrIrqs}`);
  }

  /**
   * KVM_SIGNAL_MSI: a write of the interrupt number to the doorbell register.
   * @throws KvmError ENXIO before INIT, EINVAL for another address or a number outside 32..NR_IRQS-1
   */
  setMsi(vm: Vm, msi: Msi): number {
    void vm;
    if (!this.initialized) fail(Errno.ENXIO, 'pic: not initialised');
    if (msi.address !== this.base + PIC_REG.DOORBELL) fail(Errno.EINVAL, `pic: 0x${msi.address.toString(16)} is not the doorbell`);
    if (!this.doorbell(msi.data)) fail(Errno.EINVAL, `pic: MSI data ${msi.data} is not a shared interrupt`);
    return 1;
  }

  /** Fast path: the doorbell never sleeps, so irqfds on MSI routes deliver here directly. */
  setIrqInatomic(vm: Vm, route: RoutingEntry, level: boolean): number {
    if (route.type !== 'msi' || !level) return -Errno.EAGAIN;
    try {
      return this.setMsi(vm, route.msi);
    } catch {
      return -Errno.EAGAIN;
    }
  }

  /** Teardown. */
  destroy(vm: Vm): void {
    if (this.initialized) vm.mmio.unregister(this.frame);
  }

  /** @internal the MMIO device (set by the device at INIT). */
  frame!: MmioDevice;

  /** A state dump. */
  dump(): string {
    const out = [`pic: base=0x${this.base.toString(16)} nr_irqs=${this.nrIrqs} initialized=${this.initialized} msis=${this.msis}`];
    for (const v of this.vm.vcpus) {
      const c = this.slot.get(v);
      if (!c) continue;
      const list = (a: Uint32Array): string => {
        const ids: number[] = [];
        for (let w = 0; w < this.nrIrqs >>> 5; w++) for (let b = 0; b < 32; b++) if (a[w] & (1 << b)) ids.push(w * 32 + b);
        return ids.join(',') || '-';
      };
      out.push(
        `  vcpu${v.index}: ctlr=${c.ctlr} pmr=${c.pmr} irq-line=${v.virq ? 1 : 0} enabled=[${list(c.enabled)}] ` +
          `pending=[${list(c.latch)}] active=[${list(c.active)}] level=[${list(c.line)}]`,
      );
    }
    return out.join('\n');
  }
}
