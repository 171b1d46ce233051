/**
 * Migration at any instant: a workload whose whole guest state lives in registers, the stack and guest memory
 * (IPI ping-pong, a periodic virtual-timer tick per vCPU, wired device interrupts through irqfds and MSIs — LPIs
 * through the ITS on a GICv3, rVID MSIs on the rVIC — injected by a seeded host schedule), and the check that a
 * VM saved with {@link saveVm} at a `vm.run({ until })` boundary and restored with {@link restoreVm} into a fresh
 * VM of a fresh {@link Hypervisor} continues exactly as the source does: the same trace records (in canonical
 * order) and the same counters from the migration point on, and that the migrated run (source up to the point,
 * restored VM after it) is exactly the run that was never saved; apart from that, whether the saved source
 * itself ran as the never-saved run (the save is a pure observation: it must).
 *
 * Used by the jest test (a few points per controller) and by `migrate-fuzz.ts` (the full count).
 *
 * @example
 * ```ts
 * const sc = { irqchip: 'gic-v3', vcpus: 2, seed: 7, endNs: 300_000 };
 * const ref = referenceRun(sc);
 * const r = migrateAt(sc, 123_456, ref);   // r.ok, r.why
 * ```
 *
 * @module
 */
import {
  DAIF,
  EventFd,
  GuestAsm,
  isKvmError,
  MSI_VALID_DEVID,
  restoreVm,
  saveVm,
  TraceKind,
  type GuestIrqDriver,
  type Hypervisor,
  type Msi,
  type RoutingEntry,
  type TraceEvent,
  type Vm,
  type VmSnapshot,
} from '@irqflow/core';
import { GIC_ITS_RAM } from '@irqflow/vgic';
import { createHypervisor } from '../hypervisor-factory';

/** One migration scenario. */
export interface MigrationScenario {
  /** Controller name (gic-v2, gic-v3, gic-v4.1, rvic, …). */
  readonly irqchip: string;
  /** vCPUs (default 2). */
  readonly vcpus?: number;
  /** Seed of the host injection schedule. */
  readonly seed: number;
  /** End of the run (simulated ns). */
  readonly endNs: number;
  /** The VM's lookahead (default: the profile's). */
  readonly lookaheadNs?: number;
  /** Trace buffer capacity in events (default 200,000). */
  readonly traceCapacity?: number;
}

/** A built VM and its userspace side (the host schedule that still has to fire). */
export interface MigrationVm {
  /** The hypervisor (its own trace buffer). */
  readonly hv: Hypervisor;
  /** The VM. */
  readonly vm: Vm;
  /** Schedules the host injections after `from` (ns). */
  scheduleHost(from: number): void;
}

interface HostItem {
  readonly t: number;
  readonly kind: 'irqfd' | 'msi';
  readonly n: number;
}

const IPI_LIMIT = 1_000_000;
const GSI_BASE = 0;
const MSI_DEVID = 3;
const NR_MSIS = 4;

