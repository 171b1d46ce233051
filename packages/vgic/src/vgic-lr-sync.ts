/**
 * The list registers filled from the ap_list on guest entry and folded back on exit (upstream KVM's
 * vgic_flush_hwstate / vgic_sync_hwstate with vgic_fold_lr_state and vgic_prune_ap_list; GICv3 IHI 0069
 * §11.4 "the List registers", GICv2 IHI 0048B §5.3 GICH_LRn). The ap_list itself is vgic-ap-list.ts; what a
 * pending state queued by another vCPU may show before its kick arrives is vgic-visibility.ts.
 *
 * Host cost. KVM folds and refills every used LR at each exit and entry, and the model charges (lrAccess per LR)
 * and traces (LrFold / LrLoad) exactly that. But an LR the guest left as the common path of the flush wrote it
 * (edge, not mapped, not a GICv2 SGI) is not cleared by the fold: its interrupt is folded back as usual (pending
 * latch, `lr`/`lrCpu`), while the register keeps its contents outside `usedLrs`, where nothing looks
 * (VgicCpuIf.keptLrs). The next flush, putting an interrupt into such an LR, compares instead of writing: the same
 * vINTID, state, priority, group and pINTID leave it as it is; anything else (an interrupt re-prioritised,
 * disabled, routed away or replaced in between) rewrites it. Kept LRs the flush does not use are invalidated.
 * Cheaper still, when nothing about the interrupt changed since it was written (VgicIrq.ver, a count of the changes
 * to everything the oracle and the LR derive from): the fold keeps the interrupt with its LR (`lrIrqs`) without
 * testing it, and the next flush, meeting the same interrupt for the same LR with the distributor's group enables
 * as they were, skips the oracle and the compare and redoes only the hypervisor's side of the load.
 *
 * @module
 */
import { IrqchipState, TraceCounter, TraceKind, type Vcpu } from '@irqflow/core';
import type { Vgic } from './vgic';
import { apCachedNext, apCachedWalk, apMarkAllRekey, apMarkPrune, apRemove, apSort } from './vgic-ap-list';
import type { VgicCpu } from './vgic-cpu';
import { LrState } from './vgic-cpuif';
import { IrqFlag, irqDeliverable, irqPending, VGIC_NR_SGIS, type VgicIrq } from './vgic-irq';
import { recheckAt } from './vgic-visibility';

// a module constant: read through @irqflow/core's export object the enum member is a dictionary-mode load per fold
const IRQCHIP_ACTIVE = IrqchipState.Active;

// Boolean fields are tested with `=== true` where the flush and fold run per exit: V8 tracks no type for them, and a
// plain test is its generic ToBoolean (about 11 instructions) where the comparison is one.

