/**
 * One point of a sweep — controller × workload × profile × vCPUs × list registers × seed — and the row it
 * produces. {@link runPoint} is the same code whether the point runs in the sweep's own process, on a worker
 * thread (piscina) or in an `irqflow worker` taking it from a queue (BullMQ), so every way gives the same rows.
 *
 * @module
 */
import 'reflect-metadata';
import type { Hypervisor } from '@irqflow/core';
import { createHypervisor } from '../hypervisor-factory';
import { findWorkload } from '../workloads/catalog';
import { runWorkload } from '../workloads/harness';

/** The inputs of one run. */
export interface SweepPoint {
  /** Controller (registered name). */
  readonly irqchip: string;
  /** Workload name. */
  readonly workload: string;
  /** Cost profile. */
  readonly profile: string;
  /** vCPUs. */
  readonly vcpus: number;
  /** List registers (`nrLrs` board option), or null for the controller's default. */
  readonly lrs: number | null;
  /** Seed. */
  readonly seed: number;
  /** Simulated-time limit (ns). */
  readonly durationNs: number;
}

/** One row of results.csv / results.jsonl: the inputs and what the run measured. */
export interface SweepRow extends SweepPoint {
  /** ok, mismatch, truncated, error or unsupported (as {@link WorkloadResult.status}). */
  status: string;
  /** Why it is not ok. */
  message?: string;
  /** Interrupts the workload sent. */
  sent: number;
  /** Interrupts delivered. */
  interrupts: number;
  /** Exits in the measured phase. */
  exits: number;
  /** Exits per interrupt. */
  exitsPerInterrupt: number;
  /** Busy simulated ns per interrupt. */
  simNsPerInterrupt: number;
  /** Exits by reason. */
  exitsByReason: Record<string, number>;
  /** The cost breakdown of the run (simulated ns by cost item), when the harness reports one. */
  costBreakdown?: Record<string, number>;
}

/** A stable identity of a point (what resume and queue job ids are keyed on). */
export function pointKey(p: SweepPoint): string {
  return `${p.irqchip}|${p.workload}|${p.profile}|${p.vcpus}|${p.lrs ?? '-'}|${p.seed}|${p.durationNs}`;
}

/** The measured fields of a row that has no measurement (the point failed before or outside its run). */
export function noMetrics(): Pick<SweepRow, 'sent' | 'interrupts' | 'exits' | 'exitsPerInterrupt' | 'simNsPerInterrupt' | 'exitsByReason'> {
  return { sent: 0, interrupts: 0, exits: 0, exitsPerInterrupt: 0, simNsPerInterrupt: 0, exitsByReason: {} };
}

const hypervisors = new Map<string, Hypervisor>();

/**
 * Runs one point. The hypervisor (with the plugin modules `plugins`, absolute paths) is built once per plugin
 * list and reused for later points in the same process or thread.
 */
export function runPoint(p: SweepPoint, plugins: readonly string[] = []): SweepRow {
  const k = plugins.join('\n');
  let hv = hypervisors.get(k);
  if (!hv) {
    hv = createHypervisor({ traceCapacity: 1 }, plugins).hv;
    hypervisors.set(k, hv);
  }
  const w = findWorkload(p.workload);
  const base: SweepRow = { ...p, status: 'error', ...noMetrics() };
  if (!w) return { ...base, message: `unknown workload '${p.workload}'` };
  const r = runWorkload(hv, w, {
    irqchip: p.irqchip,
    profile: p.profile,
    vcpus: p.vcpus,
    seed: p.seed,
    durationNs: p.durationNs,
    irqchipOptions: p.lrs === null ? undefined : { nrLrs: p.lrs },
  });
  const row: SweepRow = {
    ...p,
    status: r.status,
    ...(r.message !== undefined ? { message: r.message } : {}),
    sent: r.sent,
    interrupts: r.interrupts,
    exits: r.exits,
    exitsPerInterrupt: r.exitsPerInterrupt,
    simNsPerInterrupt: r.simNsPerInterrupt,
    exitsByReason: r.exitsByReason,
  };
  const cost = (r as { costBreakdown?: Record<string, number> }).costBreakdown;
  if (cost && typeof cost === 'object') row.costBreakdown = { ...cost };
  return row;
}