/** A small deterministic generator for the host schedule (the VM's own Rng is the guest's business). */
function lcg(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

function hostSchedule(seed: number, endNs: number, vcpus: number, msi: boolean): HostItem[] {
  const r = lcg(seed);
  const out: HostItem[] = [];
  // times at quarter-ns offsets: never equal to a timer expiry or a vCPU clock made of whole-ns costs
  for (let t = 2000 + r() * 3000; t < endNs; t += 1500 + r() * 9000) {
    const kind = msi && r() < 0.6 ? 'msi' : 'irqfd';
    out.push({ t: Math.floor(t) + 0.25, kind, n: Math.floor(r() * (kind === 'msi' ? NR_MSIS : vcpus)) });
  }
  return out;
}

/**
 * A GICv2 SGI that is active at the save point comes back with source CPU 0: no KVM register exposes the source
 * of an active SGI (GICD_SPENDSGIR covers pending sources only; mainline has the same gap, see vgic-migration.ts),
 * and the guest's EOI, which names the source it acknowledged, then no longer matches the list register. The
 * GICv2 scenario therefore sends IPIs from vCPU 0 only (source 0, which survives), from its timer and device
 * handlers, instead of a ping-pong.
 */
function oneWayIpis(d: GuestIrqDriver): boolean {
  return d.name === 'gic-v2';
}

function program(d: GuestIrqDriver, cpu: number, vcpus: number, hasTimer: boolean, msis: Msi[] | null): ReturnType<GuestAsm['build']> {
  const a = new GuestAsm();
  // the scenario needs IPIs and the arch timer: every controller it runs on (gic-v2/v3/v4.1, rvic) has both
  const timer = d.timerIntids!.virt;
  const ipi = d.ipi!(0);
  a.label('main');
  d.emitCpuInit(a);
  // Every interrupt that can be pending at the same time as another on one vCPU has a priority of its own: among
  // equal priorities the GIC's order is IMPLEMENTATION DEFINED (KVM's is list order, which no ABI carries), so a
  // restored VM may take them in another order (migration guide, "Known limits"). The rVIC has no priorities.
  d.emitEnable(a, ipi, { priority: 0xb0 });
  if (hasTimer) d.emitEnable(a, timer, { level: true, priority: 0xa8 });
  // one wired device interrupt per vCPU, routed to it
  d.emitEnable(a, d.deviceIrqs.first + cpu, { priority: 0x90 - 8 * cpu });
  if (msis !== null && cpu === 0) {
    const first = d.msiIrqs!.first;
    for (let k = 0; k < NR_MSIS; k++) msis.push(d.emitMsiSetup!(a, { devid: MSI_DEVID, event: k, intid: first + k, target: k % vcpus }));
    for (let k = 0; k < NR_MSIS; k++) d.emitEnable(a, first + k, { priority: 0x40 + 8 * k });
  }
  a.movi(22, (cpu + 1) % vcpus)
    .movi(24, 9000 + 3713 * cpu)
    .movi(25, cpu);
  if (hasTimer) a.msr('CNTV_TVAL_EL0', 24).movi(0, 1).msr('CNTV_CTL_EL0', 0);
  a.daifclr(DAIF.I);
  const oneWay = oneWayIpis(d);
  if (cpu === 0 && vcpus > 1 && !oneWay) {
    a.work(3000);
    d.emitSendIpi!(a, 22, 0);
  }
  a.label('idle')
    .work(120 + 37 * cpu)
    .wfi()
    .b('idle');

  a.label('irq').push(9).push(10).push(11).push(12);
  d.emitAck(a, 9);
  a.beqi(9, d.spurious, 'out');
  a.work(60);
  a.bnei(9, ipi, 'notipi').addi(21, 21, 1).bhsi(21, IPI_LIMIT, 'eoi');
  if (!oneWay) d.emitSendIpi!(a, 22, 0);
  a.b('eoi');
  a.label('notipi');
  if (hasTimer) {
    a.bnei(9, timer, 'nottimer').addi(20, 20, 1).msr('CNTV_TVAL_EL0', 24);
    if (oneWay && cpu === 0 && vcpus > 1) d.emitSendIpi!(a, 22, 0);
    a.b('eoil');
    a.label('nottimer');
  }
  a.addi(23, 23, 1).work(25);
  if (oneWay && cpu === 0 && vcpus > 1) d.emitSendIpi!(a, 22, 0);
  a.label('eoi');
  d.emitEoi(a, 9);
  a.b('out');
  a.label('eoil');
  d.emitEoi(a, 9, { level: true });
  a.label('out').pop(12).pop(11).pop(10).pop(9).eret();
  return a.build();
}

/** Builds the scenario's VM on a fresh hypervisor (trace on); nothing has run. */
export function buildMigrationVm(sc: MigrationScenario): MigrationVm {
  const { hv } = createHypervisor({ traceCapacity: sc.traceCapacity ?? 200_000, onWarning: null });
  const n = sc.vcpus ?? 2;
  const vm = hv.createVm({ name: `migrate/${sc.irqchip}`, lookaheadNs: sc.lookaheadNs });
  for (let i = 0; i < n; i++) vm.createVcpu(i);
  const desc = hv.irqchip(sc.irqchip);
  // the rVIC at its smallest useful sizing (32 trusted, 64 untrusted): its bring-up is two hypercalls per interrupt
  const d = desc.setup(vm, sc.irqchip === 'rvic' ? { trusted: 32, nrIrqs: 96 } : {});
  // GICv2: no timer. Its userspace ISPENDR reads latch OR line for a level interrupt and the write sets the latch
  // (KVM's __read_pending; GICv2 has no LEVEL_INFO), so a timer PPI saved while its line is high comes back
  // latched and is taken once more after the guest re-arms it — mainline behaviour, see vgic-migration.ts.
  const hasTimer = hv.extensions.some((e) => e.name === 'arch-timer') && sc.irqchip !== 'gic-v2';
  const msiCapable = d.emitMsiSetup !== undefined && d.msiIrqs !== undefined && desc.features.includes('msi');
  const msis: Msi[] | null = msiCapable ? [] : null;
  for (let i = 0; i < n; i++) vm.vcpus[i].setProgram(program(d, i, n, hasTimer, msis));
  // userspace configuration: one irqfd per wired device line (GSI i → the line of vCPU i)
  const routes: RoutingEntry[] = [];
  const fds: EventFd[] = [];
  for (let i = 0; i < n; i++) {
    routes.push({ gsi: GSI_BASE + i, type: 'irqchip', irqchip: 0, pin: i });
    fds.push(new EventFd(`dev${i}`));
  }
  vm.setGsiRouting(routes);
  fds.forEach((fd, i) => vm.irqfd({ fd, gsi: GSI_BASE + i }));
  if (msiCapable) d.hostMsiSetup?.(vm);
  const items = hostSchedule(sc.seed, sc.endNs, n, msiCapable);
  const scheduleHost = (from: number): void => {
    for (const it of items) {
      if (it.t <= from) continue;
      vm.at(
        it.t,
        () => {
          if (it.kind === 'irqfd') fds[it.n].signal(1);
          else {
            const m = msis![it.n];
            try {
              vm.signalMsi(m.devid !== undefined || m.flags ? m : { ...m, devid: MSI_DEVID, flags: MSI_VALID_DEVID });
            } catch (e) {
              // before the guest enabled the ITS (EBUSY) or mapped the event: the VMM sees the errno, nothing is sent
              if (!isKvmError(e)) throw e;
            }
          }
        },
        `host-${it.kind}`,
      );
    }
  };
  hv.trace.on = true;
  return { hv, vm, scheduleHost };
}

/** A run's observable outcome from a point on: trace records and counters. */
export interface RunRecord {
  /** Trace records in canonical order (TraceBuffer.canonicalEvents: by time, vCPU, kind, payload). */
  readonly trace: readonly TraceEvent[];
  /** Per-vCPU counters (exits by reason, ops, irqs, …) as one flat vector each. */
  readonly counters: readonly number[][];
}

function counters(vm: Vm): number[][] {
  return vm.vcpus.map((v) => {
    const s = v.stats;
    return [
      ...s.exits,
      s.ops,
      s.injected,
      s.acked,
      s.completed,
      s.irqsTaken,
      s.kicks,
      s.blocks,
      s.blockedNs,
      s.faults,
      s.untrappedMmio,
      v.clock,
    ];
  });
}

/** Counters equal; blockedNs (a sum of clock differences) to rounding. */
function sameCounters(a: readonly number[][], b: readonly number[][]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (row, i) =>
        row.length === b[i].length && row.every((x, k) => x === b[i][k] || Math.abs(x - b[i][k]) <= 1e-6 * Math.max(1, Math.abs(x))),
    )
  );
}

