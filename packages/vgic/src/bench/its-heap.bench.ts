/**
 * Heap held by the ITS per mapped event (Arm IHI 0069 5.2: the ITEs an ITS holds; KVM's struct its_ite and
 * struct vgic_irq). Run as plain node; `--json` prints exactly one JSON document
 * `{"benchmarks":[…]}` in core's row format on stdout and nothing else.
 *
 * A "gic-v3" VM (vGICv3 + one ITS) maps D devices × E events (MAPD with ⌈log2 E⌉ EventID bits, MAPTI of events
 * 0..E-1, LPI 8192 + (d·E + e) mod 57344 — the LPI space holds 57 344 LPIs, so LPIs are shared beyond that;
 * collections round-robin over 4 vCPUs). The figure is V8's used heap after a full GC with the state mapped,
 * minus the same VM before any MAPD, divided by D × E. It is measured with `global.gc` in a node process of its
 * own started with `--expose-gc` (the bench re-runs itself that way), so nothing else lives in the heap.
 * Baseline: the 64 bytes per mapped event target (ratio = value / 64; lower is better). The probe runs `--reps`
 * times (3; 1 with `--quick`), each in a fresh process; the row is their min/median/max (a heap figure barely
 * varies, but the row says so rather than assuming it).
 *
 * Options: `--devices=D` (65536), `--events=E` (32), `--reps=N`.
 *
 * @module
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { benchArgs, benchRow, printBench } from '@irqflow/core';
import { gicItsVm, ITS_BENCH, itsBenchRamSize, mapc, mapd, mapti } from './support/its-bench-vm';

const VCPUS = 4;
/** The target, in bytes per mapped event. */
export const HEAP_TARGET_BYTES_PER_EVENT = 64;

function usedHeapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Bytes of heap per mapped event for `devices` × `events` (needs `--expose-gc`).
 * @example
 * ```ts
 * // node --expose-gc: the ITS of a 4-vCPU VM with 1024 devices × 32 events
 * const { bytesPerEvent } = heapPerMappedEvent(1024, 32);
 * ```
 */
export function heapPerMappedEvent(devices: number, events: number): { bytesPerEvent: number; ites: number } {
  const bits = Math.max(1, Math.ceil(Math.log2(events)));
  const { its } = gicItsVm({ vcpus: VCPUS, ramSize: itsBenchRamSize(devices * 2 ** bits * 8) });
  for (let c = 0; c < VCPUS; c++) mapc(its, c);
  const before = usedHeapAfterGc();
  for (let d = 0; d < devices; d++) {
    mapd(its, d, bits, ITS_BENCH.ITT + d * 2 ** bits * 8);
    for (let e = 0; e < events; e++) mapti(its, d, e, 8192 + ((d * events + e) % 57344), (d * events + e) % VCPUS);
  }
  const after = usedHeapAfterGc();
  const ites = its.its.iteCount;
  if (ites !== devices * events) throw new Error(`mapped ${ites} of ${devices * events} events`);
  return { bytesPerEvent: (after - before) / ites, ites };
}

function opt(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.slice(name.length + 3));
}

function main(): void {
  const args = benchArgs(process.argv.slice(2));
  const devices = opt('devices', 65536);
  const events = opt('events', 32);
  if (process.argv.includes('--measure')) {
    process.stdout.write(JSON.stringify(heapPerMappedEvent(devices, events)) + '\n');
    return;
  }
  const samples: number[] = [];
  for (let i = 0, reps = opt('reps', args.quick ? 1 : 3); i < reps; i++) {
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=4096', __filename, '--measure', `--devices=${devices}`, `--events=${events}`],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`heap probe failed: ${r.stderr}`);
    samples.push((JSON.parse(r.stdout) as { bytesPerEvent: number }).bytesPerEvent);
  }
  const row = benchRow(
    `its heap per mapped event, ${devices} devices x ${events} events`,
    'B/event',
    'lower',
    samples,
    HEAP_TARGET_BYTES_PER_EVENT,
  );
  printBench(args, [row]);
}

if (require.main === module) main();