/** vgic_flush_hwstate: fills the list registers from the head of the ap_list (vgic-ap-list.ts). */
export function vgicFlush(vg: Vgic, vcpu: Vcpu): void {
  const c = vg.slot.get(vcpu);
  const hw = c.cpuif;
  const nr = hw.nrLrs;
  const len = c.apLen;
  hw.eoiCount = 0;
  if (len === 0) {
    dropKept(c, 0);
    hw.fastLrs = 0;
    hw.npie = hw.lrenpie = hw.uie = hw.vgrp0eie = hw.vgrp1eie = false;
    hw.updateLines();
    if (vg.vm.trace.on) traceCounters(vg, vcpu, 0, 0);
    return;
  }
  const eng = (hw.eng0 === true ? 1 : 0) | (hw.eng1 === true ? 2 : 0);
  if (eng !== c.apEng) {
    // the group enables are part of the sort key: every entry must be re-keyed at the next sort
    c.apEng = eng;
    apMarkAllRekey(c);
  }
  if (len > nr && c.apRekeyLen !== 0) apSort(c, eng);
  let n = 0;
  let act = 0;
  let grp0 = 0;
  let overP = false;
  // a pending state another vCPU queued is left out until its kick arrives (vgic-visibility.ts)
  const clock = vcpu.clock;
  // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
  let hidden = 1e999;
  // what hppiLr(-1, false) would find over the LRs written (pending only, group enabled, first on ties)
  let best = -1;
  let bestPrio = 0x100;
  const v2 = vg.v2 === true;
  const tr = vg.vm.trace;
  // LRs the fold left as they were (VgicCpuIf.keptLrs): rewritten only where what goes there differs
  const kept = hw.keptLrs;
  let fast = 0;
  // the distributor's group enables, for the oracle below, as bits (bit g = group g): a boolean field tested per
  // entry costs a full truthiness check each time
  const dist = (vg.enableGrp0 === true ? 1 : 0) | (vg.enableGrp1 === true ? 2 : 0);
  // a kept LR whose interrupt comes up for the same LR unchanged (below) needs no look at the interrupt at all
  const same = dist === c.lrDist ? kept : 0;
  c.lrDist = dist;
  apCachedWalk(c);
  for (let irq = apCachedNext(c); irq !== null; irq = apCachedNext(c)) {
    if (n < nr && ((same >> n) & 1) !== 0 && c.lrIrqs[n] === irq && irq.ver === c.lrVer[n]) {
      // LR n is one the last flush wrote on the common path below, for this interrupt, and the guest left it as it
      // was; since then nothing the oracle or the LR's contents derive from changed (no setter ran: same ver; same
      // distributor group enables; an interrupt visible then is visible now, and the fold gave the latch back
      // exactly as that flush consumed it). So the common path would find it for this vCPU and write the same LR:
      // only the hypervisor's side of the load is done again.
      const state = c.lrFlushState[n];
      const g = hw.lrGroup[n];
      if ((state & LrState.Pending) !== 0) irq.setLatchInLr(false);
      if ((state & LrState.Active) !== 0) act++;
      if (g === 0) grp0++;
      fast |= 1 << n;
      irq.lrCpu = c;
      irq.lr = n;
      if (tr.on) tr.emit(TraceKind.LrLoad, vg.vm.id, vcpu.index, vcpu.clock, irq.intid, n);
      if ((state as LrState) === LrState.Pending && ((eng >> g) & 1) !== 0 && hw.lrPrio[n] < bestPrio) {
        best = n;
        bestPrio = hw.lrPrio[n];
      }
      n++;
      continue;
    }
    // vg.oracle(irq) !== c (vgic_target_oracle), written out: a call per entry visited costs more than the rest
    // of the visit to an entry the flush leaves as it was
    const f0 = irq.stateBits;
    if ((f0 & IrqFlag.Active) !== 0) {
      if ((irq.apCpu ?? irq.targetCpu) !== c) continue;
    } else if ((f0 & IrqFlag.Enabled) === 0 || !irqPending(f0) || ((dist >> irq.group) & 1) === 0 || irq.targetCpu !== c) continue;
    const later = irq.visibleAt > clock;
    if (later) {
      if (irq.visibleAt < hidden) hidden = irq.visibleAt;
      if (!irq.active) continue;
    }
    if (n === nr) {
      // The first entry for this vCPU that did not fit. Sorted (the list only overflows after a sort), so
      // if it is not a pending one of an enabled group, no such entry was left out.
      overP = irqDeliverable(irq.stateBits) && ((eng >> irq.group) & 1) !== 0;
      break;
    }
    const f = irq.stateBits;
    const g = irq.group;
    if ((f & IrqFlag.Active) !== 0) act++;
    if (g === 0) grp0++;
    if (!later && (f & IrqFlag.Level) === 0 && !irq.hw && !(v2 && irq.intid < VGIC_NR_SGIS)) {
      // populateLr for the common case (edge, not mapped, not a GICv2 SGI), written out: the pending latch
      // moves into the LR, no EOI maintenance, no source
      let state = 0;
      if ((f & IrqFlag.Latch) !== 0) {
        state = LrState.Pending;
        irq.setLatchInLr(false);
      }
      if ((f & IrqFlag.Active) !== 0) state |= LrState.Active;
      const prio = irq.priority;
      if (
        ((kept >> n) & 1) === 0 ||
        hw.lrIntid[n] !== irq.intid ||
        hw.lrState[n] !== state ||
        hw.lrPrio[n] !== prio ||
        hw.lrGroup[n] !== g ||
        hw.lrPintid[n] !== irq.hostIrq
      ) {
        hw.lrState[n] = state;
        hw.lrIntid[n] = irq.intid;
        hw.lrPrio[n] = prio;
        hw.lrGroup[n] = g;
        hw.lrHw[n] = 0;
        hw.lrPintid[n] = irq.hostIrq;
        hw.lrEoi[n] = 0;
        hw.lrSource[n] = 0;
        c.lrFlushState[n] = state;
      }
      // (else LR n holds exactly that already: a kept LR is one this path wrote, with no HW/EOI/CPUID bits, the
      // guest left unchanged, and whose state the fold found equal to lrFlushState)
      fast |= 1 << n;
      c.lrIrqs[n] = irq;
      c.lrVer[n] = irq.ver;
      irq.lrCpu = c;
      irq.lr = n;
      if (tr.on) tr.emit(TraceKind.LrLoad, vg.vm.id, vcpu.index, vcpu.clock, irq.intid, n);
      if ((state as LrState) === LrState.Pending && ((eng >> g) & 1) !== 0 && prio < bestPrio) {
        best = n;
        bestPrio = prio;
      }
    } else {
      populateLr(vg, c, n, irq, later);
      if ((hw.lrState[n] as LrState) === LrState.Pending && ((eng >> hw.lrGroup[n]) & 1) !== 0 && hw.lrPrio[n] < bestPrio) {
        best = n;
        bestPrio = hw.lrPrio[n];
      }
    }
    n++;
  }
  // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
  if (hidden < 1e999) recheckAt(vcpu, hidden);
  // kept LRs past the ones used now become invalid, as every LR past usedLrs is while in the guest (the call only
  // when there are any: 70 instructions per interrupt with one pending, where there never are)
  if (hw.keptLrs !== 0) dropKept(c, n);
  hw.fastLrs = fast;
  hw.usedLrs = n;
  hw.npie = overP;
  // active entries left out (an active entry always belongs to the vCPU whose list holds it)
  hw.lrenpie = c.apActiveLen > act;
  // entries of a disabled group left out: maintenance when the guest enables it (entries not for this vCPU
  // that prune has yet to drop may count too: at worst one extra exit)
  hw.vgrp0eie = (eng & 1) === 0 && c.apGrp0 > grp0;
  hw.vgrp1eie = (eng & 2) === 0 && len - c.apGrp0 > n - grp0;
  hw.uie = false;
  vcpu.charge(vg.vm.costNs.lrAccess * n);
  hw.updateLinesFor(best, bestPrio);
  if (vg.vm.trace.on) traceCounters(vg, vcpu, len, n);
}

