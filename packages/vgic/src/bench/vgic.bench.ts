/**
 * vgic benchmarks (run by `npm run bench`; `--json` prints one JSON document, `--quick` shorter runs, `--n N`
 * interrupts per repetition). Wall-clock rates of the model, each the median of repetitions measured after a
 * warm-up, interleaved with core's minimal hand-written interrupt loop ({@link minimalIrqRate}, the same reference
 * for every interrupt benchmark; ratio = model / minimal loop):
 *
 * - edge SPI lifecycle on GICv3 and GICv2: KVM_IRQ_LINE from a timed host event → kick/wake → flush into an LR
 *   → IRQ vector → acknowledge (ICC_IAR1_EL1 / GICC_IAR, untrapped) → EOI (untrapped) → fold;
 * - SGI ping-pong between two vCPUs on GICv3 (ICC_SGI1R_EL1 traps, the target's handler sends one back), on one
 *   VM booted before the first repetition (core's pingPongShape), so no repetition times the boot.
 *
 * The SPI rows build a VM per repetition and boot it before the timer starts; only the interrupts are timed.
 *
 * How the cost grows with pending interrupts and vCPUs is in scaling.bench.
 *
 * @module
 */
import 'reflect-metadata';
import {
  DAIF,
  elapsedSeconds,
  benchArgs,
  benchRow,
  interleaved,
  minimalIrqRate,
  MINIMAL_LOOP_IRQS,
  pingPongShape,
  printBench,
  spread,
  GuestAsm,
  HostEvent,
  Hypervisor,
  type BenchmarkEntry,
  type GuestIrqDriver,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { VgicPlugin } from '../plugin';

/** One benchmark figure. */
export type BenchResult = BenchmarkEntry;

const seconds = elapsedSeconds;

function makeVm(chip: 'gic-v3' | 'gic-v2', vcpus: number, nrIrqs: number): { vm: Vm; drv: GuestIrqDriver } {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  const vm = hv.createVm({ costProfile: chip === 'gic-v2' ? 'gicv2-nonvhe' : 'gicv3-vhe' });
  for (let i = 0; i < vcpus; i++) vm.createVcpu();
  const drv = hv.irqchip(chip).setup(vm, { nrIrqs });
  return { vm, drv };
}

/**
 * Edge SPI lifecycle rate: `n` interrupts round-robin over `spis` SPIs, all targeting vCPU 0.
 * @returns interrupts per wall-clock second
 */
export function spiLifecycle(chip: 'gic-v3' | 'gic-v2', n: number, vcpus = 1, spis = 64): number {
  const nrIrqs = Math.min(1024, 32 + Math.ceil(spis / 32) * 32);
  const { vm, drv } = makeVm(chip, vcpus, nrIrqs);
  let done = 0;
  let injected = 0;
  const ev = new HostEvent(() => {
    const id = 32 + (injected++ % spis);
    vm.irqLine((1 << 24) | id, 1);
    vm.irqLine((1 << 24) | id, 0);
  }, 'bench-spi');
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  for (let i = 0; i < spis; i++) drv.emitEnable(a, 32 + i);
  a.daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq');
  drv.emitAck(a, 9);
  a.bhsi(9, 1020, 'out');
  drv.emitEoi(a, 9);
  a.call((v: Vcpu) => {
    if (++done < n) vm.schedule(ev, v.clock + 1000);
  });
  a.label('out').eret();
  const img = a.build();
  const idle = new GuestAsm().label('main').label('l').wfi().b('l').build();
  vm.vcpus.forEach((v, i) => v.setProgram(i === 0 ? img : idle));
  vm.run(); // boot: every vCPU initialises and blocks in WFI (not timed)
  vm.schedule(ev, vm.now + 1000);
  const t = process.hrtime.bigint();
  vm.run();
  const s = seconds(t);
  if (done !== n) throw new Error(`${chip}: ${done}/${n} interrupts completed`);
  return n / s;
}

/**
 * SGI ping-pong between vCPU 0 and 1 on GICv3 (core's {@link pingPongShape}): the VM is built and booted once,
 * outside every timer, and each call of the returned function times `n` SGIs on it (the ping-pong only).
 * @returns a repetition: SGIs per wall-clock second
 */
export function sgiPingPong(): (n: number) => number {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  const s = pingPongShape(hv, 'gic-v3', 2);
  return (n: number) => 1e9 / s.rep(n);
}

/** Runs the vgic benchmarks; prints a table, or JSON with `--json`. */
export function main(argv: readonly string[] = process.argv.slice(2)): BenchResult[] {
  const args = benchArgs(argv);
  const ni = argv.indexOf('--n');
  const n = ni >= 0 ? Number(argv[ni + 1]) : args.quick ? 5_000 : 50_000;
  const reps = args.quick ? 3 : 5;
  const warm = args.quick ? { minMs: 50, maxMs: 500 } : {};
  const row = (name: string, unit: string, model: () => number): BenchResult => {
    const r = interleaved(model, () => minimalIrqRate(MINIMAL_LOOP_IRQS), { reps, warmUp: warm });
    return benchRow(name, unit, 'higher', r.model, spread(r.reference).median);
  };
  const pingPong = sgiPingPong();
  const benchmarks = [
    row('GICv3 edge SPI inject→vector→ack→EOI', 'irq/s', () => spiLifecycle('gic-v3', n)),
    row('GICv2 edge SPI inject→vector→ack→EOI', 'irq/s', () => spiLifecycle('gic-v2', n)),
    row('GICv3 SGI ping-pong (2 vCPUs)', 'irq/s', () => pingPong(n)),
  ];
  return printBench(args, benchmarks);
}

if (require.main === module) main();
