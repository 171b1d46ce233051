/**
 * Benchmark of the model itself: wall-clock time the simulator needs per delivered interrupt, for each
 * registered controller on the ipi-pingpong and virtio-msi workloads. The baseline is the fastest
 * controller measured in the same run (ratio 1.00). Plain node script: `node dist/bench/workloads.js [--json]
 * [--filter NAME]`.
 *
 * @module
 */
import { createHypervisor } from '../hypervisor-factory';
import { findWorkload } from '../workloads/catalog';
import { runWorkload } from '../workloads/harness';

/** Runs the benchmark and returns its entries. */
export function benchWorkloads(filter?: string): { name: string; value: number; unit: string; baseline: number; ratio: number }[] {
  const { hv } = createHypervisor({ traceCapacity: 1 });
  const raw: { name: string; value: number }[] = [];
  for (const wname of ['ipi-pingpong', 'virtio-msi']) {
    const w = findWorkload(wname)!;
    for (const d of hv.irqchipDescriptors) {
      const name = `model/${wname}/${d.name}`;
      if (filter && !name.includes(filter)) continue;
      let best = Infinity;
      for (let rep = 0; rep < 3; rep++) {
        const t0 = process.hrtime.bigint();
        const r = runWorkload(hv, w, { irqchip: d.name });
        const ns = Number(process.hrtime.bigint() - t0);
        if (r.status !== 'ok' || r.interrupts === 0) {
          best = NaN;
          break;
        }
        best = Math.min(best, ns / r.interrupts);
      }
      if (Number.isFinite(best)) raw.push({ name, value: best / 1000 });
    }
  }
  const baseline = Math.min(...raw.map((r) => r.value));
  return raw.map((r) => ({ name: r.name, value: +r.value.toFixed(3), unit: 'us/irq (wall)', baseline: +baseline.toFixed(3), ratio: +(r.value / baseline).toFixed(2) }));
}

/* istanbul ignore next */
if (require.main === module) {
  const args = process.argv.slice(2);
  const fi = args.indexOf('--filter');
  const entries = benchWorkloads(fi >= 0 ? args[fi + 1] : undefined);
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ benchmarks: entries }) + '\n');
  else for (const e of entries) console.log(`${e.name.padEnd(36)} ${e.value.toFixed(3).padStart(10)} ${e.unit}  x${e.ratio.toFixed(2)}`);
}
