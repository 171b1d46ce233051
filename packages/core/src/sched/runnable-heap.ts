/**
 * The scheduler's set of runnable vCPUs, ordered by (local clock, vCPU index), so the scheduler can always
 * pick the vCPU furthest behind in simulated time in O(log n), and a vCPU's clock can move without a scan
 * over all vCPUs.
 *
 * @module
 */

/** What the heap needs of a vCPU. */
export interface Schedulable {
  /** Local simulated clock in ns. */
  clock: number;
  /** Stable index (tie-breaker). */
  readonly index: number;
  /** @internal position in the runnable heap, -1 when not runnable */
  heapPos: number;
}

/**
 * Runnable vCPUs ordered by (clock, index). Implemented as a tournament (winner) tree over fixed leaves, one
 * per vCPU index: a clock change replays one leaf-to-root path with one comparison per level (a binary heap's
 * sift-down needs three), and the runner-up's clock is the smallest of the sibling winners along the winner's
 * path. The order is a strict total order, so the vCPU chosen is exactly the one a heap would choose.
 */
export class RunnableHeap<T extends Schedulable> {
  /** 1-based tree: node i has children 2i and 2i+1; leaves at cap + index; null = empty. */
  private t: (T | null)[] = [null, null];
  private cap = 1;
  private n = 0;

  /** Number of runnable vCPUs. */
  get size(): number {
    return this.n;
  }

  /** The vCPU with the smallest clock (or undefined). */
  peek(): T | undefined {
    return this.t[1] ?? undefined;
  }

  /** Clock of the second-smallest entry, or +Infinity (used as the run-ahead limit; written `1e999`: see Scheduler.run). */
  secondClock(): number {
    const t = this.t;
    const w = t[1];
    // eslint-disable-next-line no-loss-of-precision -- +Infinity written as a literal on purpose (see Scheduler.run)
    if (w === null || this.n < 2) return 1e999;
    // eslint-disable-next-line no-loss-of-precision -- +Infinity written as a literal on purpose (see Scheduler.run)
    let m = 1e999;
    for (let i = w.heapPos; i > 1; i >>= 1) {
      const s = t[i ^ 1];
      if (s !== null && s.clock < m) m = s.clock;
    }
    return m;
  }

  /** Whether `v` is in the heap. */
  has(v: T): boolean {
    return v.heapPos >= 0;
  }

  /** Adds `v` (no-op if present). */
  add(v: T): void {
    if (v.heapPos >= 0) return;
    if (v.index >= this.cap) this.grow(v.index);
    const pos = this.cap + v.index;
    this.t[pos] = v;
    v.heapPos = pos;
    this.n++;
    this.replay(pos);
  }

  /** Removes `v` (no-op if absent). */
  remove(v: T): void {
    const pos = v.heapPos;
    if (pos < 0) return;
    this.t[pos] = null;
    v.heapPos = -1;
    this.n--;
    this.replay(pos);
  }

  /** Restores order after `v.clock` changed. */
  update(v: T): void {
    const pos = v.heapPos;
    if (pos >= 0) this.replay(pos);
  }

  /** Recomputes the winners on the path from leaf `pos` to the root. */
  private replay(pos: number): void {
    const t = this.t;
    for (let i = pos >> 1; i >= 1; i >>= 1) {
      const a = t[2 * i];
      const b = t[2 * i + 1];
      t[i] = a === null ? b : b === null ? a : b.clock < a.clock || (b.clock === a.clock && b.index < a.index) ? b : a;
    }
  }

  /** Widens the tree to hold leaf `index` (vCPUs created after others ran; not a hot path). */
  private grow(index: number): void {
    const old = this.t;
    const oldCap = this.cap;
    let cap = oldCap;
    while (cap <= index) cap *= 2;
    this.cap = cap;
    this.t = new Array<T | null>(2 * cap).fill(null);
    for (let i = 0; i < oldCap; i++) {
      const v = old[oldCap + i];
      if (v === null) continue;
      const pos = cap + v.index;
      this.t[pos] = v;
      v.heapPos = pos;
      this.replay(pos);
    }
  }
}
