/**
 * rVIC benchmark (ARM-DEN-0103 rVIC/rVID; the 2020 series asked for figures nobody published). Run by
 * `npm run bench`; `--json` prints one JSON document; `--n N` sets interrupts per run (default 2000).
 *
 * - simulated: an IPI ping-pong and a device-MSI workload on rVIC under every cost profile — exits per
 *   interrupt and simulated ns per interrupt (these come out of the model; nothing composite is a constant);
 * - benchmarks: the model's wall-clock throughput (interrupts/s) for each workload beside a minimal
 *   hand-written JavaScript loop doing the same logical work (an intrusive FIFO over typed arrays: signal,
 *   pop, mask, unmask, count), with the ratio model / hand-written, in core's BenchResult shape.
 *
 * @module
 */
import 'reflect-metadata';
import { Hypervisor, medianOf, type BenchmarkEntry } from '@irqflow/core';
import { RvicPlugin } from '../plugin';
import { deviceMsi, ipiPingPong, type WorkloadResult } from '../workloads';

/** One throughput result (core's bench shape). */
export type BenchResult = BenchmarkEntry;

let sink = 0;

/** The hand-written loop: n interrupts through a typed-array FIFO with pending/masked flags. */
function handWritten(n: number): number {
  const size = 256;
  const flags = new Uint8Array(size).fill(2);
  const next = new Int32Array(size).fill(-1);
  let head = -1;
  let tail = -1;
  let acked = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const intid = 32 + (i & 63);
    flags[intid] &= ~2; // unmask
    flags[intid] |= 1; // signal
    next[intid] = -1;
    if (tail < 0) head = intid;
    else next[tail] = intid;
    tail = intid;
    const got = head; // acknowledge
    head = next[got];
    if (head < 0) tail = -1;
    flags[got] = (flags[got] & ~1) | 2;
    acked++;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  sink += acked;
  return n / Math.max(s, 1e-9);
}


/** Runs the benchmark; prints a table or JSON. */
export function main(argv: readonly string[] = process.argv.slice(2)): void {
  const json = argv.includes('--json');
  const ni = argv.indexOf('--n');
  const n = ni >= 0 ? Math.max(1, Number(argv[ni + 1]) || 2000) : 2000;
  const profiles = new Hypervisor().costProfiles.map((p) => p.name);
  const simulated: WorkloadResult[] = [];
  for (const p of profiles) {
    simulated.push(ipiPingPong([RvicPlugin], 'rvic', p, n));
    simulated.push(deviceMsi([RvicPlugin], 'rvic', p, n));
  }
  const base = medianOf(3, () => handWritten(n * 50));
  const ipi = medianOf(3, () => ipiPingPong([RvicPlugin], 'rvic', 'gicv3-vhe', n).irqsPerSecWall);
  const msi = medianOf(3, () => deviceMsi([RvicPlugin], 'rvic', 'gicv3-vhe', n).irqsPerSecWall);
  const benchmarks: BenchResult[] = [
    { name: 'rvic ipi ping-pong (wall)', value: ipi, unit: 'irq/s', baseline: base, ratio: ipi / base },
    { name: 'rvic device msi (wall)', value: msi, unit: 'irq/s', baseline: base, ratio: msi / base },
  ];
  if (json) {
    console.log(JSON.stringify({ benchmarks, simulated }, null, 2));
    return;
  }
  console.log(`rVIC, ${n} interrupts per run (simulated)`);
  console.log('workload        profile              irqs  exits/irq  sim ns/irq');
  for (const r of simulated)
    console.log(
      `${r.workload.padEnd(15)} ${r.profile.padEnd(18)} ${String(r.interrupts).padStart(6)} ${r.exitsPerIrq.toFixed(2).padStart(10)} ${r.simNsPerIrq.toFixed(0).padStart(11)}`,
    );
  console.log('benchmark                      model           hand-written     ratio');
  for (const b of benchmarks)
    console.log(`${b.name.padEnd(30)} ${`${b.value.toFixed(0)} ${b.unit}`.padEnd(15)} ${`${b.baseline.toFixed(0)} ${b.unit}`.padEnd(16)} ${b.ratio.toFixed(4)}`);
  if (sink === -1) console.log('');
}

if (require.main === module) main();
