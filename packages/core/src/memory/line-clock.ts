/**
 * Cache coherence in simulated time (Arm DDI 0487, B2.3 "Definition of the Arm memory model": a store becomes
 * observable to other observers some time after it executes). A vCPU's store to guest RAM is visible to another
 * vCPU's load only `cacheLineTransfer` after it (the line moving between physical CPUs): a load of a line that
 * another vCPU stored to completes no earlier than that store plus the transfer — the load waits for the line,
 * as a coherence miss does. Loads and stores of the line's own writer, and of a page only one vCPU ever
 * touched, cost nothing extra.
 *
 * Bookkeeping stays off the hot path: a page touched by one vCPU only (its stack, its private data) keeps just
 * its owner and the time of its owner's latest store; per-line (64-byte) last-writer times and indices are kept
 * only once a second vCPU touches the page (then, conservatively, every line counts as written by the owner at
 * its latest store). One small record per page touched and two typed arrays per shared page, allocated once;
 * nothing per access.
 *
 * @module
 */
import { CostComponent } from '../cost/cost-component';
import { Errno, fail } from '../errno';
import type { Vcpu } from '../vm/vcpu';

const PAGE_SHIFT = 16;
const LINE_SHIFT = 6;
const LINES = 1 << (PAGE_SHIFT - LINE_SHIFT);
const SHARED = -1;

/** {@link LineClock.save}: per page (number, owner or -1 when shared, owner's latest store, line times, line writers). */
export type SavedLineClock = readonly (readonly [
  page: number,
  owner: number,
  lastStore: number,
  at: Float64Array | null,
  by: Int32Array | null,
])[];

/** Coherence state of one 64 KiB page. */
class PageLines {
  /** The only vCPU that touched the page, or SHARED. */
  owner: number;
  /** While private: the owner's latest store. */
  // eslint-disable-next-line no-loss-of-precision -- +Infinity written as a literal on purpose (see Scheduler.run)
  lastStore = -1e999;
  /** Once shared: per line, the time of the latest store by a vCPU. */
  at: Float64Array | null = null;
  /** Once shared: per line, the index of that vCPU. */
  by: Int32Array | null = null;

  constructor(owner: number) {
    this.owner = owner;
  }

  /** A second vCPU touched the page: from now on per line. */
  share(): void {
    const at = new Float64Array(LINES);
    at.fill(this.lastStore);
    const by = new Int32Array(LINES);
    by.fill(this.owner);
    this.at = at;
    this.by = by;
    this.owner = SHARED;
  }
}

/** Last-writer times of the guest RAM lines vCPUs store to (one per VM). */
export class LineClock {
  private readonly pages = new Map<number, PageLines>();
  private lastPn = -1;
  private last: PageLines | null = null;

  /** @param transferNs - the profile's `cacheLineTransfer` */
  constructor(readonly transferNs: number) {}

  private page(pn: number, v: Vcpu): PageLines {
    if (pn === this.lastPn) return this.last!;
    let p = this.pages.get(pn);
    if (p === undefined) {
      p = new PageLines(v.index);
      this.pages.set(pn, p);
    }
    this.lastPn = pn;
    this.last = p;
    return p;
  }

  /** `v` stores to [addr, addr + len) at its clock (len ≤ 8: one or two lines). */
  store(addr: number, len: number, v: Vcpu): void {
    const pn = Math.floor(addr / 65536);
    const p = this.page(pn, v);
    const me = v.index;
    if (p.owner === me) {
      p.lastStore = v.clock;
      return;
    }
    if (p.owner !== SHARED) p.share();
    const off = addr - pn * 65536;
    const l0 = off >>> LINE_SHIFT;
    const l1 = Math.min((off + len - 1) >>> LINE_SHIFT, LINES - 1);
    for (let l = l0; l <= l1; l++) {
      p.at![l] = v.clock;
      p.by![l] = me;
    }
  }

  /**
   * `v` loads [addr, addr + len): if another vCPU stored to one of its lines less than the transfer time before
   * `v`'s clock, `v`'s clock moves on to when the line arrives (the wait is the breakdown's `cacheLineTransfer`).
   */
  load(addr: number, len: number, v: Vcpu): void {
    const pn = Math.floor(addr / 65536);
    const p = this.page(pn, v);
    const me = v.index;
    if (p.owner === me) return;
    if (p.owner !== SHARED) p.share();
    const off = addr - pn * 65536;
    const l0 = off >>> LINE_SHIFT;
    const l1 = Math.min((off + len - 1) >>> LINE_SHIFT, LINES - 1);
    for (let l = l0; l <= l1; l++) {
      if (p.by![l] === me) continue;
      const ready = p.at![l] + this.transferNs;
      if (ready > v.clock) {
        v.costBy[CostComponent.CacheLineTransfer] += ready - v.clock;
        v.clock = ready;
      }
    }
  }

  /**
   * The state of every page touched, for a VM snapshot (vm-snapshot.ts): per page its number, owner (or -1 once
   * shared), the owner's latest store, and once shared the per-line store times and writers (copies).
   */
  save(): SavedLineClock {
    const out: [number, number, number, Float64Array | null, Int32Array | null][] = [];
    for (const [pn, p] of this.pages) out.push([pn, p.owner, p.lastStore, p.at && p.at.slice(), p.by && p.by.slice()]);
    return out;
  }

  /**
   * Replaces the state with `saved` ({@link save}'s result).
   * @throws KvmError EINVAL for a malformed one (the state is then unchanged)
   */
  restore(saved: SavedLineClock): void {
    if (!Array.isArray(saved)) fail(Errno.EINVAL, 'line clock: not a saved line clock');
    const pages = new Map<number, PageLines>();
    for (const e of saved) {
      const [pn, owner, lastStore, at, by] = Array.isArray(e) ? (e as unknown[]) : [];
      const shared = owner === SHARED;
      if (
        !Number.isInteger(pn) ||
        !Number.isInteger(owner) ||
        (owner as number) < SHARED ||
        typeof lastStore !== 'number' ||
        pages.has(pn as number)
      )
        fail(Errno.EINVAL, 'line clock: bad page entry');
      if (
        shared
          ? !(at instanceof Float64Array && at.length === LINES && by instanceof Int32Array && by.length === LINES)
          : at != null || by != null
      )
        fail(Errno.EINVAL, `line clock: page ${String(pn)} has bad line arrays`);
      const p = new PageLines(owner as number);
      p.lastStore = lastStore;
      if (shared) {
        p.at = (at as Float64Array).slice();
        p.by = (by as Int32Array).slice();
      }
      pages.set(pn as number, p);
    }
    this.pages.clear();
    this.lastPn = -1; // the one-page cache would still name a page of the old state
    this.last = null;
    for (const [pn, p] of pages) this.pages.set(pn, p);
  }
}
