/**
 * GICv4 direct injection vs GICv3 software injection (run as plain node by scripts/bench.js; `--json` prints
 * exactly one JSON document `{"benchmarks":[…]}` (core's row format) and nothing else on stdout; `--quick`).
 *
 * Workload: one vCPU, a VFIO-like passthrough device (core's PassthroughDevice) with one MSI-X vector routed by
 * the VMM as QEMU does (MSI route + irqfd + VFIO trigger), translated by the guest's ITS to one LPI, raised every
 * `PERIOD_NS` simulated ns. On "gic-v3" it goes host handler → irqfd → ITS emulation → list register (the running
 * vCPU is kicked out of the guest); on "gic-v4" the irq-bypass producer is forwarded to the vLPI and the vPE
 * receives it directly. Two guest shapes:
 * - busy: the guest runs a fixed amount of work (the vCPU is resident): interrupt cost = (time to finish the work
 *   with N interrupts − time without interrupts) / N, i.e. everything the interrupt adds (exits, list registers,
 *   the guest's handler);
 * - idle: the guest waits in WFI: cost = the vCPU's non-blocked time per interrupt (wake-up, handler, back to WFI).
 * For every cost profile: exits per interrupt and simulated ns per interrupt; value = GICv4, baseline = GICv3.
 * Then the wall clock of the model (idle shape, gicv3-vhe; only the measured vm.run is timed, after a warm-up,
 * repetitions interleaved): each of GICv4 and GICv3 in interrupts per second against core's minimal loop (the
 * baseline of every interrupt-rate row), and one extra row named `comparison: …` with GICv4's ns per interrupt
 * against GICv3's.
 *
 * @module
 */
import {
  benchArgs,
  benchRow,
  DAIF,
  EventFd,
  GuestAsm,
  Hypervisor,
  interleaved,
  minimalIrqRate,
  MINIMAL_LOOP_IRQS,
  MSI_VALID_DEVID,
  printBench,
  spread,
  type BenchmarkEntry,
  type Vcpu,
} from '@irqflow/core';
import { GITS } from '../its';
import { gicItsVm, ITS_BENCH, mapc, mapd, mapti } from './support/its-bench-vm';

const DEVID = 7;
const LPI = 8192;
const PERIOD_NS = 20_000;
const WORK_CYCLES = 3_000;

type Result = BenchmarkEntry;

interface Run {
  exitsPerIrq: number;
  nsPerIrq: number;
  irqs: number;
  direct: boolean;
  /** Wall-clock ns of the measured vm.run (the setup before it is not timed). */
  wallNs: number;
}

/** Runs the workload: `irqs` interrupts (0 = baseline), busy or idle guest. */
function run(irqchip: 'gic-v3' | 'gic-v4', profile: string, busy: boolean, irqs: number, iterations: number): Run & { doneAt: number } {
  const { hv, vm, its, drv } = gicItsVm({ irqchip, costProfile: profile, ptz: false });
  mapd(its, DEVID, 4, ITS_BENCH.ITT); // 16 EventIDs
  mapc(its, 0); // collection 0 → vCPU 0
  mapti(its, DEVID, 0, LPI, 0); // event 0 → LPI 8192

  let handled = 0;
  let doneAt = -1;
  let tStart = 0;
  let exits0 = 0;
  let blocked0 = 0;
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  a.call((v: Vcpu) => {
    tStart = v.clock;
    exits0 = v.stats.totalExits();
    blocked0 = v.stats.blockedNs;
  });
  a.daifclr(DAIF.I);
  if (busy) {
    a.movi(3, 0).label('loop').work(WORK_CYCLES).addi(3, 3, 1).bnei(3, iterations, 'loop');
    a.call((v: Vcpu) => void (doneAt = v.clock));
  }
  a.label('idle').wfi().b('idle');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, drv.spurious, 'out');
  a.call(() => void handled++);
  drv.emitEoi(a, 9);
  a.label('out').eret();
  vm.vcpus[0].setProgram(a.build());

  const pt = hv.createPassthroughDevice('vfio-bench', DEVID, 1);
  const fd = new EventFd('vfio-bench');
  const msi = { address: ITS_BENCH.ITS_BASE + GITS.TRANSLATER, data: 0, devid: DEVID, flags: MSI_VALID_DEVID };
  vm.setGsiRouting([{ gsi: 1, type: 'msi', msi }]);
  pt.programVector(0, msi.address, msi.data, false);
  vm.irqfd({ fd, gsi: 1 });
  pt.setTrigger(0, fd);
  const start = 50_000;
  for (let i = 0; i < irqs; i++) vm.at(start + i * PERIOD_NS, () => pt.raise(0));
  const w0 = process.hrtime.bigint();
  vm.run({ until: start + Math.max(irqs * PERIOD_NS, busy ? iterations * WORK_CYCLES : 0) + 2_000_000 });
  const wallNs = Number(process.hrtime.bigint() - w0);
  const v = vm.vcpus[0];
  if (handled !== irqs) throw new Error(`${irqchip}: ${handled} of ${irqs} interrupts handled`);
  if (busy && doneAt < 0) throw new Error(`${irqchip}: the guest did not finish its work`);
  const exits = v.stats.totalExits() - exits0;
  const busyNs = v.clock - tStart - (v.stats.blockedNs - blocked0);
  return {
    exitsPerIrq: irqs ? exits / irqs : exits,
    nsPerIrq: irqs ? busyNs / irqs : busyNs,
    irqs: handled,
    direct: fd.signals === 0 && irqs > 0,
    doneAt,
    wallNs,
  };
}

