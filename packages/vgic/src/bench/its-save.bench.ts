/**
 * ITS save/restore cost when devices share (alias) one ITT (KVM_DEV_ARM_ITS_SAVE_TABLES / RESTORE_TABLES,
 * Documentation/virt/kvm/devices/arm-vgic-its.rst; run as plain node, `--json` prints exactly one JSON document
 * `{"benchmarks":[…]}` in core's row format on stdout and nothing else; `--quick` smaller and fewer repetitions).
 *
 * A VM with one ITS maps D devices with 2^B EventIDs each and E events per device, spread over the event space
 * (event (e+1)·2^B/E − 1, so a restore walk steps over invalid entries across the whole ITT; LPI 8192 + (d·E + e)
 * mod 57344, one collection). `aliased`: every device's MAPD names the same ITT (a guest may do that; the
 * architecture leaves the result UNPREDICTABLE, so it must not cost more than distinct ITTs); `distinct`: each
 * device has its own ITT. One untimed SAVE_TABLES backs the ITTs' pages; then, warmed up, repetitions of the timed
 * SAVE_TABLES, CTRL_RESET, the registers written back and the timed RESTORE_TABLES, interleaved with the minimal
 * hand-written table save/restore of the same D × E entries (support/its-bench-vm.ts MinimalItsTables, the
 * baseline of the save and restore rows). Rows: seconds (min/median/max) for save and for restore of each layout
 * against that baseline; the last row is a comparison, the aliased save + restore against the distinct one as
 * baseline (medians of processes of their own; ratio ≤ 1 is the goal: work linear in what is mapped).
 *
 * Options: `--devices=D` (8192; 1024 with --quick), `--bits=B` (12), `--events=E` (4), `--itts=N` (aliased: N
 * shared ITTs, 1), `--reps=N` (5; 3 with --quick). Each layout runs in a process of its own
 * (`--scenario=aliased|distinct`).
 *
 * @module
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { benchArgs, benchRow, printBench, spread, type BenchmarkEntry, type InterleaveOptions, type Vm } from '@irqflow/core';
import type { ItsKvmDevice } from '../its';
import { bareItsVm, ITS_BENCH, itsBenchRamSize, mapc, mapd, mapti, timeSaveRestore, type SaveRestoreTimes } from './support/its-bench-vm';

interface Opts {
  devices: number;
  bits: number;
  events: number;
  itts: number;
}

/** The ITS state of the scenario: D devices (aliased over `itts` ITTs, or one ITT each) × E events. */
export function aliasedIttVm(aliased: boolean, o: Opts): { vm: Vm; dev: ItsKvmDevice } {
  const span = 2 ** o.bits * 8;
  const { vm, dev } = bareItsVm({ vcpus: 1, ramSize: itsBenchRamSize(o.devices * span), ptz: true });
  mapc(dev, 0);
  for (let d = 0; d < o.devices; d++) {
    const itt = aliased ? ITS_BENCH.ITT + (d % o.itts) * span : ITS_BENCH.ITT + d * span;
    mapd(dev, d, o.bits, itt);
    for (let e = 0; e < o.events; e++)
      mapti(dev, d, (e + 1) * Math.floor(2 ** o.bits / o.events) - 1, 8192 + ((d * o.events + e) % 57344), 0);
  }
  return { vm, dev };
}

function opt(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.slice(name.length + 3));
}

function options(quick: boolean): Opts {
  return { devices: opt('devices', quick ? 1024 : 8192), bits: opt('bits', 12), events: opt('events', 4), itts: opt('itts', 1) };
}

function runScenario(which: string, quick: boolean): SaveRestoreTimes {
  const o = options(quick);
  const { dev } = aliasedIttVm(which === 'aliased', o);
  const io: InterleaveOptions = {
    reps: opt('reps', quick ? 3 : 5),
    warmUp: quick ? { minMs: 0, maxMs: 500 } : { minMs: 0, maxMs: 2000 },
  };
  return timeSaveRestore(dev, o.devices, o.events, io);
}

function inChild(which: string): SaveRestoreTimes {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--scenario=') && a !== '--json');
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', __filename, `--scenario=${which}`, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`scenario ${which} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SaveRestoreTimes;
}

function main(): void {
  const args = benchArgs(process.argv.slice(2));
  const only = process.argv.find((a) => a.startsWith('--scenario='));
  if (only !== undefined) {
    process.stdout.write(JSON.stringify(runScenario(only.slice('--scenario='.length), args.quick)) + '\n');
    return;
  }
  const o = options(args.quick);
  const tag = `${o.devices} devices x 2^${o.bits} events (${o.events} mapped)`;
  const al = inChild('aliased');
  const di = inChild('distinct');
  const med = (xs: number[]): number => spread(xs).median;
  const layout = (t: SaveRestoreTimes, what: string): BenchmarkEntry[] => [
    benchRow(`its save, ${tag}, ${what}`, 's', 'lower', t.save, med(t.minSave)),
    benchRow(`its restore, ${tag}, ${what}`, 's', 'lower', t.restore, med(t.minRestore)),
  ];
  const total = (t: SaveRestoreTimes): number[] => t.save.map((x, i) => x + t.restore[i]);
  const rows: BenchmarkEntry[] = [
    ...layout(al, `${o.itts} shared ITT(s)`),
    ...layout(di, 'distinct ITTs'),
    benchRow(`its save + restore, ${tag}: ${o.itts} shared ITT(s) vs distinct (comparison)`, 's', 'lower', total(al), med(total(di))),
  ];
  printBench(args, rows);
}
if (require.main === module) main();