function diff(a: number[][], b: number[][]): number[][] {
  // the last column is the clock: compared as is, not as a difference
  return a.map((row, i) => row.map((x, k) => (k === row.length - 1 ? x : x - b[i][k])));
}

/** The run that is never saved: to `endNs` in one `run` call. Its trace is the reference. */
export function referenceRun(sc: MigrationScenario): RunRecord {
  const m = buildMigrationVm(sc);
  m.scheduleHost(-1);
  m.vm.run({ until: sc.endNs });
  return { trace: m.hv.trace.canonicalEvents(), counters: counters(m.vm) };
}

/** What one migration point found. */
export interface MigrationResult {
  /** The restored VM continued exactly as the saved source did (trace and counters from the point on). */
  readonly ok: boolean;
  /** The first difference, when not ok. */
  readonly why?: string;
  /** The saved source ran exactly as the run that was never saved (whole trace and counters). */
  readonly sourceOk: boolean;
  /** The first difference of the saved source from the never-saved run, when not sourceOk. */
  readonly sourceWhy?: string;
  /**
   * The migrated run — the source up to the point, the restored VM after it — is exactly the run that was never
   * saved (trace and counters): what a migration at any instant must give.
   */
  readonly uninterruptedOk: boolean;
  /** The first difference of the migrated run from the never-saved run, when not uninterruptedOk. */
  readonly uninterruptedWhy?: string;
  /** What the vCPUs were doing at the point: `handler` (stack in use), `wfi`, `running`, per vCPU. */
  readonly where: readonly string[];
  /** Something was pending in the controller at the point: an LPI (GICv3 pending tables) or an rVIC FIFO entry. */
  readonly pending: { readonly lpi: boolean; readonly fifo: boolean };
  /** The snapshot (for callers that look at its state). */
  readonly snapshot: VmSnapshot;
}

