/**
 * The simulated-time event queue: timed host events (a device raising an MSI at t, a timer expiring,
 * userspace injecting at t). An indexed binary min-heap ordered by (time, sequence number), so events at the
 * same time fire in the order they were scheduled — deterministic. Events are caller-owned objects that can be
 * re-armed and cancelled without allocation (a timer reprogrammed on every tick reuses one event).
 *
 * @module
 */
import { Lifecycle, scoped } from 'tsyringe';

/** A schedulable host event. Create once, arm with {@link EventQueue.schedule} as often as needed. */
export class HostEvent {
  /** Absolute simulated time (ns) at which it fires. */
  time = 0;
  /** @internal tie-breaker */
  seq = 0;
  /** @internal heap position, -1 when not queued */
  pos = -1;
  /**
   * Whether the event happens on the physical CPU of the vCPU it concerns (that vCPU's own timer): signals its
   * handler posts to that vCPU carry no IPI latency. Default false: a device interrupt or userspace reaches a
   * vCPU through an IPI ({@link CostPrimitives.ipiLatency}).
   */
  local = false;

  /**
   * @param fire - called with the firing time when the event comes due
   * @param label - a name for debugging and dumps
   */
  constructor(
    readonly fire: (now: number) => void,
    readonly label = 'event',
  ) {}

  /** Whether the event is armed. */
  get pending(): boolean {
    return this.pos >= 0;
  }
}

/** The queue of {@link HostEvent}s. */
@scoped(Lifecycle.ContainerScoped)
export class EventQueue {
  private heap: HostEvent[] = [];
  private nextSeq = 0;

  /** Number of armed events. */
  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest armed event, or +Infinity (written `1e999`: see Scheduler.run). */
  peekTime(): number {
    // eslint-disable-next-line no-loss-of-precision -- +Infinity written as a literal on purpose (see Scheduler.run)
    return this.heap.length ? this.heap[0].time : 1e999;
  }

  /** Arms (or re-arms) `ev` to fire at `time`. */
  schedule(ev: HostEvent, time: number): void {
    if (ev.pos >= 0) this.removeAt(ev.pos);
    ev.time = time;
    ev.seq = this.nextSeq++;
    ev.pos = this.heap.length;
    this.heap.push(ev);
    this.up(ev.pos);
  }

  /** Disarms `ev` if armed. */
  cancel(ev: HostEvent): void {
    if (ev.pos >= 0) this.removeAt(ev.pos);
  }

  /** Removes and returns the earliest event (or undefined). */
  pop(): HostEvent | undefined {
    if (!this.heap.length) return undefined;
    const top = this.heap[0];
    this.removeAt(0);
    return top;
  }

  /** Disarms everything. */
  clear(): void {
    for (const e of this.heap) e.pos = -1;
    this.heap.length = 0;
  }

  private less(a: HostEvent, b: HostEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const ev = h[i];
    const last = h.pop()!;
    ev.pos = -1;
    if (i < h.length) {
      h[i] = last;
      last.pos = i;
      this.down(i);
      this.up(last.pos);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(e, h[p])) break;
      h[i] = h[p];
      h[i].pos = i;
      i = p;
    }
    h[i] = e;
    e.pos = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1], h[c])) c++;
      if (!this.less(h[c], e)) break;
      h[i] = h[c];
      h[i].pos = i;
      i = c;
    }
    h[i] = e;
    e.pos = i;
  }
}
