/**
 * Benchmark workload shapes that run on any registered irqchip through its guest driver ({@link GuestIrqDriver}),
 * so every package measures its scaling the same way (`npm run bench`, the "scaling" rows):
 *
 * - {@link pendingShape}: `k` interrupts pending at all times on vCPU 0 of a 2-vCPU VM — device interrupts
 *   raised with KVM_IRQ_LINE (SPIs on a GIC) or MSIs signalled with KVM_SIGNAL_MSI (LPIs through the ITS).
 *   The guest acknowledges and EOIs each; the EOI makes the "device" raise the same interrupt again, so the
 *   backlog stays at `k`. The interrupt controller state the guest sees is the same at
 *   every `k` but for the number pending, which is what an O(pending) scan, sort or list walk shows up in.
 * - {@link pingPongShape}: an IPI ping-pong between vCPU 0 and vCPU 1 of a VM with `vcpus` vCPUs, the others
 *   idle in WFI — an O(vCPUs) step per injection shows up as the VM grows.
 *
 * Each shape builds its VM once; {@link BenchShape.rep} runs one repetition on it and returns wall-clock ns per
 * interrupt, so {@link interleaved} can warm it up and alternate it with the reference point of the same shape.
 *
 * @module
 */
import { benchRow, interleaved, spread, warmUp, type BenchmarkEntry, type WarmUpOptions } from './bench-kit';
import { DAIF } from './guest/guest-isa';
import { GuestAsm } from './guest/guest-asm';
import type { Hypervisor } from './hypervisor';
import type { Msi } from './flow/irqchip-flow';
import type { GuestIrqDriver } from './plugin';
import type { Vcpu } from './vm/vcpu';
import type { Vm } from './vm/vm';

/** A guest driver with IPIs (both optional IPI members present). */
type IpiDriver = GuestIrqDriver & Required<Pick<GuestIrqDriver, 'ipi' | 'emitSendIpi'>>;

function hasIpis(drv: GuestIrqDriver): drv is IpiDriver {
  return drv.ipi !== undefined && drv.emitSendIpi !== undefined;
}

/** A benchmark workload built once and run in repetitions. */
export interface BenchShape {
  /** The VM under test. */
  readonly vm: Vm;
  /** Interrupts handled by the guest so far. */
  readonly handled: number;
  /** Runs about `irqs` interrupts (at least one backlog's worth) and returns wall-clock ns per interrupt. */
  rep(irqs: number): number;
}

/** Which kind of interrupt {@link pendingShape} keeps pending. */
export type PendingKind = 'spi' | 'lpi';

/** Runs until every vCPU waits in WFI with nothing pending. */
function runIdle(vm: Vm): void {
  const r = vm.run();
  if (r.reason !== 'idle') throw new Error(`the VM stopped (${r.reason})`);
}

/** An address with neither memory nor a device behind it: a guest load from it exits to userspace (KVM_EXIT_MMIO). */
const PAUSE_MMIO = 0x7f00_0000;

/** Options of {@link pendingShape}. */
export interface PendingShapeOptions {
  /** vCPUs (default 2; vCPU 0 takes every interrupt, the others idle in WFI). */
  vcpus?: number;
  /** The KVM_IRQ_LINE SPI line number of a device interrupt (default: the INTID, as on a GIC). */
  lineOf?: (intid: number) => number;
  /**
   * `lpi` only: how the `k` MSIs are raised instead of KVM_SIGNAL_MSI. Called once, after the guest has mapped
   * them (`msis[j]` is LPI 8192 + j) and gone idle, before the backlog is raised; it wires what the VMM wires
   * (GSI routes, irqfds, passthrough devices) and returns the raise of interrupt `j`. It may throw if the VM does
   * not deliver the way the benchmark means (e.g. not forwarded).
   */
  raiser?: (vm: Vm, msis: readonly Msi[]) => (j: number) => void;
}

/**
 * `k` interrupts of `kind` pending at all times on vCPU 0 of a 2-vCPU VM on `irqchip` (see the module comment).
 * SPIs are the driver's first `k` device interrupts (`nrIrqs` = 1024 at every `k`), LPIs are 8192.. mapped through
 * the ITS as ⌈k/256⌉ devices of up to 256 events. The backlog is raised once, when the shape is built (outside
 * every repetition's timer); a repetition handles exactly the
 * interrupts it asks for, then the guest pauses (a userspace exit from its vector) with the backlog still
 * pending, so a repetition's cost does not grow with `k` even where the model's per-interrupt cost does.
 * @throws RangeError if the irqchip has fewer than `k` interrupts of that kind
 * @example
 * const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
 * const s = pendingShape(hv, 'gic-v3', 'spi', 988);
 * const nsPerIrq = s.rep(10_000);
 */
