/**
 * The pending vLPIs of one vPE's virtual pending table (Arm IHI 0069, 5.3 "Virtual LPI support": the VPT the
 * redistributor reads while the vPE is resident), as the model keeps them: each pending vINTID with the
 * simulated time from which its vCPU sees it (see vpe.ts, "Causality").
 *
 * Cost. Making a vLPI pending, clearing it and consuming it on acknowledge are O(1) and allocate nothing once
 * the table has held as many entries as it holds now (open-addressing index by vINTID over slots in typed
 * arrays; a slot's entries are linked in the order they became pending, which is the order the model
 * presents ties and saves snapshots in). {@link nextArrival} — the earliest entry the vCPU cannot see yet —
 * takes amortized O(log n) from a min-heap on arrival time whose stale entries (cleared, re-stamped, or
 * arrived) are dropped lazily, instead of a scan over the table per line signal.
 *
 * @module
 */

/** Nothing: +Infinity as a literal (see core's Scheduler.run on why not the global). */
// eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
const NEVER = 1e999;

/**
 * Pending vINTIDs with their arrival times, in the order they became pending.
 * @example
 * const t = new VirtualPendingTable();
 * t.add(8192, 100);
 * t.add(8193, 50);
 * t.nextArrival(60); // 100: 8193 has arrived by 60, 8192 not yet
 * t.remove(8192);
 * t.ids(); // [8193]
 */
export class VirtualPendingTable {
  // slots: the entries, linked in pending order (head → tail), free slots chained through `next`
  private id = new Int32Array(8);
  private at = new Float64Array(8);
  private prev = new Int32Array(8);
  private next = new Int32Array(8);
  /** Bumped when a slot is freed or re-stamped: heap entries of an older generation are stale. */
  private gen = new Int32Array(8);
  private head = -1;
  private tail = -1;
  private free = -1;
  private used = 0;
  private n = 0;
  // index: vINTID → slot, open addressing with linear probing (key -1 = empty)
  private keys = new Int32Array(16).fill(-1);
  private vals = new Int32Array(16);
  /** 32 - log2(keys.length): the index's hash keeps the top bits. */
  private shift = 28;
  // arrival heap: (time, slot, generation), min on time
  private hAt = new Float64Array(8);
  private hSlot = new Int32Array(8);
  private hGen = new Int32Array(8);
  private hLen = 0;
  /** Largest clock {@link nextArrival} dropped arrived entries at; an earlier clock rebuilds the heap. */
  private dropped = -NEVER;

  /** Number of pending vINTIDs. */
  get size(): number {
    return this.n;
  }

  /** The first slot in pending order, or -1 (with {@link nextSlot}: walks the table allocation-free). */
  firstSlot(): number {
    return this.head;
  }

  /** The slot after `slot` in pending order, or -1. */
  nextSlot(slot: number): number {
    return this.next[slot];
  }

  /** The vINTID in `slot`. */
  idOf(slot: number): number {
    return this.id[slot];
  }

  /** The arrival time of the entry in `slot`. */
  atOf(slot: number): number {
    return this.at[slot];
  }

  /** Whether `intid` is pending. */
  has(intid: number): boolean {
    return this.find(intid) >= 0;
  }

  /** The pending vINTIDs in pending order (a new array: snapshots and tests, not the hot path). */
  ids(): number[] {
    const out: number[] = [];
    for (let s = this.head; s >= 0; s = this.next[s]) out.push(this.id[s]);
    return out;
  }

  /** Makes `intid` pending, seen from `at`; returns false (and changes nothing) if it already is. */
  add(intid: number, at: number): boolean {
    if ((intid | 0) !== intid || intid < 0 || this.find(intid) >= 0) return false;
    if (this.free < 0 && this.used === this.id.length) this.grow();
    let s: number;
    if (this.free >= 0) {
      s = this.free;
      this.free = this.next[s];
    } else s = this.used++;
    this.id[s] = intid;
    this.at[s] = at;
    this.prev[s] = this.tail;
    this.next[s] = -1;
    if (this.tail >= 0) this.next[this.tail] = s;
    else this.head = s;
    this.tail = s;
    this.n++;
    this.indexPut(intid, s);
    this.heapPush(at, s);
    return true;
  }

  /** Clears `intid`; returns whether it was pending. */
  remove(intid: number): boolean {
    const s = this.indexTake(intid);
    if (s < 0) return false;
    const p = this.prev[s];
    const q = this.next[s];
    if (p >= 0) this.next[p] = q;
    else this.head = q;
    if (q >= 0) this.prev[q] = p;
    else this.tail = p;
    this.gen[s]++;
    this.next[s] = this.free;
    this.free = s;
    this.n--;
    return true;
  }

  /** Re-stamps the arrival time of pending `intid` (a snapshot restore); no-op if not pending. */
  setAt(intid: number, at: number): void {
    const s = this.find(intid);
    if (s < 0) return;
    this.at[s] = at;
    this.gen[s]++;
    this.heapPush(at, s);
  }

  /** Drops every entry. */
  clear(): void {
    for (let s = this.head; s >= 0; s = this.next[s]) this.gen[s]++;
    this.keys.fill(-1);
    this.head = this.tail = this.free = -1;
    this.used = this.n = this.hLen = 0;
    this.dropped = -NEVER;
  }

