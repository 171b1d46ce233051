/**
 * The workload harness: creates a VM with the chosen controller and cost profile, builds one guest program
 * per vCPU from the workload's components, installs their routing and devices, runs the VM in simulated time
 * and measures the phase after the start barrier: exits by reason, traps, busy simulated time and interrupt
 * counts, checked against what the components sent.
 *
 * Guest program of every vCPU: CPU init → barrier → component setup → barrier (measurement starts) → start
 * actions → unmask IRQs → `wfi` loop. IRQ vector: save x9..x12 → ack → component decision (a hook) →
 * actions (IPI / timer, as guest code) → EOI → restore → `eret`.
 *
 * @module
 */
import {
  COST_COMPONENT_COUNT,
  costBreakdown,
  DAIF,
  EXIT_REASON_NAMES,
  GuestAsm,
  type Hypervisor,
  type IrqchipSetupOptions,
  type RoutingEntry,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { ActionKind, THINK_CYCLES, unsupportedReason, type Action, type Component, type Workload, type WorkloadContext } from './workload';

/** Options of {@link runWorkload}. */
export interface RunWorkloadOptions {
  /** Controller name. */
  irqchip: string;
  /** vCPU count (default: the workload's). */
  vcpus?: number;
  /** Cost profile (default: the hypervisor's first). */
  profile?: string;
  /** Seed. */
  seed?: number;
  /** Simulated-time limit in ns (default 1 s). */
  durationNs?: number;
  /** The VM's conservative lookahead in ns (createVm's `lookaheadNs`; default: the profile's `ipiLatency`). */
  lookaheadNs?: number;
  /**
   * Run in fixed steps: `vm.run({ until })` every this many ns up to `durationNs`, with no early stop once
   * everything is delivered (for checking that results do not depend on how run() is sliced). Default: steps
   * that double from 50 µs, stopping 200 µs after the last interrupt.
   */
  runSliceNs?: number;
  /** Board options for the controller's setup (e.g. `nrLrs` on a GIC). */
  irqchipOptions?: IrqchipSetupOptions;
  /** Record a trace (the hypervisor's trace buffer is switched on for the run). */
  trace?: boolean;
  /** Keep the VM alive (for dumps); the caller destroys it. */
  keepVm?: boolean;
  /** Called now and then with the fraction done (0..1). */
  onProgress?: (fraction: number) => void;
}

/** The outcome of one run. */
export interface WorkloadResult {
  /** Controller. */
  irqchip: string;
  /** Workload. */
  workload: string;
  /** Cost profile. */
  profile: string;
  /** vCPUs. */
  vcpus: number;
  /** `ok`; `mismatch` (counts differ); `truncated` (time limit reached first); `error`; `unsupported`. */
  status: 'ok' | 'mismatch' | 'truncated' | 'error' | 'unsupported';
  /** Why it is not ok. */
  message?: string;
  /** Delivery paths that ran, e.g. "ipi", "its-msi" (joined by "+"). */
  path: string;
  /** Interrupts sent by the workload. */
  sent: number;
  /** Interrupts the guest received (= interrupts when ok). */
  interrupts: number;
  /** Exits in the measured phase. */
  exits: number;
  /** Exits per interrupt. */
  exitsPerInterrupt: number;
  /** Exits by reason. */
  exitsByReason: Record<string, number>;
  /** Traps by register / hypercall. */
  traps: Record<string, number>;
  /** Busy simulated ns of all vCPUs in the measured phase. */
  busyNs: number;
  /** Busy simulated ns per interrupt. */
  simNsPerInterrupt: number;
  /**
   * Simulated ns per interrupt by named cost component (core cost-component.ts), over all vCPUs in the measured
   * phase: where the interrupts' time went (`guest` = plain guest instructions; `ipiLatency` = delivery latency,
   * not busy time). The busy components add up to {@link simNsPerInterrupt}.
   */
  costBreakdown: Record<string, number>;
  /** Simulated time at the end. */
  simTimeNs: number;
  /** The VM (only with keepVm). */
  vm?: Vm;
}

interface Snapshot {
  busy: number;
  costBy: Float64Array;
  exits: Float64Array;
  traps: Map<number, number>;
}

/**
 * Runs `workload` on one controller. Never throws for model errors: they come back as status `error`.
 *
 * @example
 * ```ts
 * import { createHypervisor, findWorkload, runWorkload } from '@irqflow/examples';
 *
 * const { hv } = createHypervisor({ traceCapacity: 1 }); // the packages, the timer and "pic"
 * for (const irqchip of ['gic-v3', 'rvic']) {
 *   const r = runWorkload(hv, findWorkload('virtio-msi')!, { irqchip, vcpus: 2, seed: 7 });
 *   console.log(r.irqchip, r.status, r.path, r.interrupts);
 * }
 * // → gic-v3 ok msi-irqfd 200
 * // → rvic ok msi-irqfd 200
 * ```
 */
export function runWorkload(hv: Hypervisor, workload: Workload, opts: RunWorkloadOptions): WorkloadResult {
  const desc = hv.irqchip(opts.irqchip);
  const vcpus = opts.vcpus ?? Math.min(workload.defaultVcpus, desc.maxVcpus);
  const profile = opts.profile ?? hv.costProfiles[0].name;
  const base: WorkloadResult = {
    irqchip: desc.name,
    workload: workload.name,
    profile,
    vcpus,
    status: 'ok',
    path: '',
    sent: 0,
    interrupts: 0,
    exits: 0,
    exitsPerInterrupt: 0,
    exitsByReason: {},
    traps: {},
    busyNs: 0,
    simNsPerInterrupt: 0,
    costBreakdown: {},
    simTimeNs: 0,
  };
  const why = unsupportedReason(hv, desc, workload, vcpus);
  if (why) return { ...base, status: 'unsupported', message: why };
  let vm: Vm | undefined;
  try {
    vm = hv.createVm({
      name: `${desc.name}/${workload.name}`,
      costProfile: profile,
      seed: opts.seed ?? 1,
      lookaheadNs: opts.lookaheadNs,
      irqchip: desc.name,
      vcpus,
      irqchipOptions: opts.irqchipOptions,
    });
    const driver = vm.driver!;
    const queues: Action[][] = Array.from({ length: vcpus }, () => []);
    const ctx: WorkloadContext = {
      hv,
      vm,
      irqchip: desc,
      driver,
      vcpus,
      hasTimer: hv.extensions.some((e) => e.name === 'arch-timer'),
      rng: vm.rng,
      act: (v, kind, arg = 0) => queues[v.index].push({ kind, arg }),
    };
    const comps = workload.components(ctx);
    const r = execute(vm, ctx, comps, queues, opts);
    const res = { ...base, ...r, path: comps.map((c) => c.path).join('+') };
    if (opts.keepVm) res.vm = vm;
    else void vm.destroy();
    return res;
  } catch (e) {
    if (vm && !opts.keepVm) void vm.destroy();
    return { ...base, status: 'error', message: (e as Error).message, vm: opts.keepVm ? vm : undefined };
  }
}

function execute(vm: Vm, ctx: WorkloadContext, comps: Component[], queues: Action[][], opts: RunWorkloadOptions): Partial<WorkloadResult> {
  const n = ctx.vcpus;
  const driver = ctx.driver;
  const owner = new Map<number, Component>();
  const level = new Set<number>();
  for (const c of comps) {
    for (const i of c.intids) owner.set(i, c);
    for (const i of c.levelIntids ?? []) level.add(i);
  }
  const usesTimer = comps.some((c) => c.usesTimer);
  const usesIpi = comps.some((c) => c.usesIpi);
  const usesThink = comps.some((c) => c.usesIpi);
  const unexpected: string[] = [];
  const snaps: (Snapshot | null)[] = new Array<Snapshot | null>(n).fill(null);
  const thinkNs = new Float64Array(n);
  const thinkFrom = new Float64Array(n);
  let arrived1 = 0;
  let arrived2 = 0;

  const loadAction = (v: Vcpu): void => {
    const a = queues[v.index].shift();
    v.setX(10, a ? a.kind : ActionKind.None);
    v.setX(11, a ? a.arg : 0);
  };
  // Only the paths some component uses are assembled: a controller without IPIs or timers still runs the rest.
  const emitActions = (a: GuestAsm): void => {
    const loop = a.fresh('act');
    const done = a.fresh('done');
    a.label(loop).call(loadAction).cbz(10, done);
    if (usesIpi) {
      const not1 = a.fresh('n1');
      a.bnei(10, ActionKind.SendIpi, not1);
      driver.emitSendIpi!(a, 11, 0);
      a.b(loop).label(not1);
    }
    if (usesThink) {
      const not4 = a.fresh('n4');
      const spin = a.fresh('think');
      a.bnei(10, ActionKind.Think, not4).call((v) => void (thinkFrom[v.index] = v.clock));
      a.label(spin).work(THINK_CYCLES).addi(11, 11, -1).cbnz(11, spin);
      a.call((v) => void (thinkNs[v.index] += v.clock - thinkFrom[v.index])).b(loop);
      a.label(not4);
    }
    if (usesTimer) {
      const not2 = a.fresh('n2');
      a.bnei(10, ActionKind.ArmTimer, not2).msr('CNTV_TVAL_EL0', 11).movi(12, 1).msr('CNTV_CTL_EL0', 12).b(loop);
      a.label(not2).movi(12, 0).msr('CNTV_CTL_EL0', 12);
    }
    a.b(loop).label(done);
  };

  for (let cpu = 0; cpu < n; cpu++) {
    const a = new GuestAsm();
    a.label('main');
    driver.emitCpuInit(a);
    a.call(() => void arrived1++)
      .label('b1')
      .work(30)
      .callb(() => arrived1 < n, 'b1');
    for (const c of comps) c.emitSetup?.(a, cpu);
    a.call((v) => {
      arrived2++;
      snaps[v.index] = snapshot(v);
      for (const c of comps) c.start?.(v);
      if (arrived2 === n) for (const c of comps) c.hostStart?.(vm.now);
    });
    a.label('b2')
      .work(30)
      .callb(() => arrived2 < n, 'b2');
    emitActions(a);
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');

    a.label('irq').push(9).push(10).push(11).push(12);
    driver.emitAck(a, 9);
    a.beqi(9, driver.spurious, 'out');
    a.call((v) => {
      const intid = v.x(9);
      const c = owner.get(intid);
      if (c) c.onIrq(v, intid);
      else if (unexpected.length < 5) unexpected.push(`vCPU ${v.index} got unexpected interrupt ${intid}`);
    });
    emitActions(a);
    a.callb((v) => level.has(v.x(9)), 'eoil');
    driver.emitEoi(a, 9);
    a.b('out').label('eoil');
    driver.emitEoi(a, 9, { level: true });
    a.label('out').pop(12).pop(11).pop(10).pop(9).eret();
    vm.vcpus[cpu].setProgram(a.build());
  }

  const routes: RoutingEntry[] = comps.flatMap((c) => c.routes?.() ?? []);
  if (routes.length) vm.setGsiRouting(routes);
  for (const c of comps) c.hostSetup?.();

  const trace = vm.trace;
  if (opts.trace) trace.on = true;
  const limit = opts.durationNs ?? 1e9;
  const planned = comps.reduce((s, c) => s + c.planned, 0);
  const delivered = (): number => comps.reduce((s, c) => s + c.delivered, 0);
  let reason = 'limit';
  let message: string | undefined;
  const fixed = opts.runSliceNs;
  let slice = fixed ?? 50_000;
  let doneAt = -1;
  let step = 0;
  try {
    for (;;) {
      // fixed steps end at multiples of the step (not at vm.now + step: where the VM stopped must not matter)
      const until = fixed !== undefined ? Math.min(limit, ++step * fixed) : Math.min(limit, vm.now + slice);
      const rr = vm.run({ until });
      opts.onProgress?.(planned ? delivered() / planned : 0);
      if (rr.reason !== 'limit') {
        reason = rr.reason;
        if (rr.reason === 'exit')
          message = `unexpected exit to userspace on vCPU ${rr.vcpu?.index}: ${rr.vcpu?.kvmRun.internalError ?? rr.vcpu?.kvmRun.exitReason}`;
        break;
      }
      if (rr.time >= limit) break;
      if (fixed !== undefined) continue;
      const all = comps.every((c) => c.sent >= c.planned && c.delivered >= c.sent);
      if (all && doneAt < 0) doneAt = rr.time;
      if (doneAt >= 0 && rr.time - doneAt > 200_000) {
        reason = 'done';
        break;
      }
      slice = Math.min(slice * 2, 5_000_000);
    }
  } finally {
    if (opts.trace) trace.on = false;
    for (const c of comps) c.teardown?.();
  }

  const end = vm.vcpus.map(snapshot);
  const exitsByReason: Record<string, number> = {};
  const traps: Record<string, number> = {};
  let exits = 0;
  let busy = 0;
  const slots = new Float64Array(COST_COMPONENT_COUNT);
  end.forEach((e, i) => {
    const s = snaps[i] ?? {
      busy: 0,
      costBy: new Float64Array(COST_COMPONENT_COUNT),
      exits: new Float64Array(e.exits.length),
      traps: new Map(),
    };
    busy += e.busy - s.busy - thinkNs[i];
    for (let k = 0; k < COST_COMPONENT_COUNT; k++) slots[k] += e.costBy[k] - s.costBy[k];
    e.exits.forEach((x, k) => {
      const d = x - s.exits[k];
      if (d) {
        exitsByReason[EXIT_REASON_NAMES[k]] = (exitsByReason[EXIT_REASON_NAMES[k]] ?? 0) + d;
        exits += d;
      }
    });
    for (const [k, x] of e.traps) {
      const d = x - (s.traps.get(k) ?? 0);
      if (!d) continue;
      const name = vm.trapName(k);
      traps[name] = (traps[name] ?? 0) + d;
    }
  });
  const sent = comps.reduce((s, c) => s + c.sent, 0);
  const got = delivered();
  let status: WorkloadResult['status'] = 'ok';
  if (message) status = 'error';
  else if (unexpected.length) {
    status = 'mismatch';
    message = unexpected.join('; ');
  } else if (reason === 'limit' && got < planned) {
    status = got <= sent ? 'truncated' : 'mismatch';
    message = `time limit reached after ${got} of ${planned} interrupts`;
    if (got > sent) message = `received ${got} but sent ${sent}`;
  } else if (got !== sent || sent !== planned) {
    status = 'mismatch';
    message = comps
      .filter((c) => c.delivered !== c.sent || c.sent !== c.planned)
      .map((c) => `${c.name}: sent ${c.sent} of ${c.planned}, received ${c.delivered}`)
      .join('; ');
  }
  return {
    status,
    message,
    sent,
    interrupts: got,
    exits,
    exitsPerInterrupt: got ? exits / got : 0,
    exitsByReason,
    traps,
    busyNs: busy,
    simNsPerInterrupt: got ? busy / got : 0,
    costBreakdown: got ? costBreakdown(slots, busy, got) : {},
    simTimeNs: vm.now,
  };
}

function snapshot(v: Vcpu): Snapshot {
  return {
    busy: v.clock - v.stats.blockedNs,
    costBy: Float64Array.from(v.costBy),
    exits: Float64Array.from(v.stats.exits),
    traps: new Map(v.stats.traps),
  };
}
