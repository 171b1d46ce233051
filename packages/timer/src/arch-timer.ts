/**
 * One EL1 timer of one vCPU — the virtual timer (CNTV_*) or the physical timer (CNTP_*) — as Arm DDI 0487
 * D11.2.4 "Timers" describes it: a 64-bit CompareValue (CVAL), the TimerValue view (TVAL, the signed 32-bit
 * CVAL − counter; a write sets CVAL = counter + SignExtend(TVAL)), and CTL with ENABLE, IMASK and the read-only
 * ISTATUS. The timer condition is the unsigned 64-bit comparison counter ≥ CVAL, so it also stops holding when
 * the counter wraps past 2^64 − 1. The output line is ENABLE && !IMASK && condition.
 *
 * Time: the counter is derived from simulated time (see {@link TICKS_PER_NS}). Every register change computes,
 * once and with BigInt, the window of simulated time [fireAt, dropAt) in which the condition holds; the line,
 * the expiry event and the controller's input-level callback then only compare numbers. Expiry is one reusable
 * {@link HostEvent} per timer on the VM's event queue, re-armed on every reprogramming. A wrap more than 2^53 ns
 * (≈104 simulated days) away is not scheduled (simulated time is a double, exact to 2^53 ns); reads of ISTATUS
 * still honour it.
 *
 * Delivery (KVM arch_timer.c, kvm_timer_update_irq): the line drives the controller only through the flow. A
 * mapped timer (the virtual timer on a controller with mapPhysIrq) of a loaded vCPU raises its host interrupt,
 * whose handler injects; while the host interrupt is active — the guest has not deactivated the virtual one —
 * the host line does not fire again (references §1), and the controller sees the line only by sampling the
 * get-input-level callback. While the vCPU is not loaded (blocked in WFI, or in userspace) KVM runs a background
 * timer instead of the hardware one and updates the level directly: injectIrq. A drop of the line is always
 * passed on with injectIrq(level false). An emulated timer (the physical timer, or any timer on a controller
 * without mapping) calls injectIrq on every level change. Waking a blocked vCPU is the controller's part of
 * injectIrq (it kicks the vCPU whose interrupt became deliverable).
 *
 * @module
 */
import { CostComponent, HostEvent, IrqchipState, TraceKind, u64, type GetInputLevel, type HostIrq, type Vcpu } from '@irqflow/core';
import { CTL_ENABLE, CTL_IMASK, CTL_ISTATUS, TICKS_PER_NS, TWO64 } from './timer-constants';
import type { TimerVmState } from './timer-vm-state';

/**
 * CostComponent.TimerIrq, read once: `@irqflow/core`'s exports object is in dictionary mode (its re-exports are
 * getters), so an enum read through it is a generic lookup and a getter call at every timer interrupt.
 */
const TIMER_IRQ = CostComponent.TimerIrq;

/** Which EL1 timer. */
export enum TimerKind {
  /** The EL1 virtual timer (CNTV_*, counter CNTVCT_EL0). */
  Virt = 0,
  /** The EL1 physical timer (CNTP_*, counter CNTPCT_EL0). */
  Phys = 1,
}

const MAX_EXACT_NS = Number.MAX_SAFE_INTEGER;

/** The host counter at simulated time `now` (ns). */
export function hostCount(now: number): number {
  return Math.floor(now * TICKS_PER_NS);
}

/** One EL1 timer of a vCPU. */
export class ArchTimer {
  /** CNTx_CTL_EL0 ENABLE and IMASK bits as written. */
  ctl = 0;
  /** CNTx_CVAL_EL0. */
  cval = 0n;
  /** Start of the simulated-time window in which counter ≥ CVAL (−Infinity: already met). */
  fireAt = Infinity;
  /** End of that window: the moment the counter wraps to 0. */
  dropAt = Infinity;
  /** The output line as last driven into the controller. */
  level = false;
  /** Whether the timer is enabled in KVM's sense (the vCPU ran once with an irqchip: kvm_timer_enable). */
  live = false;
  /** The interrupt number it drives (set at enable). */
  intid = -1;
  /** The host interrupt backing a mapped timer, or null for an emulated one. */
  hostIrq: HostIrq | null = null;
  /** Rising edges of the output line. */
  fired = 0;
  /** The expiry event (reused on every reprogramming). */
  readonly event: HostEvent;
  /** The get-input-level callback handed to mapPhysIrq: the current output line. */
  readonly getInputLevel: GetInputLevel;

  /**
   * @param vcpu - the vCPU
   * @param kind - virtual or physical
   * @param state - the VM-wide timer state (offsets)
   */
  constructor(
    readonly vcpu: Vcpu,
    readonly kind: TimerKind,
    readonly state: TimerVmState,
  ) {
    this.event = new HostEvent((now) => this.onEvent(now), kind === TimerKind.Virt ? 'vtimer' : 'ptimer');
    // the timer fires on the physical CPU of its vCPU: no IPI between the expiry and the vCPU's exit
    this.event.local = true;
    this.getInputLevel = (v) => this.lineAt(v.vm.now);
  }

  /** The counter offset of this timer's view (VM-wide). */
  get offset(): bigint {
    return this.kind === TimerKind.Virt ? this.state.voffset : this.state.poffset;
  }

  /** The counter this timer compares against (CNTVCT_EL0 / CNTPCT_EL0) at simulated time `now`. */
  counter(now: number): bigint {
    return u64(BigInt(hostCount(now)) - this.offset);
  }

  /** Whether the timer condition (counter ≥ CVAL, unsigned 64-bit) holds at `now`. */
  conditionAt(now: number): boolean {
    return this.counter(now) >= this.cval;
  }