export function pendingShape(hv: Hypervisor, irqchip: string, kind: PendingKind, k: number, o: PendingShapeOptions = {}): BenchShape {
  const vm = hv.createVm();
  for (let i = 0; i < (o.vcpus ?? 2); i++) vm.createVcpu();
  const drv: GuestIrqDriver = hv.irqchip(irqchip).setup(vm, kind === 'spi' ? { nrIrqs: 1024 } : {});
  const first = kind === 'spi' ? drv.deviceIrqs.first : 8192;
  if (kind === 'spi' && k > drv.deviceIrqs.count) throw new RangeError(`${irqchip}: ${k} SPIs pending, but it has ${drv.deviceIrqs.count}`);
  if (kind === 'lpi' && !drv.emitMsiSetup) throw new RangeError(`${irqchip}: no MSIs`);
  const lineOf = o.lineOf ?? ((intid: number) => intid);
  const msis: Msi[] = [];
  let handled = 0;
  let pauseAt = 0;
  const lines = new Int32Array(k);
  for (let j = 0; j < k; j++) lines[j] = (1 << 24) | lineOf(first + j);
  let raise = (j: number): void => {
    if (kind === 'spi') {
      vm.irqLine(lines[j], 1);
      vm.irqLine(lines[j], 0);
    } else if (vm.signalMsi(msis[j]) !== 1) throw new Error(`${irqchip}: MSI ${j} not delivered`);
  };
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  if (kind === 'spi') for (let j = 0; j < k; j++) drv.emitEnable(a, first + j);
  else for (let j = 0; j < k; j++) msis.push(drv.emitMsiSetup!(a, { devid: j >> 8, event: j & 255, intid: first + j, target: 0 }));
  a.daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, drv.spurious, 'out');
  drv.emitEoi(a, 9);
  a.callb((v: Vcpu) => {
    raise(v.x(9) - first); // the device raises it again: the backlog stays at k
    return ++handled === pauseAt;
  }, 'pause');
  a.label('out').eret();
  a.label('pause').ldra(10, PAUSE_MMIO).eret();
  const idle = new GuestAsm();
  idle.label('main');
  drv.emitCpuInit(idle);
  idle.daifclr(DAIF.I).label('l').wfi().b('l');
  vm.vcpus.forEach((v, i) => v.setProgram(i === 0 ? a.build() : idle.build()));
  drv.hostMsiSetup?.(vm);
  runIdle(vm);
  if (handled !== 0) throw new Error(`${irqchip}: interrupts during setup`);
  if (kind === 'lpi' && o.raiser) raise = o.raiser(vm, msis);
  // the backlog is raised here, once, outside every repetition's timer: a repetition times only the handling
  for (let j = 0; j < k; j++) raise(j);
  return {
    vm,
    get handled() {
      return handled;
    },
    rep(irqs: number): number {
      const h0 = handled;
      pauseAt = handled + Math.max(1, irqs);
      const t = process.hrtime.bigint();
      const r = vm.run();
      const ns = Number(process.hrtime.bigint() - t);
      if (r.reason !== 'exit' || handled !== pauseAt)
        throw new Error(`${irqchip}: ${handled - h0} of ${irqs} interrupts handled (${r.reason})`);
      return ns / (handled - h0);
    },
  };
}

/**
 * IPI ping-pong between vCPU 0 and vCPU 1 of a `vcpus`-vCPU VM on `irqchip` (the others idle in WFI). A
 * repetition starts with a device interrupt to vCPU 0 (not counted) whose handler sends the first IPI.
 * @throws RangeError for fewer than 2 vCPUs
 * @example
 * const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
 * const s = pingPongShape(hv, 'gic-v3', 512); // vCPU 0 and 1 ping-pong, 510 idle
 * const nsPerIrq = s.rep(20_000);
 */
export function pingPongShape(hv: Hypervisor, irqchip: string, vcpus: number, o: Pick<PendingShapeOptions, 'lineOf'> = {}): BenchShape {
  if (vcpus < 2) throw new RangeError('a ping-pong needs 2 vCPUs');
  const vm = hv.createVm();
  for (let i = 0; i < vcpus; i++) vm.createVcpu();
  const drv = hv.irqchip(irqchip).setup(vm, {});
  if (!hasIpis(drv)) throw new RangeError(`${irqchip} has no IPIs: a ping-pong needs ipi/emitSendIpi`);
  const sgi = drv.ipi(1);
  const kick = drv.deviceIrqs.first;
  let handled = 0;
  let stopAt = 0;
  const prog = (me: number): GuestAsm => {
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, sgi);
    if (me === 0) drv.emitEnable(a, kick);
    a.movi(11, 1 - me);
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq');
    drv.emitAck(a, 9);
    a.beqi(9, drv.spurious, 'out');
    drv.emitEoi(a, 9);
    if (me === 0) a.beqi(9, kick, 'send');
    a.callb(() => ++handled >= stopAt, 'out');
    a.label('send');
    drv.emitSendIpi(a, 11, 1);
    a.label('out').eret();
    return a;
  };
  const p0 = prog(0).build();
  const p1 = prog(1).build();
  const idle = new GuestAsm();
  idle.label('main');
  drv.emitCpuInit(idle);
  idle.daifclr(DAIF.I).label('l').wfi().b('l');
  const pi = idle.build();
  vm.vcpus.forEach((v, i) => v.setProgram(i === 0 ? p0 : i === 1 ? p1 : pi));
  runIdle(vm);
  const line = (1 << 24) | (o.lineOf ?? ((intid: number) => intid))(kick);
  return {
    vm,
    get handled() {
      return handled;
    },
    rep(irqs: number): number {
      const h0 = handled;
      stopAt = handled + irqs;
      const t = process.hrtime.bigint();
      vm.irqLine(line, 1);
      vm.irqLine(line, 0);
      runIdle(vm);
      const ns = Number(process.hrtime.bigint() - t);
      if (handled < stopAt) throw new Error(`${irqchip}: ping-pong stopped after ${handled - h0} of ${irqs}`);
      return ns / (handled - h0);
    },
  };
}