function measure(irqchip: 'gic-v3' | 'gic-v4', profile: string, busy: boolean, irqs: number): Run {
  if (!busy) return run(irqchip, profile, false, irqs, 0);
  // enough work to outlast every interrupt; cost = the extra time the interrupts add to it
  const iterations = Math.ceil(((irqs + 2) * PERIOD_NS) / (WORK_CYCLES / 3));
  const base = run(irqchip, profile, true, 0, iterations);
  const r = run(irqchip, profile, true, irqs, iterations);
  const baseExits = base.exitsPerIrq; // total exits without interrupts
  return { ...r, nsPerIrq: (r.doneAt - base.doneAt) / irqs, exitsPerIrq: (r.exitsPerIrq * irqs - baseExits) / irqs };
}

/** Wall-clock ns per interrupt of the idle shape (the run only), one repetition. */
function wallNsPerIrq(irqchip: 'gic-v3' | 'gic-v4', irqs: number): number {
  return run(irqchip, 'gicv3-vhe', false, irqs, 0).wallNs / irqs;
}

function main(): void {
  const args = benchArgs(process.argv.slice(2));
  const quick = args.quick;
  const irqs = quick ? 50 : 500;
  const profiles = new Hypervisor({ traceCapacity: 16 }).costProfiles.map((p) => p.name);
  const results: Result[] = [];
  for (const profile of profiles) {
    for (const busy of [true, false]) {
      const sw = measure('gic-v3', profile, busy, irqs);
      const hw = measure('gic-v4', profile, busy, irqs);
      if (sw.direct || !hw.direct) throw new Error('the GICv3 run must be software injection and the GICv4 run direct');
      const shape = busy ? 'busy' : 'idle';
      // simulated figures are deterministic: one run, min = median = max
      const r = (what: string, unit: string, value: number, baseline: number): Result => ({
        ...benchRow(`passthrough ${shape} ${profile} ${what} (gic-v4 vs gic-v3)`, unit, 'lower', [value], baseline),
        ratio: baseline === 0 ? (value === 0 ? 1 : value / Number.EPSILON) : value / baseline,
      });
      results.push(r('exits/irq', 'exits', hw.exitsPerIrq, sw.exitsPerIrq));
      results.push(r('ns/irq', 'ns', hw.nsPerIrq, sw.nsPerIrq));
    }
  }
  // wall clock of the model itself: the idle shape under gicv3-vhe, warmed up, repetitions interleaved
  const wallIrqs = quick ? 200 : 5_000;
  const o = quick ? { reps: 3, warmUp: { minMs: 30, maxMs: 300 } } : { reps: 5, warmUp: { minMs: 300, maxMs: 2000 } };
  // every interrupt-rate row: against the shared minimal loop
  for (const chip of ['gic-v3', 'gic-v4'] as const) {
    const m = interleaved(
      () => 1e9 / wallNsPerIrq(chip, wallIrqs),
      () => minimalIrqRate(MINIMAL_LOOP_IRQS),
      o,
    );
    results.push(benchRow(`passthrough idle gicv3-vhe wall ${chip}`, 'irq/s', 'higher', m.model, spread(m.reference).median));
  }
  // and one extra comparison of the two models, named as such
  const vs = interleaved(
    () => wallNsPerIrq('gic-v4', wallIrqs),
    () => wallNsPerIrq('gic-v3', wallIrqs),
    o,
  );
  results.push(
    benchRow(
      'comparison: passthrough idle gicv3-vhe wall ns/irq, gic-v4 vs gic-v3',
      'ns/irq',
      'lower',
      vs.model,
      spread(vs.reference).median,
    ),
  );
  if (args.json) {
    printBench(args, results);
    return;
  }
  for (const x of results) {
    if (x.unit !== 'ns' && x.unit !== 'exits') continue;
    const f = (n: number) => (x.unit === 'ns' ? n.toFixed(0) : n.toFixed(2));
    console.log(
      `${x.name.padEnd(62)} ${f(x.value).padStart(8)} ${x.unit.padEnd(5)} baseline ${f(x.baseline).padStart(8)}  ratio ${x.ratio.toFixed(3)}`,
    );
  }
  printBench(
    args,
    results.filter((x) => x.unit !== 'ns' && x.unit !== 'exits'),
  );
}

main();
