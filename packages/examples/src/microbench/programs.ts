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
import { COST_COMPONENT_COUNT, DAIF, GuestAsm, type GuestIrqDriver, type Vcpu, type Vm } from '@irqflow/core';
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
  /** Cost components charged on every vCPU inside the timed windows, summed over the iterations (by CostComponent). */
  readonly window: Float64Array;
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

/** The poll of the flag another vCPU sets; the load that sees it waits for the line (core line-clock.ts). */
function pollFlag(a: GuestAsm): void {
  const poll = a.fresh('poll');
  a.label(poll).ldra(1, MB_RAM.FLAG).cbz(1, poll);
}

/** The IRQ vector: save, ack, (`afterAck`), EOI, set the flag, restore, return. x0..x4 are scratch (rVIC calls). */
function irqVector(a: GuestAsm, d: GuestIrqDriver, level: boolean, afterAck?: (a: GuestAsm) => void): void {
  a.label('irq').push(1).push(7).push(9);
  d.emitAck(a, 9);
  a.beqi(9, d.spurious, 'irq_out');
  afterAck?.(a);
  d.emitEoi(a, 9, { level }); // the timer PPI is level-sensitive (rVIC resamples it)
  a.movi(1, 1).stra(1, MB_RAM.FLAG);
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
  const window = new Float64Array(COST_COMPONENT_COUNT);
  const mark = new Float64Array(COST_COMPONENT_COUNT);
  const all = (f: (k: number, x: number) => void): void => {
    for (const c of vm.vcpus) for (let k = 0; k < COST_COMPONENT_COUNT; k++) f(k, c.costBy[k]);
  };
  const open = (): void => {
    mark.fill(0);
    all((k, x) => (mark[k] += x));
  };
  const record = (v: Vcpu): void => {
    samples.push(v.x(23) - v.x(22));
    all((k, x) => (window[k] += x));
    for (let k = 0; k < COST_COMPONENT_COUNT; k++) window[k] -= mark[k];
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
      if (test === 'ipi_wfi') a.label('idle').wfi().b('idle');
      else a.label('spin').work(2).b('spin');
    } else {
      a.movi(20, iterations);
      a.label('iter');
      emitTimed(a, irqchip, d, test, open);
      a.call(record).addi(20, 20, -1).cbnz(20, 'iter');
      a.label('end').movi(0, 0x84000008).hvc(); // PSCI SYSTEM_OFF
    }
    irqVector(a, d, test === 'timer_10ms', test === 'timer_10ms' ? (b) => cnt(b, 23).movi(1, 0).msr('CNTV_CTL_EL0', 1) : undefined);
    programs.push(a);
  }
  return { vcpus: n, programs, samples, window };
}

/** One timed iteration: x22 = counter before, x23 = counter after (or at the handler, for the timer). */
function emitTimed(a: GuestAsm, irqchip: string, d: GuestIrqDriver, test: MicrobenchTest, openWindow: () => void): void {
  const v2 = irqchip === 'gic-v2';
  const cnt = (b: GuestAsm, rd: number): GuestAsm => (rd === 22 ? b.call(openWindow).mrs(rd, 'CNTVCT_EL0') : b.mrs(rd, 'CNTVCT_EL0'));
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
