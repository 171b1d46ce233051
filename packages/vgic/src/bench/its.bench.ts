/**
 * ITS benchmarks (run as plain node by scripts/bench.js; `--json` prints exactly one JSON document
 * `{"benchmarks":[…]}` (core's row format) on stdout and nothing else):
 *
 * - **lpi-stress D×E×V, end to end**, shaped like KVM's selftest vgic_lpi_stress: a "gic-v3" VM (vGICv3 + the
 *   board ITS) with V vCPUs; vCPU 0's guest driver maps D devices × E events (MAPD/MAPC/MAPTI through the command
 *   queue, collection = target vCPU, targets round-robin over the V vCPUs, LPI 8192 + d·E + e). The host loop
 *   signals every (device, event) once with KVM_SIGNAL_MSI (each call must return 1: translation cache →
 *   vgic pending latch → ap_list → kick), then runs the VM until it is idle: every vCPU wakes, the list registers
 *   are flushed, the IRQ vector reads ICC_IAR1_EL1 and writes ICC_EOIR1_EL1 (both untrapped) and counts, and the
 *   LRs are folded. Value: LPIs acknowledged *and* completed by the guest per wall-clock second (the guest's own
 *   counters must equal the MSIs sent), the median of 5 windows measured after a warm-up, interleaved with core's
 *   minimal hand-written interrupt loop ({@link minimalIrqRate}, the baseline of every interrupt benchmark). Two
 *   more rows split the wall time per LPI into `inject` (the signalMsi loop) and `run` (everything vm.run() does:
 *   wakes, flushes, the guest's vector, exits, folds, scheduling), each beside the minimal loop's time per
 *   interrupt, in repetitions of their own after the headline's (min/median/max over them).
 *   What-if knobs: `--lrs=N` (list registers per vCPU, 1..16; default 4) and `--lookahead=NS` (the VM's
 *   conservative lookahead; default the cost profile's ipiLatency) change the model under test; rows measured
 *   with a knob say so in their name.
 * - **save / restore** of 64k devices × 32 events (4k with `--quick`): one untimed SAVE_TABLES backs the ITTs'
 *   pages, then, warmed up, repetitions of the timed SAVE_TABLES, CTRL_RESET with the BASERs re-programmed, and
 *   the timed RESTORE_TABLES, in seconds (min/median/max), interleaved with the minimal hand-written table
 *   save/restore of the same entries (support/its-bench-vm.ts MinimalItsTables), the baseline.
 *
 * Each scenario runs in a process of its own (`--scenario=<n>` runs one and prints its JSON). In one process,
 * the JIT's code for the model is shaped by the VMs that ran before (hidden classes, inlined call targets), and
 * the second lpi-stress VM ran 5-10% slower than the same VM alone; `--same-process` measures that way.
 *
 * @module
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import {
  benchArgs,
  benchRow,
  DAIF,
  GuestAsm,
  Hypervisor,
  interleaved,
  minimalIrqRate,
  MINIMAL_LOOP_IRQS,
  printBench,
  spread,
  type BenchmarkEntry,
  type Msi,
  type Vm,
} from '@irqflow/core';
import { VgicPlugin } from '../plugin';
import { bareItsVm, ITS_BENCH, mapc, mapd, mapti, timeSaveRestore } from './support/its-bench-vm';
import type { ItsKvmDevice } from '../its';

/** Maps D devices × E events (LPI 8192 + i mod 57344), collections round-robin over V vCPUs. */
function populate(dev: ItsKvmDevice, d: number, e: number, v: number): void {
  for (let c = 0; c < v; c++) mapc(dev, c);
  const bits = Math.max(1, Math.ceil(Math.log2(e)));
  for (let i = 0; i < d; i++) {
    mapd(dev, i, bits, ITS_BENCH.ITT + i * e * 8);
    for (let j = 0; j < e; j++) mapti(dev, i, j, 8192 + ((i * e + j) % 57344), (i * e + j) % v);
  }
}

type Result = BenchmarkEntry;

/**
 * Model knobs of the lpi-stress scenarios (`--lrs=N`, `--lookahead=NS`): what-if experiments on the hardware and
 * the scheduler. Unset, the model's defaults apply (4 list registers; the cost profile's ipiLatency as
 * lookahead), which are what the default rows report.
 */
export interface LpiKnobs {
  /** List registers per vCPU (ICH_VTR_EL2.ListRegs + 1, 1..16). */
  nrLrs?: number;
  /** The VM's conservative lookahead in ns (0 = lockstep). */
  lookaheadNs?: number;
}