/**
 * `events` in the trace buffer's canonical order (by time, vCPU, kind, payload): execution order depends on
 * scheduling (a vCPU running ahead under the lookahead records before one behind it), the set of records does not.
 */
function canonical(events: readonly TraceEvent[]): TraceEvent[] {
  return [...events].sort((x, y) => x.t - y.t || x.vcpu - y.vcpu || x.kind - y.kind || x.a - y.a || x.b - y.b);
}

function firstDiff(a: readonly TraceEvent[], b: readonly TraceEvent[], what: string): string | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    // An LrLoad's `b` is the list-register slot. Slots are the hypervisor's bookkeeping, invisible to the guest
    // and not part of any migration ABI: the snapshot keeps the LRs loaded at the point in their slots, but the
    // destination's ap_list is rebuilt in the order the attributes are replayed, and a later flush, which fills the
    // LRs in list order when they do not overflow, may put an interrupt in another slot. Everything else must match.
    const sameB = x.b === y.b || (x.kind === TraceKind.LrLoad && y.kind === TraceKind.LrLoad);
    if (x.kind !== y.kind || x.vcpu !== y.vcpu || x.t !== y.t || x.a !== y.a || !sameB)
      return `${what}: record ${i} differs: ${TraceKind[x.kind]}@${x.t} vcpu${x.vcpu} a=${x.a} b=${x.b} vs ${TraceKind[y.kind]}@${y.t} vcpu${y.vcpu} a=${y.a} b=${y.b}`;
  }
  if (a.length !== b.length) return `${what}: ${a.length} records vs ${b.length}`;
  return undefined;
}

/** Whether the snapshot's guest memory holds a set LPI bit in a pending table of the "gic-v3" guest driver. */
function lpiPending(snap: VmSnapshot): boolean {
  const first = GIC_ITS_RAM.BASE + GIC_ITS_RAM.PEND;
  const end = first + snap.vcpus.length * 0x10000;
  for (const [addr, data] of snap.memory) {
    if (addr + data.length <= first || addr >= end) continue;
    for (let i = 0; i < data.length; i++) {
      const a = addr + i;
      if (a >= first && a < end && (a - first) % 0x10000 >= 1024 && data[i] !== 0) return true;
    }
  }
  return false;
}