  /** The output line at `now`: ENABLE && !IMASK && condition. Number comparisons only. */
  lineAt(now: number): boolean {
    return (this.ctl & (CTL_ENABLE | CTL_IMASK)) === CTL_ENABLE && now >= this.fireAt && now < this.dropAt;
  }

  /** CNTx_CTL_EL0 as read at `now`: ISTATUS is the condition while enabled, 0 while disabled. */
  readCtl(now: number): number {
    return this.ctl | ((this.ctl & CTL_ENABLE) !== 0 && this.conditionAt(now) ? CTL_ISTATUS : 0);
  }

  /** Writes CNTx_CTL_EL0 (ISTATUS and RES0 bits ignored). */
  writeCtl(v: number): void {
    this.ctl = v & (CTL_ENABLE | CTL_IMASK);
    this.update();
  }

  /** Writes CNTx_CVAL_EL0. */
  writeCval(v: bigint): void {
    this.cval = u64(v);
    this.update();
  }

  /** CNTx_TVAL_EL0 at `now`: bits [31:0] of CVAL − counter (bits [63:32] RES0). */
  readTval(now: number): number {
    return Number(BigInt.asUintN(32, this.cval - this.counter(now)));
  }

  /** Writes CNTx_TVAL_EL0 at `now`: CVAL = counter + SignExtend(value[31:0]). */
  writeTval(now: number, lo: number): void {
    this.cval = u64(this.counter(now) + BigInt(lo | 0));
    this.update();
  }

  /**
   * Recomputes the condition window after a change of CTL, CVAL or the offset, drives the line and re-arms the
   * expiry event. Called on register writes (not the interrupt hot path).
   */
  update(): void {
    const vm = this.vcpu.vm;
    const now = vm.now;
    const h = BigInt(hostCount(now));
    const c0 = u64(h - this.offset);
    this.dropAt = Number(h + (TWO64 - c0)) / TICKS_PER_NS;
    this.fireAt = c0 >= this.cval ? -Infinity : Number(h + (this.cval - c0)) / TICKS_PER_NS;
    if (!this.live) return;
    this.drive(this.lineAt(now));
    this.arm(now);
  }

  /** Enables the timer (first run): drives its current line. */
  enable(intid: number, hostIrq: HostIrq | null): void {
    this.intid = intid;
    this.hostIrq = hostIrq;
    this.live = true;
    this.level = false;
    this.update();
  }

  private onEvent(now: number): void {
    if (now >= this.dropAt) {
      this.update();
      return;
    }
    this.drive(this.lineAt(now));
    this.arm(now);
  }

  private arm(now: number): void {
    const vm = this.vcpu.vm;
    if ((this.ctl & (CTL_ENABLE | CTL_IMASK)) !== CTL_ENABLE) {
      vm.events.cancel(this.event);
      return;
    }
    if (now < this.fireAt) vm.schedule(this.event, this.fireAt);
    else if (this.dropAt > now && this.dropAt <= MAX_EXACT_NS) vm.schedule(this.event, this.dropAt);
    else vm.events.cancel(this.event);
  }

  /** Drives a change of the output line into the controller (kvm_timer_update_irq). */
  private drive(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    const vcpu = this.vcpu;
    const vm = vcpu.vm;
    if (vm.trace.on) vm.trace.emit(TraceKind.Timer, vm.id, vcpu.index, vm.now, this.intid, level ? 1 : 0);
    const h = this.hostIrq;
    if (level) this.fired++;
    if (h !== null) {
      if (!level) h.pending = false;
      else if (vcpu.loaded) {
        // the hardware timer of a loaded vCPU: its host interrupt fires unless still active
        vm.hv.hostIrqs.raise(h.irq);
        return;
      }
    }
    // a drop; an emulated timer; or the background timer of a vCPU not loaded (blocked in WFI, in userspace)
    vm.flow.injectIrq(vm, vcpu.index, this.intid, level, this);
  }

  /**
   * The host interrupt handler of a mapped timer (kvm_arch_timer_handler): injects while the line is high (and
   * keeps the host interrupt pending, as a level-sensitive line still asserted); a stale firing with the line low
   * deactivates the host interrupt again.
   */
  hostHandler(h: HostIrq): void {
    const vcpu = this.vcpu;
    const vm = vcpu.vm;
    if (this.level) {
      // the host handler runs on the vCPU's pCPU: timer handler and the vgic injection of the mapped PPI
      const t = vm.costNs.timerIrq;
      this.vcpu.clock += t;
      this.vcpu.costBy[TIMER_IRQ] += t;
      // a host event, not the vCPU's own slice, moved its clock: the scheduler's runnable heap must see the new
      // clock, or it runs this vCPU before one that is now behind it (whose signals would then arrive in its past)
      vm.scheduler.runnableSet.update(vcpu);
      h.pending = true;
      vm.flow.injectIrq(vm, vcpu.index, this.intid, true, this);
      // A physical interrupt taken while the vCPU runs on this CPU exits the guest (HCR_EL2.IMO), also when the
      // injection changed nothing (the line was already high in the controller: the host interrupt fired again
      // after the guest's EOI deactivated it). The exit lets the controller fold and resample the line.
      if (vcpu.inGuest) vm.kickVcpu(vcpu);
    } else vm.hv.hostIrqs.setIrqchipState(h.irq, IrqchipState.Active, false);
  }

  /**
   * vCPU load (kvm_timer_vcpu_load_gic): the host interrupt is active while the line is high or the controller
   * still has the mapped interrupt active.
   */
  load(): void {
    const h = this.hostIrq;
    if (h === null) return;
    h.active = this.level || this.vcpu.vm.flow.mapIsActive(this.vcpu, this.intid);
    // the hardware timer, programmed with the guest's CVAL again, asserts its level line: pending while high
    h.pending = this.level;
  }
}