/** The knobs as a name suffix: empty for the defaults, so default runs keep their historical names. */
function knobSuffix(k: LpiKnobs): string {
  const parts: string[] = [];
  if (k.nrLrs !== undefined) parts.push(`${k.nrLrs} LR${k.nrLrs === 1 ? '' : 's'}`);
  if (k.lookaheadNs !== undefined) parts.push(`lookahead ${k.lookaheadNs} ns`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** An lpi-stress VM, set up and idle, ready for rounds (the LPI allocation test's probe drives one too). */
export interface LpiStress {
  /** The VM. */
  readonly vm: Vm;
  /** One MSI per (device, event). */
  readonly msis: readonly Msi[];
  /** MSIs signalled so far. */
  readonly sent: number;
  /** Signals every MSI once; each KVM_SIGNAL_MSI must return 1. */
  inject(): void;
  /** One round: {@link inject}, then run the VM until it is idle. */
  round(): void;
  /** LPIs the guests have acknowledged and completed. */
  completed(): number;
}

/**
 * Builds the lpi-stress VM: a "gic-v3" VM with `v` vCPUs whose vCPU 0 maps `d` devices × `e` events through the
 * ITS (targets round-robin), and an IRQ vector on every vCPU that acknowledges, completes and counts each LPI.
 * Runs the setup until idle. @throws Error if an LPI arrived during the setup
 */
export function lpiStressVm(d: number, e: number, v: number, knobs: LpiKnobs = {}): LpiStress {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  const vm = hv.createVm(knobs.lookaheadNs !== undefined ? { lookaheadNs: knobs.lookaheadNs } : {});
  for (let i = 0; i < v; i++) vm.createVcpu();
  const drv = hv.irqchip('gic-v3').setup(vm, knobs.nrLrs !== undefined ? { nrLrs: knobs.nrLrs } : {});
  const msis: Msi[] = [];
  vm.vcpus.forEach((cpu, i) => {
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    if (i === 0) {
      for (let dev = 0; dev < d; dev++)
        for (let ev = 0; ev < e; ev++)
          msis.push(drv.emitMsiSetup!(a, { devid: dev, event: ev, intid: 8192 + dev * e + ev, target: (dev * e + ev) % v }));
    }
    a.movi(5, 0).daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq').mrs(9, 'ICC_IAR1_EL1').beqi(9, 1023, 'out').msr('ICC_EOIR1_EL1', 9).addi(5, 5, 1).label('out').eret();
    cpu.setProgram(a.build());
  });
  vm.run();
  const n = msis.length;
  const s = {
    vm,
    msis,
    sent: 0,
    inject(): void {
      for (let k = 0; k < n; k++) if (vm.signalMsi(msis[k]) !== 1) throw new Error('signalMsi did not return 1');
      s.sent += n;
    },
    round(): void {
      s.inject();
      vm.run();
    },
    completed(): number {
      let c = 0;
      for (const cpu of vm.vcpus) c += cpu.x(5);
      return c;
    },
  };
  if (s.completed() !== 0) throw new Error('spurious LPIs during setup');
  return s;
}

/**
 * End-to-end lpi-stress: LPIs acknowledged and completed by the guest per second, then where the time went —
 * host-side injection (KVM_SIGNAL_MSI through the translation cache to the ap_list) and the run (wake, flush,
 * the guest's IRQ vector, exits, fold) — in ns per LPI beside the hand-written loop's ns per LPI.
 */
function lpiStressE2e(d: number, e: number, v: number, seconds: number, knobs: LpiKnobs = {}): Result[] {
  const s = lpiStressVm(d, e, v, knobs);
  const n = s.msis.length;
  const reps = 5;
  // one repetition: whole rounds for a fifth of the time, LPIs per second
  const window = (): number => {
    const base0 = s.sent;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < (seconds * 1000) / reps) {
      for (let i = 0; i < 20; i++) s.round();
      t = performance.now();
    }
    return ((s.sent - base0) / (t - t0)) * 1000;
  };
  const r = interleaved(window, () => minimalIrqRate(MINIMAL_LOOP_IRQS), { reps, warmUp: { minMs: seconds * 200, maxMs: seconds * 2000 } });
  const baseline = spread(r.reference).median;
  // The split, in a window of its own so that its clock reads do not slow the headline figure: injection time is
  // read around each round's signalMsi loop, less the cost of the clock read itself (calibrated here).
  let clockCost = Infinity; // the cheapest of several calibrations: the first ones run before the JIT has warmed up
  for (let rep = 0; rep < 5; rep++) {
    const c0 = performance.now();
    for (let i = 0; i < 20000; i++) performance.now();
    clockCost = Math.min(clockCost, (performance.now() - c0) / 20000);
  }
  // `reps` split windows (the VM is warm from the windows above), so the split has a spread too
  const injectNs: number[] = [];
  const runNs: number[] = [];
  for (let w = 0; w < reps; w++) {
    let injectMs = 0;
    const split0 = s.sent;
    const s0 = performance.now();
    let s1 = s0;
    while (s1 - s0 < (seconds * 500) / reps) {
      for (let i = 0; i < 20; i++) {
        const a = performance.now();
        s.inject();
        injectMs += performance.now() - a - clockCost;
        s.vm.run();
      }
      s1 = performance.now();
    }
    const splitLpis = s.sent - split0;
    const totalNs = ((s1 - s0) * 1e6) / splitLpis;
    const inj = Math.max(0, (injectMs * 1e6) / splitLpis);
    injectNs.push(inj);
    runNs.push(totalNs - inj - (2 * clockCost * 1e6) / n); // two clock reads per round of n LPIs
  }
  const c = s.completed();
  if (c !== s.sent) throw new Error(`guest completed ${c} of ${s.sent} LPIs`);
  const name = `lpi-stress ${d}x${e}x${v}`;
  const sfx = knobSuffix(knobs);
  const baseNs = 1e9 / baseline;
  return [
    benchRow(`${name} end to end${sfx}`, 'LPIs/s', 'higher', r.model, baseline),
    benchRow(`${name} inject${sfx}`, 'ns/LPI', 'lower', injectNs, baseNs),
    benchRow(`${name} run${sfx}`, 'ns/LPI', 'lower', runNs, baseNs),
  ];
}

function saveRestore(d: number, e: number, quick: boolean): Result[] {
  const { dev } = bareItsVm({ vcpus: 4, ramSize: 0x4000_0000 });
  populate(dev, d, e, 4);
  const t = timeSaveRestore(
    dev,
    d,
    e,
    quick ? { reps: 3, warmUp: { minMs: 0, maxMs: 500 } } : { reps: 5, warmUp: { minMs: 0, maxMs: 2000 } },
  );
  const med = (xs: number[]): number => spread(xs).median;
  const both = (a: number[], b: number[]): number[] => a.map((x, i) => x + b[i]);
  return [
    benchRow(`save ${d} devices x ${e} events`, 's', 'lower', t.save, med(t.minSave)),
    benchRow(`restore ${d} devices x ${e} events`, 's', 'lower', t.restore, med(t.minRestore)),
    benchRow(`save + restore ${d} devices x ${e} events`, 's', 'lower', both(t.save, t.restore), med(both(t.minSave, t.minRestore))),
  ];
}

/** The scenarios, in report order. */
function scenarios(quick: boolean, knobs: LpiKnobs): (() => Result[])[] {
  const secs = quick ? 0.3 : 1.5;
  return [
    () => lpiStressE2e(1, 1, 16, secs, knobs),
    () => lpiStressE2e(16, 16, 16, secs, knobs),
    () => saveRestore(quick ? 4096 : 65536, 32, quick),
  ];
}

/** `--name=value` as a number, or undefined when absent. @throws Error for a value that is not a number */
function numArg(name: string): number | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  const v = Number(a.slice(name.length + 3));
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number: ${a}`);
  return v;
}

/** Runs scenario `i` in a fresh node process (with this process's knobs) and returns its results. */
function inChild(i: number, quick: boolean): Result[] {
  const knobArgs = process.argv.filter((a) => a.startsWith('--lrs=') || a.startsWith('--lookahead='));
  const args = [__filename, `--scenario=${i}`, ...(quick ? ['--quick'] : []), ...knobArgs];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`scenario ${i} failed (${r.signal ?? `exit ${r.status}`})`);
  return (JSON.parse(r.stdout) as { benchmarks: Result[] }).benchmarks;
}

function main(): void {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const only = process.argv.find((a) => a.startsWith('--scenario='));
  const all = scenarios(quick, { nrLrs: numArg('lrs'), lookaheadNs: numArg('lookahead') });
  if (only !== undefined) {
    process.stdout.write(JSON.stringify({ benchmarks: all[Number(only.slice('--scenario='.length))]() }) + '\n');
    return;
  }
  const same = process.argv.includes('--same-process');
  const results: Result[] = [];
  all.forEach((run, i) => results.push(...(same ? run() : inChild(i, quick))));
  if (json) {
    process.stdout.write(JSON.stringify({ benchmarks: results }) + '\n');
    return;
  }
  printBench(benchArgs(process.argv.slice(2)), results);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    // a bad knob (not a number, or a value the model refuses, e.g. --lrs=17 → EINVAL) is a usage error
    console.error(`its.bench: ${(err as Error).message}`);
    process.exit(2);
  }
}
