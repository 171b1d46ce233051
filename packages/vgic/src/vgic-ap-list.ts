/**
 * The ap_list of one vCPU (upstream KVM's `vgic_cpu.ap_list_head`, arch/arm64/kvm/vgic/vgic.c) as a structure
 * whose cost follows what changed, not how long the list is.
 *
 * Order. KVM sorts the list at flush (vgic_sort_ap_list / vgic_irq_cmp, newest mainline) and fills the list
 * registers from its head: interrupts of a group the vCPU has enabled (ICH_VMCR_EL2.VENG0/VENG1) before those of
 * a disabled group, within each pending-and-not-active before the rest, then by priority (lower value first); the
 * INTID breaks ties so the order is total. The model sorts only when the list holds more entries than there are
 * LRs and something changed since the last sort; otherwise the list keeps its order (entries appended at the
 * tail), which decides which LR an interrupt gets and so which of two equal-priority interrupts the guest
 * acknowledges first.
 *
 * Representation. Every entry carries an order key `apOrd`: its sort key as of the last sort it took part in, or
 * for an entry appended since, {@link AP_APPENDED} plus an append counter. Ascending `apOrd` is exactly the list's
 * order. The entries live in a binary min-heap on `apOrd` (`apList[0 .. apLen)`, `apIdx` = position), so a sort only
 * re-keys the entries whose key may have changed — appended ones and those whose state changed, collected by
 * {@link apMarkRekey} — in O(log n) each, and the flush visits the list's head in order without touching the rest
 * ({@link apWalk}); while no entry was inserted, removed or re-keyed since the last flush, the flush replays the entries
 * that flush's walk visited instead ({@link apCachedWalk}). Removal by handle is O(log n). What prune must look at — the interrupts that were in
 * the LRs and those whose state or target changed — is collected the same way ({@link apMarkPrune}), so a fold
 * costs what it folded, not the length of the list.
 *
 * @module
 */
import type { VgicCpu } from './vgic-cpu';
import { irqDeliverable, type VgicIrq } from './vgic-irq';

/** `apOrd` of appended entries starts here: above every sort key (class < 4, so keys < 2^34). */
export const AP_APPENDED = 2 ** 36;

/**
 * The sort key of `irq` on a vCPU whose VMCR group enables are `eng` (bit 0 = VENG0, bit 1 = VENG1), as one exact
 * number: class (0 = group enabled, pending and not active; 1 = group enabled, the rest; 2, 3 = the same for a
 * disabled group) above the 8-bit priority above the 24-bit INTID.
 */
export function apKey(irq: VgicIrq, eng: number): number {
  const on = ((eng >> irq.group) & 1) !== 0;
  const cls = (on ? 0 : 2) + (irqDeliverable(irq.stateBits) ? 0 : 1);
  return cls * 0x1_0000_0000 + irq.priority * 0x100_0000 + irq.intid;
}

function siftUp(c: VgicCpu, i: number, x: VgicIrq): void {
  const list = c.apList;
  const k = x.apOrd;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const y = list[p];
    if (y.apOrd <= k) break;
    list[i] = y;
    y.apIdx = i;
    i = p;
  }
  list[i] = x;
  x.apIdx = i;
}

function siftDown(c: VgicCpu, i: number, x: VgicIrq): void {
  const list = c.apList;
  const n = c.apLen;
  const k = x.apOrd;
  for (;;) {
    let m = 2 * i + 1;
    if (m >= n) break;
    let y = list[m];
    if (m + 1 < n && list[m + 1].apOrd < y.apOrd) y = list[++m];
    if (y.apOrd >= k) break;
    list[i] = y;
    y.apIdx = i;
    i = m;
  }
  list[i] = x;
  x.apIdx = i;
}

/** Appends `irq` to the tail of `c`'s list (the caller sets `irq.apCpu`). */
export function apInsert(c: VgicCpu, irq: VgicIrq): void {
  irq.apOrd = AP_APPENDED + c.apSeq++;
  c.apGen++;
  const list = c.apList;
  const n = c.apLen++;
  // the array only grows: a shrinking backing store would be reallocated as the list fills again
  if (n === list.length) list.push(irq);
  siftUp(c, n, irq);
  if (irq.active) apActiveAdd(c, irq);
  if (irq.group === 0) c.apGrp0++;
  apMarkRekey(c, irq);
}

