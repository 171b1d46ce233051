/**
 * The per-vCPU rVIC (ARM-DEN-0103 §"rVIC": per-CPU interrupt state and the delivery list). Each interrupt
 * is idle, pending, masked or masked+pending, plus a line level and two model flags; the delivery list is the
 * FIFO of pending-and-unmasked interrupts (no priorities), kept as an intrusive doubly linked list over
 * typed arrays so set-pending, mask, unmask and acknowledge are O(1) and allocate nothing.
 *
 * State machine (S = set pending, C = clear pending, M/U = mask/unmask, A = acknowledge):
 * idle ⇄(S/C) pending, masked ⇄(S/C) masked+pending, idle ⇄(M/U) masked, pending ⇄(M/U) masked+pending,
 * pending →(A) masked.
 *
 * @module
 */

/** Per-interrupt flag: pending. */
export const F_PENDING = 1;
/** Per-interrupt flag: masked. */
export const F_MASKED = 2;
/** Per-interrupt flag: the input line is high (level sources only). */
export const F_LINE = 4;
/** Per-interrupt flag: acknowledged and not yet unmasked (counts completions). */
export const F_ACKED = 8;
/** Per-interrupt flag: on the delivery list. */
export const F_QUEUED = 16;

const NIL = -1;

/** One vCPU's rVIC. */
export class RvicCpu {
  /** ENABLE/DISABLE state (reset: disabled). */
  enabled = false;
  /** Per-interrupt flags ({@link F_PENDING}, …). */
  readonly flags: Uint8Array;
  /** Delivery list: next interrupt (−1 = none). */
  private readonly next: Int32Array;
  /** Delivery list: previous interrupt (−1 = none). */
  private readonly prev: Int32Array;
  /** First interrupt of the delivery list (−1 when empty). */
  head = NIL;
  private tail = NIL;
  /** Interrupts currently on the delivery list. */
  queued = 0;
  /** For each untrusted interrupt, the rVID input routed to it (−1 = none). */
  readonly inputOf: Int32Array;
  /** Interrupts dropped because this rVIC was disabled. */
  dropped = 0;
  /**
   * Per interrupt: when the pending state another vCPU made becomes visible to this vCPU (simulated ns; the
   * instant that vCPU's kick reaches it; 0 = visible). See rvic-visibility.ts.
   */
  readonly visibleAt: Float64Array;

  /**
   * @param nrTrusted - number of trusted interrupts
   * @param nrTotal - total number of interrupts
   */
  constructor(
    readonly nrTrusted: number,
    readonly nrTotal: number,
  ) {
    this.flags = new Uint8Array(nrTotal).fill(F_MASKED);
    this.next = new Int32Array(nrTotal).fill(NIL);
    this.prev = new Int32Array(nrTotal).fill(NIL);
    this.inputOf = new Int32Array(nrTotal).fill(NIL);
    this.visibleAt = new Float64Array(nrTotal);
  }

  /**
   * The first interrupt of the delivery list visible at `clock` ({@link visibleAt}), −1 when none: what this
   * vCPU can see (the head, unless another vCPU queued it and its kick has not arrived yet).
   */
  firstVisible(clock: number): number {
    if (!this.enabled) return NIL;
    let i = this.head;
    while (i !== NIL && this.visibleAt[i] > clock) i = this.next[i];
    return i;
  }

  /** The earliest {@link visibleAt} after `clock` among the delivery list's entries (+Infinity when none). */
  nextVisible(clock: number): number {
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    let at = 1e999;
    for (let i = this.head; i !== NIL; i = this.next[i]) {
      const t = this.visibleAt[i];
      if (t > clock && t < at) at = t;
    }
    return at;
  }

  /** Whether the virtual IRQ line should be asserted: enabled and something deliverable. */
  get signalling(): boolean {
    return this.enabled && this.head !== NIL;
  }

  private enqueue(intid: number): void {
    const f = this.flags;
    if ((f[intid] & F_QUEUED) !== 0) return;
    f[intid] |= F_QUEUED;
    this.next[intid] = NIL;
    this.prev[intid] = this.tail;
    if (this.tail === NIL) this.head = intid;
    else this.next[this.tail] = intid;
    this.tail = intid;
    this.queued++;
  }

  private dequeue(intid: number): void {
    const f = this.flags;
    if ((f[intid] & F_QUEUED) === 0) return;
    f[intid] &= ~F_QUEUED;
    const p = this.prev[intid];
    const n = this.next[intid];
    if (p === NIL) this.head = n;
    else this.next[p] = n;
    if (n === NIL) this.tail = p;
    else this.prev[n] = p;
    this.next[intid] = NIL;
    this.prev[intid] = NIL;
    this.queued--;
  }

