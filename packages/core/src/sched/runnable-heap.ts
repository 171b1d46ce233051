/**
 * The scheduler's set of runnable vCPUs, ordered by (local clock, vCPU index), so the scheduler can always
 * pick the vCPU furthest behind in simulated time in O(log r) — r the number of runnable vCPUs, not the size
 * of the VM — and a vCPU's clock can move without a scan over all vCPUs.
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

/** Smallest number of leaves: the tree never shrinks below it, so a set of 0..2 runnable vCPUs never resizes. */
const MIN_LEAVES = 2;

/**
 * Runnable vCPUs ordered by (clock, index). Implemented as a tournament (winner) tree whose leaves are the
 * runnable vCPUs only, packed in slots 0 .. size-1 (a vCPU that leaves hands its slot to the last one): a clock
 * change replays one leaf-to-root path with one comparison per level, and the runner-up's clock is the smallest
 * of the sibling winners along the winner's path. The leaf count follows the number runnable (doubling when
 * full, halving when a quarter full), so a VM of 512 vCPUs of which 2 are runnable walks the same few levels
 * as a VM of 2. The order is a strict total order, so the vCPU chosen does not depend on which slot a vCPU
 * has: it is exactly the one a sorted list would put first.
 *
 * The running vCPU's clock advances during its slice without an update; a vCPU added meanwhile replays only
 * its own path, and the runner's path is replayed at the slice's end ({@link update}), after which every
 * winner is right again (a binary heap would have sifted the newcomer past the stale root).
 *
 * @example
 * const h = new RunnableHeap<Schedulable>();
 * const a = { clock: 5, index: 0, heapPos: -1 }, b = { clock: 3, index: 1, heapPos: -1 };
 * h.add(a);
 * h.add(b);
 * h.peek(); // b
 * h.secondClock(); // 5
 */
export class RunnableHeap<T extends Schedulable> {
  /** 1-based tree: node i has children 2i and 2i+1; slot s is leaf cap + s; null = empty. Only grows. */
  private t: (T | null)[] = new Array<T | null>(2 * MIN_LEAVES).fill(null);
  /** Leaves in use as the tree's width (a power of two, at least {@link MIN_LEAVES}). */
  private cap = MIN_LEAVES;
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
    if (this.n === this.cap) this.resize(2 * this.cap);
    const pos = this.cap + this.n++;
    this.t[pos] = v;
    v.heapPos = pos;
    this.replay(pos);
  }

  /** Removes `v` (no-op if absent): the last slot's vCPU takes its slot. */
  remove(v: T): void {
    const pos = v.heapPos;
    if (pos < 0) return;
    const t = this.t;
    const lastPos = this.cap + --this.n;
    const last = t[lastPos]!;
    v.heapPos = -1;
    t[lastPos] = null;
    if (last !== v) {
      t[pos] = last;
      last.heapPos = pos;
      this.replay(pos);
    }
    this.replay(lastPos);
    if (this.cap > MIN_LEAVES && 4 * this.n <= this.cap) this.resize(this.cap >> 1);
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

  /**
   * Re-lays the slots as `cap` leaves and recomputes every winner: O(cap), at most once per cap/4 adds or
   * removes, so O(1) amortized. The array only grows (a shrunk tree uses its prefix).
   */
  private resize(cap: number): void {
    const old = this.cap;
    if (2 * cap > this.t.length) {
      const t = new Array<T | null>(2 * cap).fill(null);
      for (let s = 0; s < this.n; s++) t[old + s] = this.t[old + s];
      this.t = t;
    }
    const t = this.t;
    const n = this.n;
    // move the n slots from row `old` to row `cap`: shrinking (n <= cap / 2) the rows do not overlap, and the
    // old row is cleared so it holds no stale vCPU; growing (n = old) the old row becomes inner nodes
    for (let s = 0; s < n; s++) t[cap + s] = t[old + s];
    if (cap < old) for (let s = 0; s < n; s++) t[old + s] = null;
    for (let i = cap + n; i < 2 * cap; i++) t[i] = null;
    for (let s = 0; s < n; s++) t[cap + s]!.heapPos = cap + s;
    this.cap = cap;
    for (let i = cap - 1; i >= 1; i--) {
      const a = t[2 * i];
      const b = t[2 * i + 1];
      t[i] = a === null ? b : b === null ? a : b.clock < a.clock || (b.clock === a.clock && b.index < a.index) ? b : a;
    }
  }
}
