/**
 * Core benchmarks (run by `npm run bench`; `--json` prints one JSON document, `--quick` shorter runs). Each figure
 * is the median of repetitions measured after a warm-up, interleaved with a minimal hand-written JavaScript loop
 * doing the same logical work, and the ratio (model / hand-written) is the figure to watch:
 *
 * - guest operations per second through the run loop (a loop of register adds, a compare and a branch) vs the
 *   same adds/compare/branch over typed arrays;
 * - interrupts per second through inject → kick/wake → IRQ vector → acknowledge → EOI → completion with a tiny
 *   FIFO controller vs the shared minimal interrupt loop ({@link minimalIrqRate}).
 *
 * @module
 */
import 'reflect-metadata';
import { GuestAsm } from '../guest/guest-asm';
import { DAIF } from '../guest/guest-isa';
import { PSCI } from '../hypercall/smccc';
import { Hypervisor } from '../hypervisor';
import { HostEvent } from '../sched/event-queue';
import {
  benchArgs,
  benchRow,
  elapsedSeconds,
  interleaved,
  minimalIrqRate,
  MINIMAL_LOOP_IRQS,
  printBench,
  spread,
  type BenchmarkEntry,
} from '../bench-kit';
import { BenchFifoController } from './support/bench-controller';

/** One benchmark figure (see {@link BenchmarkEntry}). */
export type BenchResult = BenchmarkEntry;

const seconds = elapsedSeconds;

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
  const rate = (f: () => [number, number]) => (): number => {
    const [n, s] = f();
    return n / s;
  };
  const r = interleaved(rate(model), rate(baseline), { reps: runs });
  return benchRow('guest ops through the run loop', 'ops/s', 'higher', r.model, spread(r.reference).median);
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
  const r = interleaved(
    () => {
      const [n, s] = model();
      return n / s;
    },
    () => minimalIrqRate(MINIMAL_LOOP_IRQS),
    { reps: runs },
  );
  return benchRow('interrupts inject→vector→ack→EOI', 'irq/s', 'higher', r.model, spread(r.reference).median);
}

/** Runs every core benchmark and prints a table, or JSON with `--json` (`--quick`: shorter runs). */
export function main(argv: readonly string[] = process.argv.slice(2)): BenchResult[] {
  const args = benchArgs(argv);
  const results = args.quick ? [benchGuestOps(500_000, 3), benchInterrupts(20_000, 3)] : [benchGuestOps(), benchInterrupts()];
  if (sink === -1) console.log('');
  return printBench(args, results);
}

if (require.main === module) main();
