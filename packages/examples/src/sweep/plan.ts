/**
 * The points of a sweep: the cross product of controllers, workloads, profiles, vCPU counts, list-register
 * counts and seeds 1..N, in a fixed order (the order of results.csv and results.jsonl).
 *
 * @module
 */
import type { SweepPoint } from './point';

/** What a sweep varies. */
export interface SweepPlan {
  /** Controllers. */
  readonly irqchips: readonly string[];
  /** Workloads. */
  readonly workloads: readonly string[];
  /** Cost profiles. */
  readonly profiles: readonly string[];
  /** vCPU counts. */
  readonly vcpus: readonly number[];
  /** List-register counts (`[null]`: the controller's default). */
  readonly lrs: readonly (number | null)[];
  /** Number of seeds (seeds 1..seeds). */
  readonly seeds: number;
  /** Simulated-time limit per point (ns). */
  readonly durationNs: number;
}

/** Every point of `plan`, in result order (workload, profile, lrs, controller, vCPUs, seed). */
export function planPoints(plan: SweepPlan): SweepPoint[] {
  const out: SweepPoint[] = [];
  for (const workload of plan.workloads)
    for (const profile of plan.profiles)
      for (const lrs of plan.lrs)
        for (const irqchip of plan.irqchips)
          for (const vcpus of plan.vcpus)
            for (let seed = 1; seed <= plan.seeds; seed++)
              out.push({ irqchip, workload, profile, vcpus, lrs, seed, durationNs: plan.durationNs });
  return out;
}