/** Whether a saved rVIC (the snapshot's device state) has an entry on some vCPU's delivery FIFO. */
function fifoPending(snap: VmSnapshot): boolean {
  return snap.devices.some((d) => {
    const cpus = (d as { cpus?: { fifo?: unknown[] }[] } | null)?.cpus;
    return Array.isArray(cpus) && cpus.some((c) => Array.isArray(c.fifo) && c.fifo.length > 0);
  });
}

/**
 * Runs the source to `t`, saves it, restores into a fresh VM of a fresh hypervisor, runs both to the end and
 * compares: the restored trace and counters with the source's from `t` on (`ok`: the migration is exact), the
 * migrated run (source to `t`, restored VM after it) with `ref`, the run that was never saved (`uninterruptedOk`),
 * and the source's whole trace with `ref` (`sourceOk`: the save changed nothing on the source).
 */
export function migrateAt(sc: MigrationScenario, t: number, ref: RunRecord): MigrationResult {
  const src = buildMigrationVm(sc);
  src.scheduleHost(-1);
  src.vm.run({ until: t });
  const at = src.hv.trace.length;
  const snapshot = saveVm(src.vm);
  // counters from the point on (the save changes nothing, so these are the source's at the point)
  const before = counters(src.vm);
  const where = snapshot.vcpus.map((v) => (v.mpState === 3 ? 'wfi' : v.stack.length > 0 ? 'handler' : 'running'));
  const dst = buildMigrationVm(sc);
  restoreVm(dst.vm, snapshot);
  // counters from the point on: a restore that re-pends an interrupt counts it as injected on the destination
  const restored = counters(dst.vm);
  // the VMM's own devices go on where they were: run({ until: t }) fired every host event up to the VM's time
  // (t, or later when a vCPU's last operation ended past t), no later one
  dst.scheduleHost(snapshot.time);
  src.vm.run({ until: sc.endNs });
  dst.vm.run({ until: sc.endNs });
  // the records each VM made after the point, compared in canonical order
  const srcTrace = src.hv.trace.events();
  const why =
    firstDiff(canonical(srcTrace.slice(at)), canonical(dst.hv.trace.events()), 'restored vs source') ??
    (!sameCounters(diff(counters(src.vm), before), diff(counters(dst.vm), restored))
      ? `counters differ: ${JSON.stringify(diff(counters(src.vm), before))} vs ${JSON.stringify(diff(counters(dst.vm), restored))}`
      : undefined);
  // the migrated run as a whole — the source's records up to the point, then the restored VM's — against the run
  // that was never saved; its counters the source's at the point plus what the restored VM counted after it
  const dstEnd = counters(dst.vm);
  const migrated = before.map((row, i) => row.map((x, k) => (k === row.length - 1 ? dstEnd[i][k] : x + dstEnd[i][k] - restored[i][k])));
  const uninterruptedWhy =
    firstDiff(canonical([...srcTrace.slice(0, at), ...dst.hv.trace.events()]), ref.trace, 'restored vs never-saved run') ??
    (!sameCounters(migrated, ref.counters)
      ? `counters differ from the never-saved run: ${JSON.stringify(migrated)} vs ${JSON.stringify(ref.counters)}`
      : undefined);
  const sourceWhy =
    firstDiff(src.hv.trace.canonicalEvents(), ref.trace, 'saved source vs never-saved run') ??
    (!sameCounters(counters(src.vm), ref.counters) ? 'source counters differ from the never-saved run' : undefined);
  // no vm.destroy(): it is asynchronous, and a caller looping over points without yielding would keep every
  // pending teardown (and its VM) alive; both hypervisors are dropped here and collected whole
  return {
    ok: why === undefined,
    why,
    sourceOk: sourceWhy === undefined,
    sourceWhy,
    uninterruptedOk: uninterruptedWhy === undefined,
    uninterruptedWhy,
    where,
    pending: { lpi: lpiPending(snapshot), fifo: fifoPending(snapshot) },
    snapshot,
  };
}
