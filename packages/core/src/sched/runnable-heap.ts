/**
 * The scheduler's set of runnable vCPUs: an indexed min-heap ordered by (local clock, vCPU index), so the
 * scheduler can always pick the vCPU furthest behind in simulated time in O(log n), and a vCPU's clock can
 * move without a scan over all vCPUs.
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

/** Indexed min-heap of runnable vCPUs. */
export class RunnableHeap<T extends Schedulable> {
  private h: T[] = [];

  /** Number of runnable vCPUs. */
  get size(): number {
    return this.h.length;
  }

  /** The vCPU with the smallest clock (or undefined). */
  peek(): T | undefined {
    return this.h[0];
  }

  /** Clock of the second-smallest entry, or +Infinity (used as the run-ahead limit). */
  secondClock(): number {
    const h = this.h;
    if (h.length < 2) return Infinity;
    if (h.length === 2) return h[1].clock;
    return Math.min(h[1].clock, h[2].clock);
  }

  /** Whether `v` is in the heap. */
  has(v: T): boolean {
    return v.heapPos >= 0;
  }

  /** Adds `v` (no-op if present). */
  add(v: T): void {
    if (v.heapPos >= 0) return;
    v.heapPos = this.h.length;
    this.h.push(v);
    this.up(v.heapPos);
  }

  /** Removes `v` (no-op if absent). */
  remove(v: T): void {
    const i = v.heapPos;
    if (i < 0) return;
    const last = this.h.pop()!;
    v.heapPos = -1;
    if (i < this.h.length) {
      this.h[i] = last;
      last.heapPos = i;
      this.down(i);
      this.up(last.heapPos);
    }
  }

  /** Restores order after `v.clock` changed. */
  update(v: T): void {
    if (v.heapPos < 0) return;
    this.down(v.heapPos);
    this.up(v.heapPos);
  }

  private less(a: T, b: T): boolean {
    return a.clock < b.clock || (a.clock === b.clock && a.index < b.index);
  }

  private up(i: number): void {
    const h = this.h;
    const e = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(e, h[p])) break;
      h[i] = h[p];
      h[i].heapPos = i;
      i = p;
    }
    h[i] = e;
    e.heapPos = i;
  }

  private down(i: number): void {
    const h = this.h;
    const n = h.length;
    const e = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1], h[c])) c++;
      if (!this.less(h[c], e)) break;
      h[i] = h[c];
      h[i].heapPos = i;
      i = c;
    }
    h[i] = e;
    e.heapPos = i;
  }
}
