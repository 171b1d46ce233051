/**
 * vgic benchmarks (run by `npm run bench`; `--json` prints one JSON document, the core bench's format plus a
 * `flatness` list). Wall-clock rates of the model, each beside a minimal hand-written loop doing the same
 * logical work in the same process (ratio = model / hand-written):
 *
 * - edge SPI lifecycle on GICv3 and GICv2: KVM_IRQ_LINE from a timed host event → kick/wake → flush into an LR
 *   → IRQ vector → acknowledge (ICC_IAR1_EL1 / GICC_IAR, untrapped) → EOI (untrapped) → fold;
 * - SGI ping-pong between two vCPUs on GICv3 (ICC_SGI1R_EL1 traps, the target's handler sends one back);
 * - flatness: the per-interrupt cost with 1 vs 512 vCPUs and with 64 vs 988 SPIs in use (ratios printed;
 *   the issue asks for them to stay within ±20%).
 *
 * @module
 */
import 'reflect-metadata';
import {
  DAIF,
  elapsedSeconds,
  fifoBaselineRate,
  GuestAsm,
  HostEvent,
  Hypervisor,
  medianOf,
  type BenchmarkEntry,
  type GuestIrqDriver,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { VgicPlugin } from '../plugin';

/** One benchmark figure. */
export type BenchResult = BenchmarkEntry;

/** A flatness check: the same workload at a small and a large size. */
export interface FlatnessResult {
  /** What varies. */
  name: string;
  /** Rate at the small size. */
  small: number;
  /** Rate at the large size. */
  large: number;
  /** large / small (1.0 = perfectly flat). */
  ratio: number;
}

const seconds = elapsedSeconds;
const median = medianOf;
const baselineRate = fifoBaselineRate;

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

/** SGI ping-pong between vCPU 0 and 1 on GICv3: `n` SGIs in total. @returns SGIs per wall-clock second */
export function sgiPingPong(n: number): number {
  const { vm, drv } = makeVm('gic-v3', 2, 64);
  let done = 0;
  const prog = (peer: number, start: boolean) => {
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, 1);
    a.movi(11, peer);
    if (start) a.work(1000).call(() => {}).b('send');
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq');
    drv.emitAck(a, 9);
    a.bhsi(9, 1020, 'out');
    drv.emitEoi(a, 9);
    a.callb(() => ++done >= n, 'out');
    a.label('send');
    drv.emitSendIpi!(a, 11, 1);
    if (start) a.daifclr(DAIF.I).b('idle');
    a.label('out').eret();
    return a.build();
  };
  vm.vcpus[0].setProgram(prog(1, true));
  vm.vcpus[1].setProgram(prog(0, false));
  const t = process.hrtime.bigint();
  vm.run();
  const s = seconds(t);
  if (done < n) throw new Error(`ping-pong: ${done}/${n}`);
  return done / s;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(3);
}

/** Runs the vgic benchmarks; prints a table, or JSON with `--json`. */
export function main(argv: readonly string[] = process.argv.slice(2)): { benchmarks: BenchResult[]; flatness: FlatnessResult[] } {
  const ni = argv.indexOf('--n');
  const n = ni >= 0 ? Number(argv[ni + 1]) : 50_000;
  const runs = 3;
  spiLifecycle('gic-v3', 2000);
  spiLifecycle('gic-v2', 2000);
  baselineRate(n);
  const base = median(runs, () => baselineRate(n));
  const mk = (name: string, value: number, unit = 'irq/s'): BenchResult => ({ name, value, unit, baseline: base, ratio: value / base });
  const benchmarks = [
    mk('GICv3 edge SPI inject→vector→ack→EOI', median(runs, () => spiLifecycle('gic-v3', n))),
    mk('GICv2 edge SPI inject→vector→ack→EOI', median(runs, () => spiLifecycle('gic-v2', n))),
    mk('GICv3 SGI ping-pong (2 vCPUs)', median(runs, () => sgiPingPong(n)), 'sgi/s'),
  ];
  // small and large measured alternately (after one warm-up each) so machine noise hits both alike
  const flat = (name: string, small: () => number, large: () => number): FlatnessResult => {
    small();
    large();
    const ss: number[] = [];
    const ls: number[] = [];
    for (let i = 0; i < 5; i++) {
      ss.push(small());
      ls.push(large());
    }
    const med = (r: number[]) => r.sort((x, y) => x - y)[r.length >> 1];
    const s = med(ss);
    const l = med(ls);
    return { name, small: s, large: l, ratio: l / s };
  };
  const fn = Math.max(10_000, n >> 1);
  const flatness = [
    flat('GICv3 per-SPI cost, 1 vs 512 vCPUs', () => spiLifecycle('gic-v3', fn, 1), () => spiLifecycle('gic-v3', fn, 512)),
    flat('GICv3 per-SPI cost, 64 vs 988 SPIs', () => spiLifecycle('gic-v3', fn, 1, 64), () => spiLifecycle('gic-v3', fn, 1, 988)),
    flat('GICv2 per-SPI cost, 1 vs 8 vCPUs', () => spiLifecycle('gic-v2', fn, 1), () => spiLifecycle('gic-v2', fn, 8)),
  ];
  if (argv.includes('--json')) console.log(JSON.stringify({ benchmarks, flatness }, null, 2));
  else {
    console.log(`vgic benchmarks, ${n} interrupts per run (median of ${runs})`);
    console.log('benchmark                                  model          hand-written     ratio');
    for (const r of benchmarks)
      console.log(`${r.name.padEnd(42)} ${`${fmt(r.value)} ${r.unit}`.padEnd(14)} ${`${fmt(r.baseline)} irq/s`.padEnd(16)} ${r.ratio.toFixed(4)}`);
    console.log('flatness                                   small          large            large/small');
    for (const f of flatness) console.log(`${f.name.padEnd(42)} ${`${fmt(f.small)}/s`.padEnd(14)} ${`${fmt(f.large)}/s`.padEnd(16)} ${f.ratio.toFixed(3)}`);
  }
  return { benchmarks, flatness };
}

if (require.main === module) main();