/** One scaling family: what grows, its reference point and the points measured against it. */
export interface ScalingFamily {
  /** `spi` / `lpi`: interrupts pending ({@link pendingShape}); `vcpus`: VM size ({@link pingPongShape}). */
  grows: PendingKind | 'vcpus';
  /** The points (pending interrupts, or vCPUs), each reported against the reference point. */
  points: readonly number[];
  /** What the rows call the points (default: `pending SPIs`, `pending LPIs`, `vCPUs (IPI ping-pong)`). */
  name?: string;
}

/** Options of {@link scalingRows}. */
export interface ScalingOptions {
  /** Wall-clock ms a repetition aims at (default 60): the interrupts per repetition are calibrated to it. */
  repMs?: number;
  /** Measured repetitions of each point (default 5). */
  reps?: number;
  /** Warm-up of each point (see {@link warmUp}). */
  warmUp?: WarmUpOptions;
  /** See {@link PendingShapeOptions.lineOf}. */
  lineOf?: (intid: number) => number;
  /** See {@link PendingShapeOptions.raiser}. */
  raiser?: PendingShapeOptions['raiser'];
}

/** Interrupts per repetition for which one takes about `ms` at `nsPerIrq` (16..500,000). */
function irqsFor(ms: number, nsPerIrq: number): number {
  return Math.max(16, Math.min(500_000, Math.round((ms * 1e6) / nsPerIrq)));
}

/**
 * Interrupts per repetition so that one takes about `ms`, calibrated at steady state: the shape is warmed up
 * ({@link warmUp}) with repetitions re-sized after each from the last one's cost, so the count is derived from a
 * warm run, not from the cold first repetitions (which run many times slower and would make every later
 * repetition far shorter than `ms`).
 * @example
 * const s = pingPongShape(hv, 'gic-v3', 2);
 * const irqs = calibrateShape(s, 50); // warm, and about 50 ms per repetition from here on
 * const nsPerIrq = s.rep(irqs);
 */
export function calibrateShape(s: BenchShape, ms: number, o?: WarmUpOptions): number {
  let irqs = 64;
  warmUp(() => {
    const ns = s.rep(irqs);
    irqs = irqsFor(ms, ns);
    return ns;
  }, o);
  return irqs;
}

/**
 * The scaling rows of one irqchip and family: for each point, wall-clock ns per interrupt (min/median/max of
 * repetitions interleaved with the reference point's) beside the reference point of the same shape — 1 pending
 * interrupt on the 2-vCPU VM for `spi`/`lpi`, the 2-vCPU ping-pong for `vcpus` — and their ratio (1.0 = flat).
 * Each point's VM is built, measured and dropped in turn; the reference VM lives throughout.
 * @example
 * const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
 * const rows = scalingRows(hv, 'gic-v3', { grows: 'spi', points: [16, 988] });
 */
export function scalingRows(hv: Hypervisor, irqchip: string, f: ScalingFamily, o: ScalingOptions = {}): BenchmarkEntry[] {
  const ms = o.repMs ?? 60;
  const make = (x: number): BenchShape =>
    f.grows === 'vcpus'
      ? pingPongShape(hv, irqchip, x, { lineOf: o.lineOf })
      : pendingShape(hv, irqchip, f.grows, x, { lineOf: o.lineOf, raiser: o.raiser });
  const refPoint = f.grows === 'vcpus' ? 2 : 1;
  const ref = make(refPoint);
  const refIrqs = calibrateShape(ref, ms, o.warmUp);
  const what = f.name ?? (f.grows === 'vcpus' ? 'vCPUs (IPI ping-pong)' : `pending ${f.grows === 'spi' ? 'SPIs' : 'LPIs'}`);
  const rows: BenchmarkEntry[] = [];
  for (const x of f.points) {
    const s = make(x);
    const irqs = calibrateShape(s, ms, o.warmUp);
    const r = interleaved(
      () => s.rep(irqs),
      () => ref.rep(refIrqs),
      { reps: o.reps ?? 5, warmUp: o.warmUp },
    );
    rows.push(benchRow(`scaling ${irqchip} ${what} ${x} vs ${refPoint}`, 'ns/irq', 'lower', r.model, spread(r.reference).median));
  }
  return rows;
}
