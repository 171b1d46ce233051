/**
 * A binary min-heap of (key, slot, generation) triples in typed arrays: the lazily invalidated index the virtual
 * pending table (vpt.ts; Arm IHI 0069, 5.3 "Virtual LPI support") keeps over its slots. An entry stands for slot
 * `slot` as it was at generation `gen`; the owner bumps a slot's generation when the slot changes, which makes
 * every older entry of it stale, and drops stale entries when they reach the top. Push and pop are O(log n) and
 * allocate nothing once the arrays have held as many entries as they hold now.
 *
 * @module
 */

/**
 * The heap. The top entry is at index 0 of {@link key} / {@link slot} / {@link gen} (when {@link len} > 0).
 * @example
 * const h = new SlotHeap();
 * h.push(30, 1, 0);
 * h.push(10, 2, 0);
 * h.slot[0]; // 2
 * h.pop();
 * h.key[0]; // 30
 */
export class SlotHeap {
  /** The entries' keys (min at index 0). */
  key = new Float64Array(8);
  /** The entries' slots. */
  slot = new Int32Array(8);
  /** The entries' generations. */
  gen = new Int32Array(8);
  /** Number of entries. */
  len = 0;

  /** Adds (k, s, g). */
  push(k: number, s: number, g: number): void {
    if (this.len === this.key.length) this.room(2 * this.len);
    const key = this.key;
    const slot = this.slot;
    const gen = this.gen;
    let i = this.len++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (key[p] <= k) break;
      key[i] = key[p];
      slot[i] = slot[p];
      gen[i] = gen[p];
      i = p;
    }
    key[i] = k;
    slot[i] = s;
    gen[i] = g;
  }

  /** Removes the top entry (len > 0). */
  pop(): void {
    const n = --this.len;
    if (n === 0) return;
    const key = this.key;
    const slot = this.slot;
    const gen = this.gen;
    const k = key[n];
    const s = slot[n];
    const g = gen[n];
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && key[m + 1] < key[m]) m++;
      if (key[m] >= k) break;
      key[i] = key[m];
      slot[i] = slot[m];
      gen[i] = gen[m];
      i = m;
    }
    key[i] = k;
    slot[i] = s;
    gen[i] = g;
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
    const g = new Int32Array(cap);
    g.set(this.gen.subarray(0, this.len));
    this.gen = g;
  }
}