/**
 * Invalidates the kept LRs from LR `from` on (VgicCpuIf.dropKeptLrs) and forgets their interrupts: a kept LR's
 * interrupt stays in `lrIrqs` only until the next flush, which either loads it there again or drops it here.
 */
function dropKept(c: VgicCpu, from: number): void {
  const hw = c.cpuif;
  for (let k = hw.keptLrs & -(1 << from); k !== 0; k &= k - 1) c.lrIrqs[31 - Math.clz32(k & -k)] = null;
  hw.dropKeptLrs(from);
}

/** Trace: the vCPU's ap_list length (interrupts pending or active for it) and the LRs in use. */
function traceCounters(vg: Vgic, vcpu: Vcpu, pending: number, lrs: number): void {
  const tr = vg.vm.trace;
  tr.emit(TraceKind.Counter, vg.vm.id, vcpu.index, vcpu.clock, TraceCounter.Pending, pending);
  tr.emit(TraceKind.Counter, vg.vm.id, vcpu.index, vcpu.clock, TraceCounter.LrsInUse, lrs);
}

/** Loads `irq` into LR `i`; `hidden`: its pending state is not visible yet (only its active state is loaded). */
function populateLr(vg: Vgic, c: VgicCpu, i: number, irq: VgicIrq, hidden: boolean): void {
  const hw = c.cpuif;
  // the state bits in one read (the setters below change only the latch, which nothing after them reads)
  const f = irq.stateBits;
  const isHw = irq.hw;
  const level = (f & IrqFlag.Level) !== 0;
  const sgi2 = vg.v2 === true && irq.intid < VGIC_NR_SGIS;
  let state = 0;
  let eoi = 0;
  let src = 0;
  if (irqPending(f) && !hidden) {
    state |= LrState.Pending;
    if (sgi2) {
      const s = irq.source & -irq.source;
      src = s ? 31 - Math.clz32(s) : 0;
      irq.source &= ~s;
      irq.setLatchInLr(irq.source !== 0);
      if (irq.source !== 0) eoi = 1;
    } else if (!level) irq.setLatchInLr(false);
  }
  if ((f & IrqFlag.Active) !== 0) {
    state |= LrState.Active;
    if (sgi2) {
      if (state & LrState.Pending) {
        // One source per LR: keep the pending source for later, deliver the active one.
        irq.source |= 1 << src;
        irq.pendingLatch = true;
        eoi = 1;
      }
      state = LrState.Active;
      src = irq.activeSource;
    } else if (isHw || level) state = LrState.Active;
  }
  if (level && !isHw) eoi = 1;
  hw.lrState[i] = state;
  hw.lrIntid[i] = irq.intid;
  hw.lrPrio[i] = irq.priority;
  hw.lrGroup[i] = irq.group;
  hw.lrHw[i] = isHw ? 1 : 0;
  if (isHw) hw.hwLrs++;
  hw.lrPintid[i] = irq.hostIrq;
  hw.lrEoi[i] = eoi;
  hw.lrSource[i] = src;
  c.lrFlushState[i] = state;
  c.lrIrqs[i] = irq;
  irq.lrCpu = c;
  irq.lr = i;
  const tr = vg.vm.trace;
  if (tr.on) tr.emit(TraceKind.LrLoad, vg.vm.id, c.vcpu.index, c.vcpu.clock, irq.intid, i);
}

