/**
 * Benchmark of the model on the catalog's workloads: wall-clock interrupts per second for each registered
 * controller on the ipi-pingpong and virtio-msi workloads (`irqflow run`'s workloads, scaled up), against core's
 * minimal hand-written interrupt loop ({@link minimalIrqRate}; ratio = model / minimal loop). Plain node script:
 * `node dist/bench/workloads.bench.js [--json] [--quick] [--filter NAME]`.
 *
 * Every controller runs in a node process of its own (`--scenario=N`), so none inherits code V8 optimised for
 * another. In it, each workload is warmed up, then measured in repetitions interleaved with the minimal loop. A
 * repetition times only the workload's run: from every vCPU past the start barrier to the last interrupt's run
 * slice ({@link workloadRate}), not the VM's creation, assembly, routing or bring-up.
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
import type { Component, Workload } from '../workloads/workload';

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
 * One repetition: interrupts per wall-clock second of `workload` on `irqchip`, timed from the moment every vCPU
 * has passed the workload's start barrier (the harness's hostStart: devices start firing) to the end of the run
 * slice in which the last planned interrupt was delivered. VM creation, guest assembly, routing and the guests'
 * bring-up are outside the window.
 * @returns NaN if the run is not ok (unsupported, error)
 */
export function workloadRate(hv: Hypervisor, w: Workload, irqchip: string): number {
  let t0 = 0n;
  let t1 = 0n;
  // a component of no interrupts whose only job is to read the clock when the measured part starts
  const clock: Component = {
    name: 'bench-clock',
    intids: [],
    path: 'bench-clock',
    hostStart: () => void (t0 = process.hrtime.bigint()),
    onIrq: () => {},
    sent: 0,
    delivered: 0,
    planned: 0,
  };
  const timed: Workload = { ...w, components: (ctx) => [...w.components(ctx), clock] };
  const r = runWorkload(hv, timed, {
    irqchip,
    durationNs: 10e9,
    onProgress: (done) => {
      if (done >= 1 && t1 === 0n) t1 = process.hrtime.bigint();
    },
  });
  if (r.status !== 'ok' || r.interrupts === 0 || t0 === 0n || t1 <= t0) return NaN;
  return (r.interrupts * 1e9) / Number(t1 - t0);
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
      () => {
        // the harness's "ok" means every planned interrupt was sent and the guest received each one
        const x = workloadRate(hv, w, irqchip);
        if (Number.isNaN(x)) throw new Error(`${name}: a repetition did not complete`);
        return x;
      },
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
