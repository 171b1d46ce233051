/**
 * Causal visibility of the rVIC's per-vCPU delivery list (the 2020 series' rvic-cpu.c: a SIGNAL hypercall on one
 * CPU makes the interrupt pending in the target's rVIC under its lock; the target sees it when it next enters the
 * guest, checks for a wake-up, or calls ACKNOWLEDGE). The run loop executes every trap in exact simulated-time
 * order of its start, while the SIGNAL handler makes the interrupt pending at a later instant of the sender's
 * clock (the trap's midpoint plus `sgiDispatch`).
 *
 * The rule (the same as the vgic's ap_list, vgic-visibility.ts there): an interrupt another vCPU makes newly
 * pending carries `visibleAt`, the instant that vCPU's kick reaches the target — the sender's clock after its
 * handler queued and kicked, plus `ipiLatency` (core's Scheduler.stampSignal). Before it the target's guest
 * entry does not assert the IRQ line for it, its WFI check does not count it and its ACKNOWLEDGE passes over it
 * (the next visible entry, in FIFO order, is acknowledged instead); an entry or WFI check that found only hidden
 * entries posts an exit request to itself due at the earliest `visibleAt` ({@link rvicRecheckAt}). Interrupts
 * made pending by the vCPU itself, the host (rVID inputs, MSIs, the timer) or userspace are visible at once.
 * No allocation; the checks walk only the hidden entries at the head of the list.
 *
 * @module
 */
import { REQ_EXIT, type Vcpu } from '@irqflow/core';
import type { RvicCpu } from './rvic-cpu';

/** Stamps `intid`, newly pending on `target`'s rVIC `c` by whoever is executing (after the kick, if any). */
export function rvicStampPending(target: Vcpu, c: RvicCpu, intid: number): void {
  const s = target.vm.scheduler;
  const cur = s.current;
  if (cur === null || cur === target) {
    c.visibleAt[intid] = 0;
    return;
  }
  s.stampSignal(target);
  c.visibleAt[intid] = s.signalTime;
}

/** Makes `vcpu` look at its rVIC again at `at` (an exit request due then; blocked, it is woken then). */
export function rvicRecheckAt(vcpu: Vcpu, at: number): void {
  vcpu.vm.scheduler.signalTime = at;
  vcpu.post(REQ_EXIT);
}

/**
 * Whether `vcpu`'s rVIC `c` has something it can see now; if not but something hidden is queued, arranges the
 * re-check when it becomes visible.
 */
export function rvicSignallingNow(vcpu: Vcpu, c: RvicCpu): boolean {
  if (!c.signalling) return false;
  const clock = vcpu.clock;
  if (c.firstVisible(clock) >= 0) return true;
  rvicRecheckAt(vcpu, c.nextVisible(clock));
  return false;
}

/** Snapshot: per vCPU index, the (intid, visibleAt) pairs not yet visible at that vCPU's clock. */
export type SavedRvicHidden = readonly (readonly [vcpu: number, intid: number, visibleAt: number])[];

/**
 * The entries some vCPU could still see hidden now ({@link SavedRvicHidden}): `visibleAt` later than the
 * earliest vCPU clock, since IS_PENDING lets any vCPU look at any vCPU's interrupts, not only the target's.
 */
export function saveRvicHidden(vcpus: readonly Vcpu[], cpuOf: (v: Vcpu) => RvicCpu | undefined): SavedRvicHidden {
  const out: [number, number, number][] = [];
  let earliest = Infinity;
  for (const v of vcpus) if (v.clock < earliest) earliest = v.clock;
  for (const v of vcpus) {
    const c = cpuOf(v);
    if (c === undefined) continue;
    const at = c.visibleAt;
    for (let i = 0; i < at.length; i++) if (at[i] > earliest && c.isPending(i)) out.push([v.index, i, at[i]]);
  }
  return out;
}

/**
 * Whether `saved` has the shape {@link saveRvicHidden} writes: (vCPU index below `nrVcpus`, INTID below
 * `nrTotal`, finite visibleAt) triples. A snapshot restore checks it before it changes anything.
 */
export function isSavedRvicHidden(saved: unknown, nrVcpus: number, nrTotal: number): boolean {
  if (!Array.isArray(saved)) return false;
  for (const e of saved as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3) return false;
    const [i, intid, at] = e as unknown[];
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= nrVcpus) return false;
    if (!Number.isInteger(intid) || (intid as number) < 0 || (intid as number) >= nrTotal) return false;
    if (typeof at !== 'number' || !Number.isFinite(at)) return false;
  }
  return true;
}

/** Snapshot restore of {@link saveRvicHidden}'s result (after the attributes; checked by {@link isSavedRvicHidden}). */
export function restoreRvicHidden(vcpus: readonly Vcpu[], cpuOf: (v: Vcpu) => RvicCpu | undefined, saved: unknown): void {
  if (!Array.isArray(saved)) return;
  for (const e of saved as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3 || !e.every((x) => typeof x === 'number' && Number.isFinite(x))) continue;
    const [i, intid, at] = e as [number, number, number];
    const v = vcpus[i];
    const c = v === undefined ? undefined : cpuOf(v);
    if (c !== undefined && Number.isInteger(intid) && intid >= 0 && intid < c.nrTotal) c.visibleAt[intid] = at;
  }
}