  /** The earliest arrival time after `clock` among the entries (`1e999`: every entry has arrived by `clock`). */
  nextArrival(clock: number): number {
    if (clock < this.dropped) this.rebuildHeap(); // the clock went back (a restore): arrived entries may not be
    this.dropped = clock;
    while (this.hLen > 0) {
      const s = this.hSlot[0];
      const t = this.hAt[0];
      if (this.hGen[0] === this.gen[s] && t > clock) return t;
      this.heapPop(); // cleared, re-stamped, or arrived by `clock` (clocks only grow: it stays arrived)
    }
    return NEVER;
  }

  // ---- the index ---------------------------------------------------------------------------------------

  private home(intid: number): number {
    return Math.imul(intid, 0x9e3779b1) >>> this.shift;
  }

  private find(intid: number): number {
    if ((intid | 0) !== intid || intid < 0) return -1; // not a vINTID (and -1 marks an empty index cell)
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = this.home(intid); ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === intid) return this.vals[i];
      if (k === -1) return -1;
    }
  }

  private indexPut(intid: number, s: number): void {
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = this.home(intid);
    while (keys[i] !== -1) i = (i + 1) & mask;
    keys[i] = intid;
    this.vals[i] = s;
  }

  /** Removes `intid` from the index (backward-shift deletion: no tombstones); returns its slot or -1. */
  private indexTake(intid: number): number {
    if ((intid | 0) !== intid || intid < 0) return -1;
    const keys = this.keys;
    const vals = this.vals;
    const mask = keys.length - 1;
    let i = this.home(intid);
    while (keys[i] !== intid) {
      if (keys[i] === -1) return -1;
      i = (i + 1) & mask;
    }
    const s = vals[i];
    // close the gap: move up every later entry of the run whose home is not between the gap and it
    let gap = i;
    for (let j = (i + 1) & mask; keys[j] !== -1; j = (j + 1) & mask) {
      const h = this.home(keys[j]);
      if (((j - h) & mask) >= ((j - gap) & mask)) {
        keys[gap] = keys[j];
        vals[gap] = vals[j];
        gap = j;
      }
    }
    keys[gap] = -1;
    return s;
  }

  /** Doubles the slots and the index (only when the table holds more entries than it ever did). */
  private grow(): void {
    const cap = 2 * this.id.length;
    const wid = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const at = new Float64Array(cap);
    at.set(this.at);
    this.at = at;
    this.id = wid(this.id);
    this.prev = wid(this.prev);
    this.next = wid(this.next);
    this.gen = wid(this.gen);
    this.keys = new Int32Array(2 * cap).fill(-1);
    this.vals = new Int32Array(2 * cap);
    this.shift--;
    for (let s = this.head; s >= 0; s = this.next[s]) this.indexPut(this.id[s], s);
  }

  // ---- the arrival heap --------------------------------------------------------------------------------

  private heapPush(t: number, s: number): void {
    // bounded: stale entries beyond twice the table are dropped by a rebuild (amortized O(1) per push)
    if (this.hLen > 2 * this.n + 32) this.rebuildHeap();
    if (this.hLen === this.hAt.length) this.heapRoom(2 * this.hAt.length);
    const g = this.gen[s];
    let i = this.hLen++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.hAt[p] <= t) break;
      this.hAt[i] = this.hAt[p];
      this.hSlot[i] = this.hSlot[p];
      this.hGen[i] = this.hGen[p];
      i = p;
    }
    this.hAt[i] = t;
    this.hSlot[i] = s;
    this.hGen[i] = g;
  }

  /** Widens the heap's arrays to `cap` entries. */
  private heapRoom(cap: number): void {
    const a = new Float64Array(cap);
    a.set(this.hAt.subarray(0, this.hLen));
    this.hAt = a;
    const b = new Int32Array(cap);
    b.set(this.hSlot.subarray(0, this.hLen));
    this.hSlot = b;
    const c = new Int32Array(cap);
    c.set(this.hGen.subarray(0, this.hLen));
    this.hGen = c;
  }

  private heapPop(): void {
    const n = --this.hLen;
    if (n === 0) return;
    const t = this.hAt[n];
    const s = this.hSlot[n];
    const g = this.hGen[n];
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && this.hAt[m + 1] < this.hAt[m]) m++;
      if (this.hAt[m] >= t) break;
      this.hAt[i] = this.hAt[m];
      this.hSlot[i] = this.hSlot[m];
      this.hGen[i] = this.hGen[m];
      i = m;
    }
    this.hAt[i] = t;
    this.hSlot[i] = s;
    this.hGen[i] = g;
  }

  /** Rebuilds the heap from the live entries (every one: none is known to have arrived). */
  private rebuildHeap(): void {
    this.hLen = 0;
    this.dropped = -NEVER;
    if (this.hAt.length < this.n) this.heapRoom(2 * this.n);
    for (let s = this.head; s >= 0; s = this.next[s]) {
      const t = this.at[s];
      let i = this.hLen++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.hAt[p] <= t) break;
        this.hAt[i] = this.hAt[p];
        this.hSlot[i] = this.hSlot[p];
        this.hGen[i] = this.hGen[p];
        i = p;
      }
      this.hAt[i] = t;
      this.hSlot[i] = s;
      this.hGen[i] = this.gen[s];
    }
  }
}
