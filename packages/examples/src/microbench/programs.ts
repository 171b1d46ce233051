/**
 * The kvm-unit-tests `arm/micro-bench` set as guest programs (the shape of each test as the references §6.1
 * describe it; our own code): vCPU 0 reads its virtual counter (CNTVCT_EL0), does the operation, reads the
 * counter again, and repeats; the mean of the differences is the test's figure, in simulated ns (the model's
 * counter ticks at 1 GHz). vCPU 1 is the target of the cross-vCPU tests.
 *
 * - `hvc`: a null SMCCC call (SMCCC_VERSION) handled in the kernel.
 * - `mmio_read_user`: a load from an address no in-kernel device claims (KVM_EXIT_MMIO, answered by the VMM).
 * - `mmio_read_vgic`: a load of GICD_IIDR (in-kernel emulation); on rVIC its equivalent, the INFO hypercall.
 * - `eoi`: an EOI of the spurious INTID (ICC_EOIR1_EL1 / GICC_EOIR: no trap); on rVIC CLEAR_MASKED (a hypercall).
 * - `ipi`: SGI 0 to vCPU 1, spinning with interrupts unmasked, until its handler (ack, EOI) has set a flag;
 *   `ipi_wfi` the same with vCPU 1 blocked in WFI; `ipi_hw` on GICv4.1 (the SGI is a direct vSGI).
 * - `lpi`: vCPU 0 writes an ITS INT command into the command queue and advances GITS_CWRITER; until vCPU 1's
 *   handler has set the flag.
 * - `timer_10ms`: the virtual timer programmed 10 ms ahead; from the deadline to the handler reading the counter.
 *
 * The polling side of a flag another vCPU wrote pays the `cacheLineTransfer` wait of the load that sees it: the
 * VM's line clock (core line-clock.ts) makes a load of a line another vCPU stored to complete no earlier than
 * that store plus the transfer.
 *
 * @module
 */
