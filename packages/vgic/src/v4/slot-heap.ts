/**
 * A 4-ary min-heap of (key, slot) pairs in typed arrays: the lazily invalidated indexes the virtual pending
 * table (vpt.ts; Arm IHI 0069, 5.3 "Virtual LPI support") keeps over its slots. An entry says "slot `slot` had
 * key `key`"; the owner checks that against the slot when the entry reaches the top and drops it if the slot
 * changed (stale). Push and pop are O(log n) (four children per node: half the levels of a binary heap, and the
 * children share a cache line) and allocate nothing once the arrays have held as many entries as they hold now.
 *
 * @module
 */

/**
 * The heap. The top entry is at index 0 of {@link key} / {@link slot} (when {@link len} > 0).
 * @example
 * const h = new SlotHeap();
 * h.push(30, 1);
 * h.push(10, 2);
 * h.slot[0]; // 2
 * h.pop();
 * h.key[0]; // 30
 */
export class SlotHeap {
  /** The entries' keys (min at index 0). */
  key = new Float64Array(8);
  /** The entries' slots. */
  slot = new Int32Array(8);
  /** Number of entries. */
  len = 0;

  /** Adds (k, s). */
  push(k: number, s: number): void {
    if (this.len === this.key.length) this.room(2 * this.len);
    const key = this.key;
    const slot = this.slot;
    let i = this.len++;
    while (i > 0) {
      const p = (i - 1) >> 2;
      if (key[p] <= k) break;
      key[i] = key[p];
      slot[i] = slot[p];
      i = p;
    }
    key[i] = k;
    slot[i] = s;
  }

  /** Removes the top entry (len > 0). */
  pop(): void {
    const n = --this.len;
    if (n === 0) return;
    const key = this.key;
    const slot = this.slot;
    const k = key[n];
    const s = slot[n];
    let i = 0;
    for (;;) {
      const c = 4 * i + 1;
      if (c >= n) break;
      // the smallest of up to four children
      let m = c;
      let km = key[c];
      const e = c + 4 < n ? c + 4 : n;
      for (let j = c + 1; j < e; j++) {
        if (key[j] < km) {
          m = j;
          km = key[j];
        }
      }
      if (km >= k) break;
      key[i] = key[m];
      slot[i] = slot[m];
      i = m;
    }
    key[i] = k;
    slot[i] = s;
  }

  /** Makes room for at least `cap` entries (keeps the entries). */
  room(cap: number): void {
    if (cap <= this.key.length) return;
    const k = new Float64Array(cap);
    k.set(this.key.subarray(0, this.len));
    this.key = k;
    const s = new Int32Array(cap);
    s.set(this.slot.subarray(0, this.len));
    this.slot = s;
  }
}
