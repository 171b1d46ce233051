/**
 * The pending vLPIs of one vPE's virtual pending table (Arm IHI 0069, 5.3 "Virtual LPI support": the VPT the
 * redistributor reads while the vPE is resident, and from which it presents the highest-priority enabled pending
 * vLPI to the virtual CPU interface), as the model keeps them: each pending vINTID with the simulated time from
 * which its vCPU sees it (see vpe.ts, "Causality") and its selection key, (priority, vINTID) packed in one number
 * by the vPE from the vLPI's configuration (5.1.1 "LPI configuration tables": priority and enable), or
 * {@link NO_KEY} when it cannot be presented (disabled).
 *
 * Cost. Making a vLPI pending, clearing it and consuming it on acknowledge are O(1) (plus O(log n) pushes into
 * the heaps below) and allocate nothing once the table has held as many entries as it holds now
 * (open-addressing index by vINTID over slots in typed arrays; a slot's entries are linked in the order they
 * became pending, which is the order snapshots are saved in). Three lazily invalidated min-heaps (slot-heap.ts)
 * answer the redistributor's questions without a walk over the table:
 * - `waiting`, on arrival time, over the entries the vCPU cannot see yet: {@link nextArrival}, and the source the
 *   next one moves from into `ready` when the clock passes its arrival;
 * - `ready`, on the key, over the arrived entries: {@link bestArrived} (what the CPU interface sees at its clock);
 * - `all`, on the key, over every entry: {@link bestAll} (the doorbell's question, arrival not considered).
 * A heap entry (key, slot) is checked against its slot when it reaches the top: it stands for the slot's entry
 * while the slot is in use, in the heap's state (`waiting`: not arrived; `ready`: arrived) and with that arrival
 * time / key (the key holds the vINTID, so a reused slot's old entries do not match). Stale entries are dropped
 * there; one that matches again (re-keyed back, re-stamped to the same time) is a duplicate of a live entry,
 * harmless. A heap that holds more than twice the table's entries is rebuilt (amortised O(1) per push). `all` is
 * kept only while someone asks it (see {@link VirtualPendingTable.dropAll}). A clock that goes back (a restore)
 * moves every entry back to `waiting` (O(n), rare).
 *
 * @module
 */
import { SlotHeap } from './slot-heap';

/** Nothing: +Infinity as a literal (see core's Scheduler.run on why not the global). */
// eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
const NEVER = 1e999;

/** The key of an entry that is never presented (a disabled vLPI). */
// eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
export const NO_KEY = 1e999;

/**
 * The `waiting` heap's key for arrival time `at`: a NaN time (only a restore can give one) counts as arrived at
 * every clock, as `at > clock` being false made it for a walk, so it sorts first instead of disordering the heap.
 */
function arrivalKey(at: number): number {
  return at === at ? at : -NEVER;
}

/**
 * Pending vINTIDs with their arrival times and selection keys, in the order they became pending.
 * @example
 * const t = new VirtualPendingTable();
 * t.add(8192, 100, 1);
 * t.add(8193, 50, 2);
 * t.nextArrival(60); // 100: 8193 has arrived by 60, 8192 not yet
 * t.idOf(t.bestArrived(60)); // 8193: the only one arrived
 * t.idOf(t.bestAll()); // 8192: the smaller key
 * t.remove(8192);
 * t.ids(); // [8193]
 */
