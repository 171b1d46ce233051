/**
 * Core benchmarks (run by `npm run bench`; `--json` prints one JSON document). Each figure is measured beside a
 * minimal hand-written JavaScript loop doing the same logical work in the same process, and the ratio
 * (model / hand-written) is the figure to watch:
 *
 * - guest operations per second through the run loop (a loop of register adds, a compare and a branch) vs the
 *   same adds/compare/branch over typed arrays;
 * - interrupts per second through inject → kick/wake → IRQ vector → acknowledge → EOI → completion with a tiny
 *   FIFO controller vs pushing to a FIFO, popping and counting.
 *
 * @module
 */
import 'reflect-metadata';
import { GuestAsm } from '../guest/guest-asm';
import { DAIF } from '../guest/guest-isa';
import { PSCI } from '../hypercall/smccc';
import { Hypervisor } from '../hypervisor';
import { HostEvent } from '../sched/event-queue';
import { elapsedSeconds, fifoBaselineRate, type BenchmarkEntry } from '../bench-kit';
import { BenchFifoController } from './support/bench-controller';

/** One benchmark figure (see {@link BenchmarkEntry}). */
export type BenchResult = BenchmarkEntry;

const seconds = elapsedSeconds;

/** Median of `runs` rate measurements of `fn`, which returns [units done, seconds]. */
function median(runs: number, fn: () => [number, number]): number {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [n, s] = fn();
    rates.push(n / s);
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1];
}

let sink = 0;

/**
 * Guest operations per second: a guest loop `x1 += 1; x2 += 3; if (x1 != n) goto loop` (3 operations per
 * iteration) run through the VM's run loop, beside the same work on typed-array registers in plain JS.
 * @param iterations - loop iterations per measurement
 * @param runs - measurements (the median is reported)
 */
export function benchGuestOps(iterations = 5_000_000, runs = 5): BenchResult {
  const a = new GuestAsm();
  a.label('main').movi(1, 0).movi(2, 0).label('loop').addi(1, 1, 1).addi(2, 2, 3).bnei(1, iterations, 'loop');
  a.movi(0, PSCI.SYSTEM_OFF).hvc();
  const image = a.build();
  const model = (): [number, number] => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    const v = vm.createVcpu();
    v.setProgram(image);
    const t = process.hrtime.bigint();
    const r = vm.run();
    const s = seconds(t);
    if (r.reason !== 'shutdown' || v.x(2) !== iterations * 3) throw new Error(`guest loop did not complete (${r.reason})`);
    return [v.stats.ops, s];
  };
  const baseline = (): [number, number] => {
    const xlo = new Uint32Array(32);
    const t = process.hrtime.bigint();
    let ops = 0;
    xlo[1] = 0;
    xlo[2] = 0;
    for (;;) {
      xlo[1] = xlo[1] + 1;
      xlo[2] = xlo[2] + 3;
      ops += 3;
      if (xlo[1] === iterations) break;
    }
    const s = seconds(t);
    sink += xlo[2];
    return [ops, s];
  };
  model(); // warm up
  baseline();
  const value = median(runs, model);
  const base = median(runs, baseline);
  return { name: 'guest ops through the run loop', value, unit: 'ops/s', baseline: base, ratio: value / base };
}

/**
 * Interrupts per second: a timed host event injects an interrupt into a vCPU waiting in WFI; the vCPU wakes,
 * takes the IRQ exception, acknowledges (untrapped), writes EOI (trapped) and returns; the completion re-arms
 * the next injection. Beside it: push an interrupt number to a FIFO, pop it, count it.
 * @param irqs - interrupts per measurement
 * @param runs - measurements (the median is reported)
 */
export function benchInterrupts(irqs = 200_000, runs = 5): BenchResult {
  const a = new GuestAsm();
  a.label('main').daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq').mrs(0, 'ICC_IAR1_EL1').msr('ICC_EOIR1_EL1', 0).eret();
  const image = a.build();
  const model = (): [number, number] => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    const v = vm.createVcpu();
    const ctl = new BenchFifoController(vm).install();
    v.setProgram(image);
    let injected = 0;
    const ev = new HostEvent(() => {
      injected++;
      ctl.inject(v, 32 + (injected & 63));
    }, 'bench-inject');
    ctl.onComplete = (cpu) => {
      if (injected < irqs) vm.schedule(ev, cpu.clock + 1000);
    };
    vm.schedule(ev, 1000);
    const t = process.hrtime.bigint();
    const r = vm.run();
    const s = seconds(t);
    if (r.reason !== 'idle' || ctl.completed !== irqs) throw new Error(`interrupt loop did not complete (${ctl.completed}/${irqs})`);
    return [ctl.completed, s];
  };
  const baseline = (): [number, number] => [1, 1 / fifoBaselineRate(irqs)];
  model();
  baseline();
  const value = median(runs, model);
  const base = median(runs, baseline);
  return { name: 'interrupts inject→vector→ack→EOI', value, unit: 'irq/s', baseline: base, ratio: value / base };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(3);
}

/** Runs every core benchmark and prints a table, or JSON with `--json`. */
export function main(argv: readonly string[] = process.argv.slice(2)): BenchResult[] {
  const results = [benchGuestOps(), benchInterrupts()];
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ benchmarks: results }, null, 2));
  } else {
    console.log('benchmark                              model          hand-written     ratio');
    for (const r of results)
      console.log(`${r.name.padEnd(38)} ${`${fmt(r.value)} ${r.unit}`.padEnd(14)} ${`${fmt(r.baseline)} ${r.unit}`.padEnd(16)} ${r.ratio.toFixed(4)}`);
  }
  if (sink === -1) console.log('');
  return results;
}

if (require.main === module) main();