/** vgic_sync_hwstate: folds the list registers back, handles EOIcount, prunes the ap_list. */
export function vgicSync(vg: Vgic, vcpu: Vcpu): void {
  const c = vg.slot.get(vcpu);
  const hw = c.cpuif;
  const n = hw.usedLrs;
  const tr = vg.vm.trace;
  const fast = hw.fastLrs;
  let kept = 0;
  if (hw.eoiCount !== 0) eoiCountDeactivate(vg, c, hw.eoiCount);
  for (let i = 0; i < n; i++) {
    const irq = c.lrIrqs[i]!;
    const s = hw.lrState[i];
    if (tr.on) tr.emit(TraceKind.LrFold, vg.vm.id, vcpu.index, vcpu.clock, irq.intid, s);
    irq.lrCpu = null;
    irq.lr = -1;
    if (s === c.lrFlushState[i] && ((fast >> i) & 1) !== 0 && irq.ver === c.lrVer[i] && !irq.hw) {
      // Written by the flush's common path (edge, not mapped, not a GICv2 SGI, active as the interrupt then), left
      // alone by the guest, and no setter changed the interrupt since (same ver): the test below holds without
      // looking. The fold gives back the edge latch the flush consumed; the LR and its interrupt stay for the
      // next flush (VgicCpuIf.keptLrs; `lrIrqs` until that flush, see dropKept).
      if ((s & LrState.Pending) !== 0) irq.setLatchInLr(true);
      kept |= 1 << i;
      continue;
    }
    c.lrIrqs[i] = null;
    const f = irq.stateBits;
    // An LR the guest left as the flush wrote it (edge, not mapped, not a GICv2 SGI, active as the interrupt):
    // the fold only gives back the edge latch the flush consumed. Nothing that decides whether the interrupt
    // belongs on this list changed without a setter marking it for prune (VgicIrq), so prune need not look.
    if (
      s === c.lrFlushState[i] &&
      s !== 0 &&
      (f & IrqFlag.Level) === 0 &&
      ((s & LrState.Active) !== 0) === ((f & IrqFlag.Active) !== 0) &&
      !irq.hw &&
      !(vg.v2 === true && irq.intid < VGIC_NR_SGIS)
    ) {
      if ((s & LrState.Pending) !== 0) irq.setLatchInLr(true);
      // written by the flush's common path: left in place for the next flush (VgicCpuIf.keptLrs)
      if (((fast >> i) & 1) !== 0) kept |= 1 << i;
      continue;
    }
    apMarkPrune(c, irq);
    const wasActive = (f & IrqFlag.Active) !== 0;
    // (the setter only when it changes something: a call the fold's size keeps V8 from inlining)
    if (((s & LrState.Active) !== 0) !== wasActive) irq.active = !wasActive;
    const sgi2 = vg.v2 === true && irq.intid < VGIC_NR_SGIS;
    if (sgi2) {
      if (irq.active) irq.activeSource = hw.lrSource[i];
      if (s & LrState.Pending) {
        irq.source |= 1 << hw.lrSource[i];
        irq.pendingLatch = true;
      }
    } else if (!irq.level && s & LrState.Pending) irq.setLatchInLr(true);
    // A level interrupt's soft pending latch is consumed when the guest acknowledges it (P → A or invalid).
    if (irq.level && (c.lrFlushState[i] & LrState.Pending) !== 0 && (s & LrState.Pending) === 0) irq.pendingLatch = false;
    if (irq.mappedLevel) {
      irq.lineLevel = irq.getInputLevel!(vcpu, irq.intid);
      // vgic_irq_handle_resampling: a line found low while the guest does not hold the interrupt active
      // (still pending in the LR, or deactivated by the guest) releases the host interrupt, which may have
      // fired again and gone active after an EOI, so the next assertion of the line reaches the guest.
      if (!irq.lineLevel && (s & LrState.Active) === 0) vg.hostState(irq, IRQCHIP_ACTIVE, false);
    }
    if (s === 0 && hw.lrEoi[i] && !hw.lrHw[i] && irq.level) vg.notifyEoi(irq);
    else if (wasActive && !irq.active && irq.level && !irq.hw) vg.notifyEoi(irq);
  }
  hw.foldLrs(kept);
  hw.eoiCount = 0;
  if (n) vcpu.charge(vg.vm.costNs.lrAccess * n);
  vcpu.virq = false;
  vcpu.vfiq = false;
  prune(vg, c);
  if (tr.on && n) tr.emit(TraceKind.Counter, vg.vm.id, vcpu.index, vcpu.clock, TraceCounter.LrsInUse, 0);
}