export class VirtualPendingTable {
  // slots: the entries, linked in pending order (head → tail), free slots chained through `next`
  /** vINTID of each slot, -1 when free. */
  private id = new Int32Array(8).fill(-1);
  private at = new Float64Array(8);
  private key = new Float64Array(8);
  private prev = new Int32Array(8);
  private next = new Int32Array(8);
  /** 1 once the entry moved from `waiting` to `ready` (its arrival time has passed). */
  private arrived = new Uint8Array(8);
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
  /** (arrival time, slot) of the entries not arrived yet (and stale ones). */
  private readonly waiting = new SlotHeap();
  /** (key, slot) of the arrived entries with a key (and stale ones). */
  private readonly ready = new SlotHeap();
  /** (key, slot) of every entry with a key (and stale ones), while {@link allKept}. */
  private readonly all = new SlotHeap();
  /** `all` is kept up to date (from the first {@link bestAll} until {@link dropAll}). */
  private allKept = false;
  /** Largest clock entries were moved to `ready` at; an earlier clock moves them all back. */
  private dropped = -NEVER;
  /**
   * @internal Work counter for tests: heap entries looked at on top of a heap, plus entries visited by a
   * rebuild (not the O(log n) sift steps of a push or pop).
   */
  visited = 0;

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

  /** The selection key of the entry in `slot` ({@link NO_KEY}: never presented). */
  keyOf(slot: number): number {
    return this.key[slot];
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

  /**
   * Makes `intid` pending, seen from `at`, with selection key `key` (smaller is presented first; {@link NO_KEY}:
   * never); returns false (and changes nothing) if it already is.
   */
  add(intid: number, at: number, key = NO_KEY): boolean {
    if ((intid | 0) !== intid || intid < 0 || this.find(intid) >= 0) return false;
    if (!(key < NO_KEY)) key = NO_KEY; // NaN: no key (it would disorder the heaps)
    if (this.free < 0 && this.used === this.id.length) this.grow();
    let s: number;
    if (this.free >= 0) {
      s = this.free;
      this.free = this.next[s];
    } else s = this.used++;
    this.id[s] = intid;
    this.at[s] = at;
    this.key[s] = key;
    this.arrived[s] = 0;
    this.prev[s] = this.tail;
    this.next[s] = -1;
    if (this.tail >= 0) this.next[this.tail] = s;
    else this.head = s;
    this.tail = s;
    this.n++;
    this.indexPut(intid, s);
    this.pushWaiting(s);
    if (key < NO_KEY && this.allKept) this.pushAll(s);
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
    this.id[s] = -1;
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
    this.arrived[s] = 0; // its `ready` entry (if any) goes: it waits again until `at`
    this.pushWaiting(s);
  }

  /** Re-keys pending `intid` (its configuration changed); no-op if not pending or unchanged. */
  setKey(intid: number, key: number): void {
    if (!(key < NO_KEY)) key = NO_KEY; // NaN: no key
    const s = this.find(intid);
    if (s < 0 || this.key[s] === key) return;
    this.key[s] = key;
    if (key < NO_KEY) {
      if (this.allKept) this.pushAll(s);
      if (this.arrived[s] === 1) this.pushReady(s);
    }
  }

  /** Drops every entry. */
  clear(): void {
    for (let s = this.head; s >= 0; s = this.next[s]) this.id[s] = -1;
    this.keys.fill(-1);
    this.head = this.tail = this.free = -1;
    this.used = this.n = 0;
    this.waiting.len = this.ready.len = this.all.len = 0;
    this.dropped = -NEVER;
  }

  /** The earliest arrival time after `clock` among the entries (`1e999`: every entry has arrived by `clock`). */
  nextArrival(clock: number): number {
    return this.advance(clock);
  }

  /**
   * The slot of the entry with the smallest key among those that have arrived by `clock` (ties cannot happen:
   * the vPE's keys hold the vINTID), or -1. Amortised O(log n).
   */
  bestArrived(clock: number): number {
    this.advance(clock);
    const h = this.ready;
    while (h.len > 0) {
      this.visited++;
      const s = h.slot[0];
      if (this.id[s] >= 0 && this.arrived[s] === 1 && this.key[s] === h.key[0]) return s;
      h.pop();
    }
    return -1;
  }

  /**
   * The slot of the entry with the smallest key, arrived or not, or -1 (does not move the clock). Amortised
   * O(log n) while the index it uses is kept; the first call after {@link dropAll} builds it (O(n)).
   */
  bestAll(): number {
    if (!this.allKept) {
      this.allKept = true;
      this.rebuild(this.all, 2);
    }
    const h = this.all;
    while (h.len > 0) {
      this.visited++;
      const s = h.slot[0];
      if (this.id[s] >= 0 && this.key[s] === h.key[0]) return s;
      h.pop();
    }
    return -1;
  }

  /**
   * Stops keeping the index of {@link bestAll} up to date until it is asked again (the vPE became resident: the
   * doorbell's question, the only user, is not asked of a resident vPE), which saves a heap push per pending.
   */
  dropAll(): void {
    this.allKept = false;
    this.all.len = 0;
  }

  // ---- the heaps ---------------------------------------------------------------------------------------

  /**
   * Moves the entries that have arrived by `clock` from `waiting` to `ready`; returns the earliest arrival after
   * `clock` (1e999: none).
   */
  private advance(clock: number): number {
    if (clock < this.dropped) this.rewind(); // the clock went back (a restore): arrived entries may not be
    this.dropped = clock;
    const w = this.waiting;
    while (w.len > 0) {
      this.visited++;
      const s = w.slot[0];
      const t = w.key[0];
      const a = this.at[s];
      if (this.id[s] >= 0 && this.arrived[s] === 0 && (a === t || (a !== a && t === -NEVER))) {
        if (t > clock) return t;
        w.pop();
        this.arrived[s] = 1; // clocks only grow: it stays arrived
        if (this.key[s] < NO_KEY) this.pushReady(s);
      } else w.pop(); // cleared, re-stamped or arrived
    }
    return NEVER;
  }

  // bounded: a heap holding more than twice the table is rebuilt from the live entries (amortised O(1) per push)

  private pushWaiting(s: number): void {
    if (this.waiting.len > 2 * this.n + 32) this.rebuild(this.waiting, 0);
    this.waiting.push(arrivalKey(this.at[s]), s);
  }

  private pushReady(s: number): void {
    if (this.ready.len > 2 * this.n + 32) this.rebuild(this.ready, 1);
    this.ready.push(this.key[s], s);
  }

  private pushAll(s: number): void {
    if (this.all.len > 2 * this.n + 32) this.rebuild(this.all, 2);
    this.all.push(this.key[s], s);
  }

  /** Rebuilds `h` from the live entries: 0 = `waiting` (not arrived), 1 = `ready` (arrived, keyed), 2 = `all`. */
  private rebuild(h: SlotHeap, which: 0 | 1 | 2): void {
    h.len = 0;
    h.room(2 * this.n);
    for (let s = this.head; s >= 0; s = this.next[s]) {
      this.visited++;
      if (which === 0) {
        if (this.arrived[s] === 0) h.push(arrivalKey(this.at[s]), s);
      } else if (this.key[s] < NO_KEY && (which === 2 || this.arrived[s] === 1)) h.push(this.key[s], s);
    }
  }

  /** The clock went back: every entry waits again for its arrival (`ready` emptied, `waiting` rebuilt). */
  private rewind(): void {
    for (let s = this.head; s >= 0; s = this.next[s]) this.arrived[s] = 0;
    this.ready.len = 0;
    this.rebuild(this.waiting, 0);
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
    const f64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.at = f64(this.at);
    this.key = f64(this.key);
    const arrived = new Uint8Array(cap);
    arrived.set(this.arrived);
    this.arrived = arrived;
    this.id = wid(this.id);
    this.id.fill(-1, cap / 2);
    this.prev = wid(this.prev);
    this.next = wid(this.next);
    this.keys = new Int32Array(2 * cap).fill(-1);
    this.vals = new Int32Array(2 * cap);
    this.shift--;
    for (let s = this.head; s >= 0; s = this.next[s]) this.indexPut(this.id[s], s);
  }
}
