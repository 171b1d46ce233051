/**
 * The named cost components of the breakdown: every simulated nanosecond the run loop or a controller charges
 * to a vCPU is also added to one slot of the vCPU's `Vcpu.costBy` array, by component index, so a run can
 * say where an interrupt's time went (`irqflow run` prints the top components, `--json` all of them). A slot
 * update is a typed-array add: nothing is allocated per charge.
 *
 * Component names are the {@link CostPrimitives} field that prices them, plus `guest` (plain guest
 * instructions: the vCPU's busy time not attributed to any other component — derived, never accumulated on
 * the hot path) and `ipiLatency`, which is delivery latency on the interrupt's path (the target waits for the
 * physical IPI; it is not busy time of anyone).
 *
 * @module
 */
import type { CostPrimitives } from './cost-profile';

/**
 * Index of a named cost component in `Vcpu.costBy`.
 *
 * @example
 * ```ts
 * vcpu.charge(vm.costNs.sgiDispatch, CostComponent.SgiDispatch);
 * const perIrq = costBreakdown(vcpu.costBy, vcpu.clock - vcpu.stats.blockedNs, interrupts);
 * ```
 */
export enum CostComponent {
  Hvc = 0,
  SysregTrap = 1,
  MmioKernel = 2,
  MmioUser = 3,
  IrqExit = 4,
  Wfi = 5,
  KickSend = 6,
  LrAccess = 7,
  CpuifAccess = 8,
  TimerAccess = 9,
  Exception = 10,
  HostIrq = 11,
  TimerIrq = 12,
  SgiDispatch = 13,
  ItsCommand = 14,
  WfiWake = 15,
  VpeResidency = 16,
  CacheLineTransfer = 17,
  IpiLatency = 18,
}

/** Number of accumulated component slots (the length of `Vcpu.costBy`). */
export const COST_COMPONENT_COUNT = 19;

/** Names of the accumulated components, indexable by {@link CostComponent}. */
export const COST_COMPONENT_NAMES: readonly (keyof CostPrimitives)[] = [
  'hvc',
  'sysregTrap',
  'mmioKernel',
  'mmioUser',
  'irqExit',
  'wfi',
  'kickSend',
  'lrAccess',
  'cpuifAccess',
  'timerAccess',
  'exception',
  'hostIrq',
  'timerIrq',
  'sgiDispatch',
  'itsCommand',
  'wfiWake',
  'vpeResidency',
  'cacheLineTransfer',
  'ipiLatency',
];

/** Components that are latency on the path, not busy time of the vCPU they are recorded on. */
export const LATENCY_COMPONENTS: readonly number[] = [CostComponent.IpiLatency];

/**
 * The component a cost primitive's charge is attributed to (e.g. an untrapped MMIO frame's `untrapped` key);
 * -1 for `cycle`: plain guest work is attributed to nothing (it is the `guest` remainder), and a typed-array
 * write at index -1 is a no-op.
 */
export function costComponentOf(key: keyof CostPrimitives): number {
  return COST_COMPONENT_NAMES.indexOf(key);
}

/**
 * Folds per-vCPU component slots into a named breakdown: `guest` = busy time minus every busy component;
 * components that are zero are left out.
 * @param slots - summed `Vcpu.costBy` deltas
 * @param busyNs - the vCPUs' busy simulated time over the same window
 * @param per - divisor (e.g. the interrupts delivered); 0 or less gives totals
 */
export function costBreakdown(slots: ArrayLike<number>, busyNs: number, per = 0): Record<string, number> {
  const out: Record<string, number> = {};
  const d = per > 0 ? per : 1;
  let attributed = 0;
  for (let i = 0; i < COST_COMPONENT_COUNT; i++) {
    const v = slots[i];
    if (!v) continue;
    if (!LATENCY_COMPONENTS.includes(i)) attributed += v;
    out[COST_COMPONENT_NAMES[i]] = v / d;
  }
  const guest = busyNs - attributed;
  if (guest > 1e-6) out.guest = guest / d;
  return out;
}

/** What {@link paidCostBy} reads of a vCPU. */
export interface PaidCostSource {
  readonly costBy: Float64Array;
  readonly reentryNs: number;
  readonly reentryComponent: number;
}

/**
 * The components a vCPU has paid on its own clock so far, into `out`: `costBy` less the re-entry part of its last
 * exit that it has not paid yet (an exit's cost is added to `costBy` in full when the vCPU leaves the guest, but
 * the re-entry part, 1 − EXIT_ENTRY_FRACTION, passes on its clock only when it enters the guest again). The
 * difference of two such snapshots of one vCPU is what it paid between them, so the components of a segment of an
 * interrupt's path never exceed the segment's time: the rest is plain guest work (or waiting).
 *
 * @example
 * ```ts
 * const at = paidCostBy(vcpu, new Float64Array(COST_COMPONENT_COUNT));
 * ```
 */
export function paidCostBy(v: PaidCostSource, out: Float64Array): Float64Array {
  out.set(v.costBy);
  out[v.reentryComponent] -= v.reentryNs;
  return out;
}