/** Removes `irq` from `c`'s list (the caller clears `irq.apCpu`). */
export function apRemove(c: VgicCpu, irq: VgicIrq): void {
  const list = c.apList;
  const i = irq.apIdx;
  apDropWalk(c);
  const last = list[--c.apLen];
  // nothing past the used length keeps an interrupt alive (an LPI discarded from the ITS may be collected)
  (list as (VgicIrq | null)[])[c.apLen] = null;
  irq.apIdx = -1;
  if (irq.active) apActiveRemove(c, irq);
  if (irq.group === 0) c.apGrp0--;
  if (last === irq) return;
  if (i > 0 && list[(i - 1) >> 1].apOrd > last.apOrd) siftUp(c, i, last);
  else siftDown(c, i, last);
}

/** Records that `irq`, on `c`'s list, is active. */
export function apActiveAdd(c: VgicCpu, irq: VgicIrq): void {
  const n = c.apActiveLen++;
  irq.actIdx = n;
  // the array only grows (popping it empty would free its store, and the next push allocate one)
  if (n === c.apActive.length) c.apActive.push(irq);
  else c.apActive[n] = irq;
}

/** Records that `irq`, on `c`'s list, is no longer active (or leaves the list). */
export function apActiveRemove(c: VgicCpu, irq: VgicIrq): void {
  const a = c.apActive;
  const last = a[--c.apActiveLen];
  (a as (VgicIrq | null)[])[c.apActiveLen] = null;
  if (last !== irq) {
    a[irq.actIdx] = last;
    last.actIdx = irq.actIdx;
  }
  irq.actIdx = -1;
}

/** Gives `irq` (on `c`'s list) the order key `k`. */
function apReorder(c: VgicCpu, irq: VgicIrq, k: number): void {
  const old = irq.apOrd;
  irq.apOrd = k;
  c.apGen++;
  if (k < old) siftUp(c, irq.apIdx, irq);
  else siftDown(c, irq.apIdx, irq);
}

/** Records that `irq`'s sort key may have changed: the next sort re-keys it. O(1), no allocation once warm. */
export function apMarkRekey(c: VgicCpu, irq: VgicIrq): void {
  if (irq.rekeyCpu === c) return;
  irq.rekeyCpu = c;
  if (c.apRekeyLen > 2 * c.apLen + 32) c.apRekeyLen = compact(c, c.apRekey, c.apRekeyLen, true);
  c.apRekey[c.apRekeyLen++] = irq;
}

/** Records that `irq` may no longer belong on `c`'s list (state or target changed): the next prune looks at it. */
export function apMarkPrune(c: VgicCpu, irq: VgicIrq): void {
  if (irq.pruneCpu === c) return;
  irq.pruneCpu = c;
  if (c.apPruneLen > 2 * c.apLen + 32) c.apPruneLen = compact(c, c.apPrune, c.apPruneLen, false);
  c.apPrune[c.apPruneLen++] = irq;
}

/**
 * Drops from a mark list what is no longer marked for `c` or no longer on `c`'s list, keeping the rest (each
 * entry is marked at most once, so what is kept is at most the list's length). Bounds the mark lists of a vCPU
 * that does not sort or prune for a long time while its list churns.
 */
function compact(c: VgicCpu, marks: VgicIrq[], len: number, rekey: boolean): number {
  let j = 0;
  for (let k = 0; k < len; k++) {
    const irq = marks[k];
    const mine = rekey ? irq.rekeyCpu === c : irq.pruneCpu === c;
    if (!mine) continue;
    if (irq.apCpu !== c) {
      if (rekey) irq.rekeyCpu = null;
      else irq.pruneCpu = null;
      continue;
    }
    marks[j++] = irq;
  }
  for (let k = j; k < len; k++) (marks as (VgicIrq | null)[])[k] = null;
  return j;
}

/**
 * The sort: every entry whose key may have changed gets its current key (`eng`: the VMCR group enables the keys
 * are computed with). Afterwards ascending `apOrd` is the order {@link apKey} defines for the whole list.
 */
export function apSort(c: VgicCpu, eng: number): void {
  const marks = c.apRekey;
  const n = c.apRekeyLen;
  c.apRekeyLen = 0;
  for (let k = 0; k < n; k++) {
    const irq = marks[k];
    (marks as (VgicIrq | null)[])[k] = null;
    if (irq.rekeyCpu !== c) continue;
    irq.rekeyCpu = null;
    if (irq.apCpu !== c) continue;
    const key = apKey(irq, eng);
    if (key !== irq.apOrd) apReorder(c, irq, key);
  }
}

