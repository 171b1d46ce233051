/**
 * Causal visibility of the ap_list (upstream KVM's `vgic_cpu.ap_list_head`, written under its lock by
 * vgic_queue_irq_unlock on whichever CPU makes an interrupt pending, read by the target's vgic_flush_hwstate and
 * kvm_vgic_vcpu_pending_irq). The run loop executes every trap in exact simulated-time order of its *start*, but
 * a trap's handler queues at a later instant of the sender's clock: the midpoint of the trap plus what the handler
 * charged before it (`sgiDispatch`; `itsCommand` per command of a GITS_CWRITER write). A target that exits for a
 * reason of its own just after the sender's trap began would otherwise flush, or decide not to block in WFI, with
 * an interrupt its sender has not produced yet.
 *
 * The rule. An interrupt another vCPU makes newly pending (a new ap_list entry, or a pending state added to an
 * entry already listed as active) carries `visibleAt`: the instant that vCPU's kick for it reaches the target —
 * the sender's clock once its handler has queued and kicked (`kickSend` included when a kick is sent) plus
 * `ipiLatency` (core's Scheduler.stampSignal, the same stamp as the kick). Before that instant the target's flush
 * leaves its pending state out of the list registers (an active entry still gets its LR, active only) and its WFI
 * check does not count it; either then posts an exit request to itself due at `visibleAt` ({@link recheckAt}),
 * standing for the sender's kick that KVM would send and the model may have folded into an earlier one. From the
 * host (device MSIs, irqfds, timers) or userspace nothing is deferred: a host event fires once every runnable vCPU
 * has reached its time, and userspace acts between runs. A target therefore takes such an interrupt at the same
 * instant whether or not it happens to exit on its own meanwhile, and lockstep and lookahead agree (flush and
 * traps run in exact order; `visibleAt` is fixed when the entry is queued).
 *
 * Costs: one comparison per entry the flush visits, one per deliverable entry the WFI check visits, no allocation.
 * A snapshot carries the `visibleAt` of the entries still hidden from their vCPU ({@link saveHidden}).
 *
 * @module
 */
import { REQ_EXIT, type Vcpu } from '@irqflow/core';
import type { Vgic } from './vgic';
import type { VgicCpu } from './vgic-cpu';
import { VGIC_MIN_LPI, type VgicIrq } from './vgic-irq';

/**
 * Stamps `irq`, queued on (or newly pending on) `t`'s ap_list by whoever is executing, after the kick: from
 * another vCPU it becomes visible when that kick reaches `t`; from `t` itself, the host or userspace at once
 * (`inserted`: a new entry, which forgets any earlier stamp; else the later stamp wins).
 */
export function stampQueued(vg: Vgic, irq: VgicIrq, t: VgicCpu, inserted: boolean): void {
  const s = vg.vm.scheduler;
  const cur = s.current;
  // (`=== true`: one compare, not the generic ToBoolean of a parameter V8 has no type for)
  if (cur === null || cur === t.vcpu) {
    if (inserted === true) setVisibleAt(irq, 0);
    return;
  }
  s.stampSignal(t.vcpu);
  const at = s.signalTime;
  if (inserted === true || at > irq.visibleAt) setVisibleAt(irq, at);
}

/** Sets `irq.visibleAt`; what the flush loads into a list register depends on it (VgicIrq.ver). */
function setVisibleAt(irq: VgicIrq, at: number): void {
  if (irq.visibleAt === at) return;
  irq.visibleAt = at;
  irq.ver++;
}

/**
 * Makes `vcpu` look at its ap_list again at `at` (a pending state it could not see yet becomes visible then): an
 * exit request due then (blocked, it is woken then). Posted as REQ_EXIT, not a kick, so that a kick another vCPU
 * sends meanwhile is not taken as already in flight.
 */
export function recheckAt(vcpu: Vcpu, at: number): void {
  vcpu.vm.scheduler.signalTime = at;
  vcpu.post(REQ_EXIT);
}