import {
  COST_COMPONENT_COUNT,
  CostComponent,
  DAIF,
  GuestAsm,
  MpState,
  paidCostBy,
  type GuestIrqDriver,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { rvicFid, RvicCall } from '@irqflow/rvic';
import { GIC_BOARD, GIC_ITS_RAM, GITS } from '@irqflow/vgic';

/** The micro-bench tests. */
export const MICROBENCH_TESTS = [
  'hvc',
  'mmio_read_user',
  'mmio_read_vgic',
  'eoi',
  'ipi',
  'ipi_wfi',
  'ipi_hw',
  'lpi',
  'timer_10ms',
] as const;
/** A micro-bench test name. */
export type MicrobenchTest = (typeof MICROBENCH_TESTS)[number];

/** Guest RAM the micro-bench uses for its flag (outside the GIC driver's ITS area). */
export const MB_RAM = { BASE: 0x50000000, SIZE: 0x10000, FLAG: 0x50000000 } as const;
/** An address no in-kernel device claims: the VMM answers reads (like QEMU's PL011 at 0x09000000). */
export const MB_USER_MMIO = 0x09000018;

const SMCCC_VERSION = 0x80000000;
const TEN_MS = 10_000_000;
/** Coarse spin step while far from the timer deadline (cycles), then a fine spin. */
const COARSE = 2000;

/** What a built test needs: one program per vCPU and how many vCPUs. */
export interface BuiltTest {
  readonly vcpus: number;
  readonly programs: GuestAsm[];
  /** Samples (counter ticks = ns), filled while the guest runs. */
  readonly samples: number[];
  /**
   * The measured path's time by cost component, summed over the iterations (by CostComponent; `guest` apart): what
   * each vCPU paid on its own clock along the path (see {@link buildTest}). With {@link guestNs} it adds up to the
   * sum of the samples.
   */
  readonly window: Float64Array;
  /** Plain guest work (and waiting for an operation boundary) on the path, summed over the iterations. */
  readonly guestNs: number[];
  /**
   * The smallest guest remainder of any one segment of any iteration (a segment's time minus its components):
   * negative would mean components counted that did not pass on the path (a test checks it never is).
   */
  readonly minSegmentGuestNs: number[];
}

/** Why `test` cannot run on controller `irqchip` (driver `d`), or undefined. */
export function unsupportedTest(test: MicrobenchTest, irqchip: string, d: GuestIrqDriver, hasTimer: boolean): string | undefined {
  const gic = irqchip.startsWith('gic-v');
  const rvic = irqchip === 'rvic';
  const v41 = irqchip === 'gic-v4.1';
  // a controller's guest driver may leave IPIs or the timer's interrupt numbers out (optional capabilities)
  if ((test === 'ipi' || test === 'ipi_wfi' || test === 'ipi_hw') && (d.ipi === undefined || d.emitSendIpi === undefined)) return 'no IPIs';
  if (test === 'timer_10ms' && d.timerIntids === undefined) return 'no arch timer interrupt';
  switch (test) {
    case 'mmio_read_vgic':
      return gic || rvic ? undefined : 'no in-kernel distributor register to read';
    case 'eoi':
      return gic || rvic ? undefined : 'no EOI equivalent known';
    case 'ipi':
      return v41 ? 'SGIs are direct vSGIs on gic-v4.1: see ipi_hw' : undefined;
    case 'ipi_hw':
      return v41 ? undefined : 'needs GICv4.1 direct vSGIs';
    case 'lpi':
      return gic && irqchip !== 'gic-v2' && d.emitMsiSetup ? undefined : 'needs an ITS';
    case 'timer_10ms':
      return hasTimer ? undefined : 'no arch timer';
    default:
      return undefined;
  }
}

/** Reads the counter into `rd`. */
const cnt = (a: GuestAsm, rd: number): GuestAsm => a.mrs(rd, 'CNTVCT_EL0');

/**
 * The poll of the flag another vCPU sets; the load that sees it waits for the line (core line-clock.ts). `mark`
 * (free in simulated time) runs before each load: the path breakdown's snapshot of the poller.
 */
function pollFlagOf(a: GuestAsm, mark: (v: Vcpu) => void): void {
  const poll = a.fresh('poll');
  a.label(poll).call(mark).ldra(1, MB_RAM.FLAG).cbz(1, poll);
}

/**
 * The IRQ vector: save, ack, (`afterAck`), EOI, set the flag, restore, return. x0..x4 are scratch (rVIC calls).
 * `atFlag` (free in simulated time) runs just before the flag store: the end of the receiver's part of the path.
 */
function irqVector(a: GuestAsm, d: GuestIrqDriver, level: boolean, atFlag: (v: Vcpu) => void, afterAck?: (a: GuestAsm) => void): void {
  a.label('irq').push(1).push(7).push(9);
  d.emitAck(a, 9);
  a.beqi(9, d.spurious, 'irq_out');
  afterAck?.(a);
  d.emitEoi(a, 9, { level }); // the timer PPI is level-sensitive (rVIC resamples it)
  a.movi(1, 1).call(atFlag).stra(1, MB_RAM.FLAG);
  a.label('irq_out').pop(9).pop(7).pop(1).eret();
}

/**
 * Builds `test` for controller `irqchip` with driver `d` on `vm` (vCPUs already created).
 * @param iterations - timed repetitions
 */
export function buildTest(vm: Vm, irqchip: string, d: GuestIrqDriver, test: MicrobenchTest, iterations: number): BuiltTest {
  const samples: number[] = [];
  const cross = test === 'ipi' || test === 'ipi_wfi' || test === 'ipi_hw' || test === 'lpi';
  const n = cross ? 2 : 1;
  let arrived = 0;
  const programs: GuestAsm[] = [];
  const path = new PathBreakdown(vm, cross);
  const open = (v: Vcpu): void => path.open(v);
  const record = (v: Vcpu): void => {
    samples.push(v.x(23) - v.x(22));
    path.close(v.x(22), v.x(23));
  };
  for (let cpu = 0; cpu < n; cpu++) {
    const a = new GuestAsm();
    a.label('main');
    d.emitCpuInit(a);
    if (cpu === 1 || test === 'timer_10ms')
      d.emitEnable(a, test === 'timer_10ms' ? d.timerIntids!.virt : test === 'lpi' ? 8192 : d.ipi!(0));
    let msiOk = true;
    if (cpu === 0 && test === 'lpi') {
      const msi = d.emitMsiSetup!(a, { devid: 1, event: 0, intid: 8192, target: 1 });
      msiOk = msi.address === GIC_BOARD.ITS + GITS.TRANSLATER;
    }
    if (!msiOk) throw new Error('the MSI does not go through the ITS');
    a.call(() => void arrived++)
      .label('bar')
      .work(30)
      .callb(() => arrived < n, 'bar');
    if (cpu === 1) {
      a.daifclr(DAIF.I);
      const mark = (v: Vcpu): void => path.markReceiver(v);
      if (test === 'ipi_wfi') a.label('idle').call(mark).wfi().b('idle');
      else a.label('spin').call(mark).work(2).b('spin');
    } else {
      a.movi(20, iterations);
      a.label('iter');
      emitTimed(a, irqchip, d, test, open, (v) => path.markPoller(v));
      a.call(record).addi(20, 20, -1).cbnz(20, 'iter');
      a.label('end').movi(0, 0x84000008).hvc(); // PSCI SYSTEM_OFF
    }
    const atFlag = (v: Vcpu): void => path.atFlag(v);
    // the timer's path ends at the handler's counter read: the breakdown's last snapshot is taken there
    const timerRead = (b: GuestAsm): GuestAsm =>
      cnt(b, 23)
        .call((v) => path.end(v))
        .movi(1, 0)
        .msr('CNTV_CTL_EL0', 1);
    irqVector(a, d, test === 'timer_10ms', atFlag, test === 'timer_10ms' ? timerRead : undefined);
    programs.push(a);
  }
  return { vcpus: n, programs, samples, window: path.sum, guestNs: path.guest, minSegmentGuestNs: path.minSegmentGuest };
}

const ZEROS = (): Float64Array => new Float64Array(COST_COMPONENT_COUNT);

/**
 * The breakdown of a measured path (simulated time on the guest's counter from x22 to x23) into the cost
 * components paid on it. Each vCPU is snapshotted only at its own clock, with {@link paidCostBy} (what it has
 * paid so far; an exit's re-entry part only once it is paid), so the result does not depend on scheduling.
 *
 * One vCPU: the components vCPU 0 paid from x22 to x23. Across vCPUs the path is four segments in series:
 * A, the sender from x22 to the instant it sends the signal (the scheduler's signal observer); B, the delivery
 * latency, to its arrival; C, the receiver from the arrival to its store of the flag (from its last snapshot
 * before it took the signal: its spin loop, or its blocked state for a receiver in WFI); D, the sender from that
 * store to x23 (from its last poll, or from where it was in its trap's re-entry: the line-transfer wait, the
 * counter read). What the sender does meanwhile (the re-entry part of its trap, polling) runs beside the path and
 * is not on it. If the sender never waited for the flag's line, the receiver finished first and the path is the
 * sender's own, x22 to x23. Each segment's time not taken by its components is `guest`; the parts add up to
 * x23 − x22 exactly.
 */
class PathBreakdown {
  /** Components on the path, summed over the iterations. */
  readonly sum = ZEROS();
  /** Guest remainder summed over the iterations (one element: shared with BuiltTest). */
  readonly guest = [0];
  /** Smallest segment remainder seen (one element). */
  readonly minSegmentGuest = [Infinity];
  private readonly p0 = ZEROS();
  private readonly ps = ZEROS();
  private readonly pEnd = ZEROS();
  private readonly rMark = ZEROS();
  private readonly rTake = ZEROS();
  private readonly rFlag = ZEROS();
  private readonly sPoll = ZEROS();
  private readonly tmp = ZEROS();
  private sentAt = -1;
  private arrivesAt = -1;
  /** The sender's re-entry still to pay when it sent (its trap's way back into the guest) and its component. */
  private sentReentryNs = 0;
  private sentReentryComponent = 0;
  /** When the sender first polled after sending (-1: not yet). */
  private firstPollAt = -1;
  private flagAt = -1;
  private takeFromBlock = false;
  private ended = false;

  constructor(
    private readonly vm: Vm,
    private readonly cross: boolean,
  ) {
    if (cross) vm.scheduler.signalObserver = (target) => this.signalled(target);
  }

  /** At x22 on vCPU 0. */
  open(v: Vcpu): void {
    paidCostBy(v, this.p0);
    this.sentAt = -1;
    this.flagAt = -1;
    this.ended = false;
  }

  /** A signal stamped by whoever executes (scheduler.signalObserver): the first from vCPU 0 to vCPU 1 starts B. */
  private signalled(target: Vcpu): void {
    const s = this.vm.scheduler;
    const from = s.current;
    if (this.sentAt >= 0 || from === null || from.index !== 0 || target.index !== 1) return;
    this.sentAt = from.clock;
    this.arrivesAt = s.signalTime;
    this.firstPollAt = -1;
    paidCostBy(from, this.ps);
    // what the sender has still to pay of its trap (charged in full, paid on its way back into the guest)
    this.sentReentryNs = 0;
    for (let k = 0; k < COST_COMPONENT_COUNT; k++)
      if (from.costBy[k] > this.ps[k]) {
        this.sentReentryNs = from.costBy[k] - this.ps[k];
        this.sentReentryComponent = k;
      }
    // a blocked receiver paid nothing since it blocked: its state now is its state at the arrival
    this.takeFromBlock = target.mp === MpState.Halted;
    if (this.takeFromBlock) paidCostBy(target, this.rTake);
  }

  /** The receiver's idle loop (spin or WFI), before each pass. */
  markReceiver(v: Vcpu): void {
    paidCostBy(v, this.rMark);
  }

  /** Just before the receiver's flag store. */
  atFlag(v: Vcpu): void {
    if (!this.cross) return;
    this.flagAt = v.clock;
    paidCostBy(v, this.rFlag);
    if (!this.takeFromBlock) this.rTake.set(this.rMark);
  }

  /** vCPU 0's poll of the flag, before each load. */
  markPoller(v: Vcpu): void {
    if (this.sentAt >= 0 && this.firstPollAt < 0) this.firstPollAt = v.clock;
    paidCostBy(v, this.sPoll);
  }

  /** At x23 on vCPU 0 where it is not the end of the timed code (the timer's handler). */
  end(v: Vcpu): void {
    paidCostBy(v, this.pEnd);
    this.ended = true;
  }

  /** After x23: adds the iteration's path. */
  close(t22: number, t23: number): void {
    if (!this.ended) paidCostBy(this.vm.vcpus[0], this.pEnd);
    if (!this.cross) {
      this.segment(this.p0, this.pEnd, t23 - t22);
      return;
    }
    if (this.sentAt < 0 || this.flagAt < 0) throw new Error('the path was not observed (no signal to vCPU 1, or no flag store)');
    if (this.pEnd[CostComponent.CacheLineTransfer] === this.sPoll[CostComponent.CacheLineTransfer]) {
      // the load that saw the flag did not wait for it: the flag was visible before the sender was back from its
      // trap (a direct vSGI is that fast), so the path is the sender's own and the receiver's work is beside it
      this.segment(this.p0, this.pEnd, t23 - t22);
      return;
    }
    this.segment(this.p0, this.ps, this.sentAt - t22);
    this.sum[CostComponent.IpiLatency] += this.arrivesAt - this.sentAt;
    this.segment(this.rTake, this.rFlag, this.flagAt - this.arrivesAt);
    if (this.firstPollAt >= this.flagAt) {
      // the flag was stored before the sender was back from its trap, and became visible after: the rest of the
      // sender's re-entry after the store is on the path, what it paid of it before the store is not
      const d = this.tmp;
      d.set(this.ps);
      d[this.sentReentryComponent] += Math.min(this.flagAt - this.sentAt, this.sentReentryNs);
      this.segment(d, this.pEnd, t23 - this.flagAt);
    } else this.segment(this.sPoll, this.pEnd, t23 - this.flagAt);
  }

  /** Adds the components paid between snapshots `from` and `to` of one vCPU over `ns` of its time. */
  private segment(from: Float64Array, to: Float64Array, ns: number): void {
    let paid = 0;
    for (let k = 0; k < COST_COMPONENT_COUNT; k++) {
      // the delivery latency is segment B's; a blocked receiver's record of it would count it twice
      if (k === (CostComponent.IpiLatency as number)) continue;
      const x = to[k] - from[k];
      this.sum[k] += x;
      paid += x;
    }
    const rest = ns - paid;
    this.guest[0] += rest;
    if (rest < this.minSegmentGuest[0]) this.minSegmentGuest[0] = rest;
  }
}

/** One timed iteration: x22 = counter before, x23 = counter after (or at the handler, for the timer). */
function emitTimed(
  a: GuestAsm,
  irqchip: string,
  d: GuestIrqDriver,
  test: MicrobenchTest,
  openWindow: (v: Vcpu) => void,
  poll: (v: Vcpu) => void,
): void {
  const v2 = irqchip === 'gic-v2';
  // the path starts at the value read (the clock after the read's cost): the window opens right after it
  const cnt = (b: GuestAsm, rd: number): GuestAsm => (rd === 22 ? b.mrs(rd, 'CNTVCT_EL0').call(openWindow) : b.mrs(rd, 'CNTVCT_EL0'));
  const pollFlag = (b: GuestAsm): void => pollFlagOf(b, poll);
  switch (test) {
    case 'hvc':
      cnt(a, 22).movi(0, SMCCC_VERSION).hvc();
      cnt(a, 23);
      return;
    case 'mmio_read_user':
      cnt(a, 22).ldra(1, MB_USER_MMIO);
      cnt(a, 23);
      return;
    case 'mmio_read_vgic':
      cnt(a, 22);
      if (irqchip === 'rvic') a.movi(0, rvicFid(RvicCall.INFO)).movi(1, 0).hvc();
      else a.ldra(1, GIC_BOARD.DIST + 0x8); // GICD_IIDR
      cnt(a, 23);
      return;
    case 'eoi':
      a.movi(9, d.spurious);
      if (v2) a.movi(7, 1023);
      cnt(a, 22);
      if (v2)
        a.stra(7, GIC_BOARD.CPU + 0x10); // GICC_EOIR (the GICV frame: no trap)
      else d.emitEoi(a, 9);
      cnt(a, 23);
      return;
    case 'ipi':
    case 'ipi_wfi':
    case 'ipi_hw':
      a.movi(1, 0).stra(1, MB_RAM.FLAG).movi(11, 1);
      if (test === 'ipi_wfi') a.work(20_000); // let the target block again
      cnt(a, 22);
      d.emitSendIpi!(a, 11, 0);
      pollFlag(a);
      cnt(a, 23);
      return;
    case 'lpi': {
      const R = GIC_ITS_RAM.BASE + GIC_ITS_RAM.CMDQ;
      a.movi(1, 0).stra(1, MB_RAM.FLAG);
      // the queue's write pointer (outside the timed window), the slot and the next pointer (64 KiB queue)
      a.ldra(5, GIC_BOARD.ITS + GITS.CWRITER, 8).call((v) => {
        const w = v.x(5);
        v.setX(6, R + w);
        v.setX(7, (w + 32) % 0x10000);
      });
      cnt(a, 22);
      const words = [0x03, 1, 0, 0, 0, 0, 0, 0]; // INT: DeviceID 1, EventID 0
      words.forEach((w, i) => a.movi(0, w).str(0, 6, i * 4));
      a.stra(7, GIC_BOARD.ITS + GITS.CWRITER, 8);
      pollFlag(a);
      cnt(a, 23);
      return;
    }
    case 'timer_10ms': {
      const coarse = a.fresh('coarse');
      const fine = a.fresh('fine');
      a.movi(1, 0).stra(1, MB_RAM.FLAG);
      cnt(a, 0).call((v) => v.setX(22, v.x(0) + TEN_MS)); // x22 = the deadline
      a.msr('CNTV_CVAL_EL0', 22).movi(0, 1).msr('CNTV_CTL_EL0', 0);
      a.daifclr(DAIF.I);
      a.label(coarse)
        .work(COARSE)
        .callb((v) => v.x(22) - v.vm.now > 4 * COARSE, coarse);
      a.call(openWindow).label(fine).ldra(1, MB_RAM.FLAG).cbz(1, fine);
      a.daifset(DAIF.I); // x23 = the counter the handler read
      return;
    }
  }
}