/**
 * EOIcount: deactivate the highest-priority active interrupts that were not in an LR (the first in list order
 * among equal priorities). Only with LRENPIE, i.e. more active interrupts than LRs.
 */
function eoiCountDeactivate(vg: Vgic, c: VgicCpu, count: number): void {
  for (let k = 0; k < count; k++) {
    let best: VgicIrq | null = null;
    const act = c.apActive;
    for (let j = 0; j < c.apActiveLen; j++) {
      const irq = act[j];
      if (irq.lrCpu === c) continue;
      if (best === null || irq.priority < best.priority || (irq.priority === best.priority && irq.apOrd < best.apOrd)) best = irq;
    }
    if (best === null) return;
    best.active = false;
    c.vcpu.stats.completed++;
    if (vg.vm.trace.on) vg.vm.trace.emit(TraceKind.Deactivate, vg.vm.id, c.vcpu.index, c.vcpu.clock, best.intid, 0);
    vg.completed(best, true);
  }
}

/**
 * vgic_prune_ap_list: drops what no longer needs a vCPU and migrates what moved. Looks only at the entries
 * that were in the LRs and those whose state or target changed since the last prune (vgic-ap-list.ts): every
 * other entry still belongs here. Interrupts that move are queued on their new vCPU in list order.
 */
function prune(vg: Vgic, c: VgicCpu): void {
  const marks = c.apPrune;
  const m = c.apPruneLen;
  c.apPruneLen = 0;
  const moving = c.apMoving;
  let nm = 0;
  for (let k = 0; k < m; k++) {
    const irq = marks[k];
    (marks as (VgicIrq | null)[])[k] = null;
    if (irq.pruneCpu !== c) continue;
    irq.pruneCpu = null;
    if (irq.apCpu !== c) continue;
    const t = vg.oracle(irq);
    if (t === c) continue;
    apRemove(c, irq);
    irq.apCpu = null;
    if (t !== null) {
      // insertion by list order (apOrd is kept after removal); rarely more than one
      let j = nm++;
      while (j > 0 && moving[j - 1]!.apOrd > irq.apOrd) {
        moving[j] = moving[j - 1];
        j--;
      }
      moving[j] = irq;
    }
  }
  for (let k = 0; k < nm; k++) {
    const irq = moving[k]!;
    // the scratch list keeps no reference once used (an interrupt freed later must not stay reachable here)
    moving[k] = null;
    vg.queue(irq);
  }
}