/** Marks every entry of `c`'s list for re-keying (the VMCR group enables the keys depend on changed). */
export function apMarkAllRekey(c: VgicCpu): void {
  const list = c.apList;
  for (let k = 0; k < c.apLen; k++) apMarkRekey(c, list[k]);
}

/**
 * Starts a walk over `c`'s entries in list order (ascending `apOrd`): {@link apNext} returns them one by one.
 * Visiting v entries touches O(v log v) of them, whatever the list's length. The list must not change during
 * the walk.
 */
export function apWalk(c: VgicCpu): void {
  const n = c.apLen;
  if (c.apFrontier.length < n) c.apFrontier = new Int32Array(Math.max(n, 2 * c.apFrontier.length));
  c.apFrontier[0] = 0;
  c.apFrontierLen = n === 0 ? 0 : 1;
}

/** The next entry of the walk {@link apWalk} started, or null at the end of the list. */
export function apNext(c: VgicCpu): VgicIrq | null {
  let qn = c.apFrontierLen;
  if (qn === 0) return null;
  const list = c.apList;
  const n = c.apLen;
  // the frontier is a min-heap of heap positions keyed by their entries' apOrd
  const q = c.apFrontier;
  const top = q[0];
  const lastPos = q[--qn];
  if (qn > 0) {
    const k = list[lastPos].apOrd;
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= qn) break;
      if (m + 1 < qn && list[q[m + 1]].apOrd < list[q[m]].apOrd) m++;
      if (list[q[m]].apOrd >= k) break;
      q[i] = q[m];
      i = m;
    }
    q[i] = lastPos;
  }
  // the children of the visited entry join the frontier
  for (let ch = 2 * top + 1; ch <= 2 * top + 2 && ch < n; ch++) {
    const k = list[ch].apOrd;
    let i = qn++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (list[q[p]].apOrd <= k) break;
      q[i] = q[p];
      i = p;
    }
    q[i] = ch;
  }
  c.apFrontierLen = qn;
  return list[top];
}

/**
 * Forgets the cached walk ({@link apCachedWalk}): an entry leaves the list, and the cache keeps no reference to
 * it (an LPI discarded from the ITS may be collected).
 */
function apDropWalk(c: VgicCpu): void {
  c.apGen++;
  const seq = c.apWalkSeq as (VgicIrq | null)[];
  for (let k = 0; k < c.apWalkLen; k++) seq[k] = null;
  c.apWalkLen = 0;
  c.apWalkGen = -1;
}

/**
 * Starts the flush's walk over `c`'s entries in list order: {@link apCachedNext} returns them one by one, as
 * {@link apWalk}/{@link apNext} would. While the list's order has not changed since the last such walk (no entry
 * inserted, removed or re-keyed: `apGen`), the entries that walk visited are replayed from `apWalkSeq` without
 * touching the heap, and the frontier is only rebuilt if this walk goes further. The list must not change during
 * the walk.
 */
export function apCachedWalk(c: VgicCpu): void {
  c.apWalkPos = 0;
  if (c.apWalkGen === c.apGen) {
    c.apWalking = false;
    return;
  }
  const seq = c.apWalkSeq as (VgicIrq | null)[];
  for (let k = 0; k < c.apWalkLen; k++) seq[k] = null;
  c.apWalkLen = 0;
  c.apWalkGen = c.apGen;
  c.apWalkEnd = false;
  apWalk(c);
  c.apWalking = true;
}

/** The next entry of the walk {@link apCachedWalk} started, or null at the end of the list. */
export function apCachedNext(c: VgicCpu): VgicIrq | null {
  const j = c.apWalkPos;
  const seq = c.apWalkSeq;
  if (j < c.apWalkLen) {
    c.apWalkPos = j + 1;
    return seq[j];
  }
  if (c.apWalkEnd) return null;
  if (!c.apWalking) {
    // the replay ran out: walk the heap again up to where the cached walk stopped
    apWalk(c);
    for (let k = 0; k < c.apWalkLen; k++) apNext(c);
    c.apWalking = true;
  }
  const irq = apNext(c);
  if (irq === null) {
    c.apWalkEnd = true;
    return null;
  }
  // the array only grows (popping it empty would free its store, and the next push allocate one)
  if (j === seq.length) seq.push(irq);
  else seq[j] = irq;
  c.apWalkLen = j + 1;
  c.apWalkPos = j + 1;
  return irq;
}