  /** Makes `intid` pending; a disabled rVIC drops it and returns false (ARM-DEN-0103: SIGNAL → DISABLED). */
  setPending(intid: number): boolean {
    if (!this.enabled) {
      this.dropped++;
      return false;
    }
    const f = this.flags;
    f[intid] |= F_PENDING;
    if ((f[intid] & F_MASKED) === 0) this.enqueue(intid);
    return true;
  }

  /** Clears pending (and takes the interrupt off the delivery list). */
  clearPending(intid: number): void {
    this.flags[intid] &= ~F_PENDING;
    this.dequeue(intid);
  }

  /** Masks. */
  setMasked(intid: number): void {
    this.flags[intid] |= F_MASKED;
    this.dequeue(intid);
  }

  /**
   * Unmasks; a pending interrupt joins the tail of the delivery list (only while enabled, as the series does).
   * Returns true when the interrupt had been acknowledged (this is its end of interrupt).
   */
  clearMasked(intid: number): boolean {
    const f = this.flags;
    const wasAcked = (f[intid] & F_ACKED) !== 0;
    f[intid] &= ~(F_MASKED | F_ACKED);
    if (this.enabled && (f[intid] & F_PENDING) !== 0) this.enqueue(intid);
    return wasAcked;
  }

  /** Whether `intid` is pending. */
  isPending(intid: number): boolean {
    return (this.flags[intid] & F_PENDING) !== 0;
  }

  /**
   * Pops the first deliverable interrupt (visible at `clock`: {@link firstVisible}; default: the head), masks it
   * and clears its pending state; −1 when none.
   */
  // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
  acknowledge(clock = 1e999): number {
    const intid = this.firstVisible(clock);
    if (intid === NIL) return NIL;
    this.dequeue(intid);
    const f = this.flags;
    f[intid] = (f[intid] & ~F_PENDING) | F_MASKED | F_ACKED;
    return intid;
  }

  /** ENABLE. Interrupts left pending and unmasked from before are queued again in interrupt order. */
  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    const f = this.flags;
    for (let i = 0; i < f.length; i++) if ((f[i] & (F_PENDING | F_MASKED)) === F_PENDING) this.enqueue(i);
  }

  /** DISABLE: nothing is delivered (and nothing new becomes pending) until ENABLE. */
  disable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    while (this.head !== NIL) this.dequeue(this.head);
  }

  /** Sets the stored line level; returns true on a low → high transition. */
  setLine(intid: number, level: boolean): boolean {
    const f = this.flags;
    const was = (f[intid] & F_LINE) !== 0;
    if (level) f[intid] |= F_LINE;
    else f[intid] &= ~F_LINE;
    return level && !was;
  }

  /** The stored line level. */
  line(intid: number): boolean {
    return (this.flags[intid] & F_LINE) !== 0;
  }

  /**
   * Userspace restore of one interrupt's state (device attribute VCPU_STATE/IRQ): pending, masked, line and
   * acked are set exactly ({@link F_PENDING} | {@link F_MASKED} | {@link F_LINE} | {@link F_ACKED}); while
   * enabled, an interrupt that is now pending and unmasked joins the tail of the delivery list (if not on it),
   * any other leaves it.
   */
  restoreState(intid: number, bits: number): void {
    const f = this.flags;
    f[intid] = (f[intid] & F_QUEUED) | (bits & (F_PENDING | F_MASKED | F_LINE | F_ACKED));
    if (this.enabled && (bits & (F_PENDING | F_MASKED)) === F_PENDING) this.enqueue(intid);
    else this.dequeue(intid);
  }

  /** Moves `intid`, which must be on the delivery list, to its tail (userspace restore of the FIFO order). */
  moveToTail(intid: number): void {
    this.dequeue(intid);
    this.enqueue(intid);
  }

  /** The `k`-th entry of the delivery list (0 = next to be acknowledged), or −1 past its end. */
  deliveryAt(k: number): number {
    let i = this.head;
    for (let n = 0; n < k && i !== NIL; n++) i = this.next[i];
    return i;
  }

  /** The delivery list, first to last (dumps and tests; allocates). */
  deliveryOrder(): number[] {
    const out: number[] = [];
    for (let i = this.head; i !== NIL; i = this.next[i]) out.push(i);
    return out;
  }
}