/** Snapshot: (vCPU index, INTID, visibleAt) of every ap_list entry still hidden from its vCPU. */
export type SavedHidden = readonly (readonly [vcpu: number, intid: number, visibleAt: number])[];

/**
 * The ap_list entries whose pending state some vCPU could still see hidden: `visibleAt` later than the earliest
 * vCPU clock (the target's flush, and any vCPU's pending-register read, {@link pendingSeen}, compare with it).
 */
export function saveHidden(vg: Vgic): SavedHidden {
  const out: [number, number, number][] = [];
  let earliest = Infinity;
  for (const v of vg.vm.vcpus) if (v.clock < earliest) earliest = v.clock;
  for (const c of vg.cpus) {
    if (c === undefined) continue;
    for (let k = 0; k < c.apLen; k++) {
      const irq = c.apList[k];
      if (irq.visibleAt > earliest) out.push([c.index, irq.intid, irq.visibleAt]);
    }
  }
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/**
 * Whether `saved` has the shape {@link saveHidden} writes: (vCPU index, INTID, finite visibleAt) triples, vCPU
 * indexes below `nrVcpus`. A snapshot restore checks it before it changes anything.
 */
export function isSavedHidden(saved: unknown, nrVcpus: number): boolean {
  if (!Array.isArray(saved)) return false;
  for (const e of saved as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3) return false;
    const [i, intid, at] = e as unknown[];
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= nrVcpus) return false;
    if (!Number.isInteger(intid) || (intid as number) < 0 || typeof at !== 'number' || !Number.isFinite(at)) return false;
  }
  return true;
}

/**
 * Snapshot restore: gives the listed entries their `visibleAt` back. An entry not on its vCPU's list yet (an LPI
 * the ITS restores after the vgic) is kept in `vg.hiddenStash` and applied by {@link applyHiddenStash} at the first
 * run. `saved` must have passed {@link isSavedHidden}.
 */
export function restoreHidden(vg: Vgic, saved: unknown): void {
  if (!Array.isArray(saved)) return;
  const rest: [number, number, number][] = [];
  for (const e of saved as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3 || !e.every((x) => typeof x === 'number')) continue;
    const [i, intid, at] = e as [number, number, number];
    if (!Number.isFinite(at)) continue;
    if (!setHidden(vg, i, intid, at) && intid >= VGIC_MIN_LPI) rest.push([i, intid, at]);
  }
  vg.hiddenStash = rest.length > 0 ? rest : null;
}

/** Applies what {@link restoreHidden} could not yet (entries the ITS restored since). */
export function applyHiddenStash(vg: Vgic): void {
  const st = vg.hiddenStash;
  if (st === null) return;
  vg.hiddenStash = null;
  for (const [i, intid, at] of st) setHidden(vg, i, intid, at);
}

function setHidden(vg: Vgic, i: number, intid: number, at: number): boolean {
  const c = vg.cpus[i];
  if (c === undefined) return false;
  const irq = vg.irq(c, intid);
  if (irq === undefined || irq.apCpu !== c) return false;
  setVisibleAt(irq, at);
  return true;
}

/**
 * The pending state of `irq` as a trapped guest register read (GICD_ISPENDR/ICPENDR, GICR_ISPENDR0) sees it: a
 * pending state another vCPU added is not seen by any vCPU whose clock is before its `visibleAt` (its sender's
 * handler instant plus the kick's latency; for a third vCPU that is later than the store's cache-line transfer, so
 * late rather than early). The sender itself reads no earlier than the end of its own trap, which is past that
 * instant. Userspace (between runs) sees it.
 */
export function pendingSeen(vg: Vgic, irq: VgicIrq): boolean {
  return vg.isPending(irq) && !hiddenNow(vg, irq);
}

/** Whether the pending state another vCPU added to `irq` is still hidden from the vCPU executing now (see {@link pendingSeen}). */
export function hiddenNow(vg: Vgic, irq: VgicIrq): boolean {
  const cur = vg.vm.scheduler.current;
  return cur !== null && irq.visibleAt > cur.clock;
}
