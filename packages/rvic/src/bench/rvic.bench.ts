/**
 * rVIC benchmark (ARM-DEN-0103 rVIC/rVID; the 2020 series asked for figures nobody published). Run by
 * `npm run bench`; `--json` prints one JSON document; `--n N` sets interrupts per simulated run (default 2000);
 * `--quick` shorter wall-clock runs.
 *
 * - simulated: an IPI ping-pong and a device-MSI workload on rVIC under every cost profile — exits per
 *   interrupt and simulated ns per interrupt (these come out of the model; nothing composite is a constant);
 * - benchmarks: the model's wall-clock throughput (interrupts/s) for each workload, 40,000 interrupts per
 *   repetition (timed from the end of the guest's set-up to its last interrupt: the VM's creation and boot are
 *   outside the window) after a warm-up, interleaved with core's minimal hand-written interrupt loop
 *   ({@link minimalIrqRate}; ratio = model / minimal loop), in core's row shape;
 * - scaling: pending device interrupts 16 → 480 against 1, and vCPUs 8 → 512 against 2 (core's
 *   {@link scalingRows}), each family in a process of its own (`--scenario=N`).
 *
 * @module
 */
import 'reflect-metadata';
import {
  benchArgs,
  benchRow,
  Hypervisor,
  interleaved,
  minimalIrqRate,
  MINIMAL_LOOP_IRQS,
  printBench,
  scalingRows,
  scenarioArg,
  scenarioInChild,
  spread,
  type BenchmarkEntry,
  type ScalingFamily,
} from '@irqflow/core';
import { RVIC_BOARD_TRUSTED } from '../rvic-irqchip';
import { RvicPlugin } from '../plugin';
import { deviceMsi, ipiPingPong, type WorkloadResult } from '../workloads';

/** One throughput result (core's bench shape). */
export type BenchResult = BenchmarkEntry;

/** Device interrupt INTID → its rVID input, the KVM_IRQ_LINE line number. */
const inputOf = (intid: number): number => intid - RVIC_BOARD_TRUSTED;

/** The scaling families, in report order. */
function families(quick: boolean): ScalingFamily[] {
  return quick
    ? [
        { grows: 'spi', points: [16] },
        { grows: 'vcpus', points: [8] },
      ]
    : [
        { grows: 'spi', points: [16, 64, 256, 480] },
        { grows: 'vcpus', points: [8, 64, 512] },
      ];
}

/** Runs the benchmark; prints a table or JSON. */
export function main(argv: readonly string[] = process.argv.slice(2)): void {
  const args = benchArgs(argv);
  const only = scenarioArg(argv);
  if (only !== undefined) {
    const hv = new Hypervisor({ traceCapacity: 16 }).use(RvicPlugin);
    const o = args.quick ? { repMs: 10, reps: 3, warmUp: { minMs: 30, maxMs: 300 } } : { warmUp: { minMs: 200, maxMs: 1500 } };
    printBench({ ...args, json: true }, scalingRows(hv, 'rvic', families(args.quick)[only], { ...o, lineOf: inputOf }));
    return;
  }
  const ni = argv.indexOf('--n');
  const n = ni >= 0 ? Math.max(1, Number(argv[ni + 1]) || 2000) : 2000;
  const profiles = new Hypervisor({ traceCapacity: 16 }).costProfiles.map((p) => p.name);
  const simulated: WorkloadResult[] = [];
  for (const p of profiles) {
    simulated.push(ipiPingPong([RvicPlugin], 'rvic', p, n));
    simulated.push(deviceMsi([RvicPlugin], 'rvic', p, n));
  }
  const wallN = args.quick ? 2_000 : 40_000;
  const reps = args.quick ? 3 : 5;
  const warm = args.quick ? { minMs: 50, maxMs: 500 } : {};
  const row = (name: string, model: () => number): BenchResult => {
    const r = interleaved(model, () => minimalIrqRate(MINIMAL_LOOP_IRQS), { reps, warmUp: warm });
    return benchRow(name, 'irq/s', 'higher', r.model, spread(r.reference).median);
  };
  // a repetition builds its VM, then times from the end of the guest's set-up to its last interrupt (workloads.ts)
  const wall = (r: WorkloadResult, want: number): number => {
    if (r.interrupts !== want || !(r.irqsPerSecWall > 0)) throw new Error(`rvic ${r.workload}: ${r.interrupts} of ${want} interrupts`);
    return r.irqsPerSecWall;
  };
  const benchmarks: BenchResult[] = [
    row('rvic ipi ping-pong (wall)', () => wall(ipiPingPong([RvicPlugin], 'rvic', 'gicv3-vhe', wallN >> 1), 2 * (wallN >> 1))),
    row('rvic device msi (wall)', () => wall(deviceMsi([RvicPlugin], 'rvic', 'gicv3-vhe', wallN), wallN)),
  ];
  families(args.quick).forEach((_, i) => benchmarks.push(...scenarioInChild(__filename, i, args.quick ? ['--quick'] : [])));
  if (args.json) {
    printBench(args, benchmarks, { simulated });
    return;
  }
  console.log(`rVIC, ${n} interrupts per run (simulated)`);
  console.log('workload        profile              irqs  exits/irq  sim ns/irq');
  for (const r of simulated)
    console.log(
      `${r.workload.padEnd(15)} ${r.profile.padEnd(18)} ${String(r.interrupts).padStart(6)} ${r.exitsPerIrq.toFixed(2).padStart(10)} ${r.simNsPerIrq.toFixed(0).padStart(11)}`,
    );
  printBench(args, benchmarks);
}

if (require.main === module) main();
