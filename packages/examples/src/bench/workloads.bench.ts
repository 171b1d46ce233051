/**
 * Benchmark of the model on the catalog's workloads: wall-clock interrupts per second for each registered
 * controller on the ipi-pingpong and virtio-msi workloads (`irqflow run`'s workloads, scaled up), against core's
 * minimal hand-written interrupt loop ({@link minimalIrqRate}; ratio = model / minimal loop). Plain node script:
 * `node dist/bench/workloads.bench.js [--json] [--quick] [--filter NAME]`.
 *
 * Every controller runs in a node process of its own (`--scenario=N`), so none inherits code V8 optimised for
 * another. In it, each workload is warmed up, then measured in repetitions interleaved with the minimal loop. A
 * repetition subtracts the time of the same run stopped at simulated time 1 ns (VM creation, guest assembly,
 * routing), so the figure is the run itself.
 *
 * @module
 */
import {
  benchArgs,
  benchRow,
  interleaved,
  minimalIrqRate,
  MINIMAL_LOOP_IRQS,
  printBench,
  scenarioArg,
  scenarioInChild,
  spread,
  type BenchmarkEntry,
  type Hypervisor,
} from '@irqflow/core';
import { createHypervisor } from '../hypervisor-factory';
import { IPI_PINGPONG, VIRTIO_MSI } from '../workloads/catalog';
import { IpiPingPong, MsiDevice } from '../workloads/components';
import { runWorkload } from '../workloads/harness';
import type { Workload } from '../workloads/workload';

/**
 * The workloads measured, in report order: the catalog's ipi-pingpong and virtio-msi with 50× their interrupts
 * (10,000 round trips; 5,000 MSIs per queue; 5× with `quick`), so a run is long enough to time.
 */
export function benchWorkloads(quick = false): Workload[] {
  const x = quick ? 5 : 50;
  return [
    { ...IPI_PINGPONG, components: (ctx) => [new IpiPingPong(ctx, 200 * x)] },
    { ...VIRTIO_MSI, components: (ctx) => [new MsiDevice(ctx, 100 * x, 2000, 0, 0)] },
  ];
}

/** Row name of workload `w` on `irqchip`. */
const rowName = (w: Workload, irqchip: string): string => `model/${w.name}/${irqchip}`;

/**
 * One repetition: interrupts per wall-clock second of `workload` on `irqchip`, the setup's time subtracted.
 * @returns NaN if the run is not ok (unsupported, error)
 */
export function workloadRate(hv: Hypervisor, w: Workload, irqchip: string): number {
  const t0 = process.hrtime.bigint();
  runWorkload(hv, w, { irqchip, durationNs: 1 });
  const t1 = process.hrtime.bigint();
  const r = runWorkload(hv, w, { irqchip, durationNs: 10e9 });
  const t2 = process.hrtime.bigint();
  if (r.status !== 'ok' || r.interrupts === 0) return NaN;
  const ns = Math.max(1, Number(t2 - t1) - Number(t1 - t0));
  return (r.interrupts * 1e9) / ns;
}

/** The rows of one controller (in this process). */
export function controllerRows(irqchip: string, quick: boolean, filter?: string): BenchmarkEntry[] {
  const { hv } = createHypervisor({ traceCapacity: 1 });
  const rows: BenchmarkEntry[] = [];
  for (const w of benchWorkloads(quick)) {
    const name = rowName(w, irqchip);
    if (filter && !name.includes(filter)) continue;
    if (Number.isNaN(workloadRate(hv, w, irqchip))) continue;
    const r = interleaved(
      () => workloadRate(hv, w, irqchip),
      () => minimalIrqRate(MINIMAL_LOOP_IRQS),
      quick ? { reps: 3, warmUp: { minMs: 30, maxMs: 300 } } : { reps: 5, warmUp: { minMs: 300, maxMs: 2000 } },
    );
    rows.push(benchRow(name, 'irq/s', 'higher', r.model, spread(r.reference).median));
  }
  return rows;
}

/** The registered controllers, in report order. */
export function controllers(): string[] {
  return createHypervisor({ traceCapacity: 1 }).hv.irqchipDescriptors.map((d) => d.name);
}

/* istanbul ignore next */
if (require.main === module) {
  const argv = process.argv.slice(2);
  const args = benchArgs(argv);
  const only = scenarioArg(argv);
  const chips = controllers();
  if (only !== undefined) printBench({ ...args, json: true }, controllerRows(chips[only], args.quick, args.filter));
  else {
    const pass = [...(args.quick ? ['--quick'] : []), ...(args.filter ? [`--filter=${args.filter}`] : [])];
    const wanted = (c: string): boolean => !args.filter || benchWorkloads().some((w) => rowName(w, c).includes(args.filter!));
    printBench(
      args,
      chips.flatMap((c, i) => (wanted(c) ? scenarioInChild(__filename, i, pass) : [])),
    );
  }
}
