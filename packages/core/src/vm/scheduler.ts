/**
 * Deterministic scheduling in simulated time. Every vCPU has a local clock advanced by what it does; the
 * scheduler always runs the runnable vCPU furthest behind. Timed host events (timers, devices, userspace at t)
 * fire when every runnable vCPU has reached their time. Ties break by vCPU index and event sequence: the same
 * inputs give the same trace, bit for bit.
 *
 * **Conservative lookahead.** A slice has two limits. Every operation that another vCPU, the host or userspace
 * could observe or influence (guest memory, trapped or non-local MMIO and system registers, hypercalls, WFI,
 * exits for kicks and maintenance, guest `CALL` hooks) executes only while the vCPU has not passed the
 * next-furthest vCPU or the next host event (the *exact* limit), so all of them happen in exact simulated-time
 * order, as in lockstep. Operations that touch only the vCPU's own state (arithmetic, branches, exception
 * entry and return, DAIF, untrapped CPU-interface registers declared local) may run on up to `lookaheadNs`
 * past the next-furthest vCPU (the *ahead* limit; never past a host event or the run's `until`).
 *
 * **Causal delivery.** An asynchronous signal to a vCPU — a kick, an exit request, a line change — carries the
 * instant its sender produced it plus a delivery latency ({@link Scheduler.stampSignal}: `ipiLatency` from
 * another vCPU, userspace or a host event, 0 from a pCPU-local host event or the vCPU itself), and the receiver
 * takes it at its first operation boundary at or after that instant. A vCPU running ahead has started no
 * operation later than the next vCPU's clock plus the lookahead, and a sender's instant is no earlier than that
 * clock; so with `lookaheadNs` at most the latency (the default) no receiver has passed a signal's instant when
 * it is posted, and every run — lockstep (`lookaheadNs = 0`) or not, however run() is sliced — takes every
 * signal at the same boundary: identical results. Records in the trace are in execution order; each vCPU's own
 * records are in time order.
 *
 * @module
 */
import { type EventQueue } from '../sched/event-queue';
import { RunnableHeap } from '../sched/runnable-heap';
import { KvmExitReason, type KvmRun } from './kvm-run';
import { MpState } from './mp-state';
import { SliceEnd, type Vcpu } from './vcpu';

/** Options of {@link Scheduler.run}. */
export interface RunOptions {
  /** Stop once simulated time reaches this (ns). Default: run until idle, shutdown or an exit. */
  until?: number;
  /**
   * Userspace exit handler (the VMM's vCPU thread loop). Return `true` to stop and return the exit;
   * otherwise the vCPU resumes (fill `run.mmio.data` for reads first). Without a handler, exits are returned.
   */
  onExit?: (vcpu: Vcpu, run: KvmRun) => boolean | void;
  /** Run only this vCPU (the KVM_RUN of one vCPU thread); others stay where they are. */
  only?: Vcpu;
}

/** Why {@link Scheduler.run} returned. */
export interface RunResult {
  /** `limit`: time reached; `exit`: a vCPU needs userspace; `idle`: nothing runnable and no event; `shutdown`: PSCI SYSTEM_OFF/RESET. */
  readonly reason: 'limit' | 'exit' | 'idle' | 'shutdown';
  /** The vCPU that exited (exit, shutdown). */
  readonly vcpu?: Vcpu;
  /** Simulated time when it returned. */
  readonly time: number;
}

/** The scheduler of one VM. */
export class Scheduler {
  /** Runnable vCPUs by clock. */
  readonly runnableSet = new RunnableHeap<Vcpu>();
  /** The vCPU being executed, if any. */
  current: Vcpu | null = null;
  /** Simulated time of the latest event fired / slice run. */
  time = 0;
  private shutdownBy: Vcpu | null = null;
  /** @internal The time of the host event being fired, or -1 outside event handlers (read by Vm.kickVcpu). */
  eventTime = -1;
  /** The delivery latency of signals posted by the host event being fired (0 for a pCPU-local one). */
  private eventLatency = 0;
  /**
   * The delivery time of the signal being posted, set by {@link stampSignal} (a field, not a return value or an
   * argument, so that a non-integer time is never boxed on the heap).
   */
  signalTime = 0;
  /**
   * Called with the target after every {@link stampSignal} when set (the sender is {@link current}, the delivery
   * time {@link signalTime}): an observer of cross-vCPU paths (`irqflow microbench` attributes an IPI's path with
   * it). Null by default: one comparison per signal, nothing per operation.
   */
  signalObserver: ((target: Vcpu) => void) | null = null;

  /**
   * @param events - the VM's timed-event queue
   * @param firstRun - called once per vCPU before it first runs (may throw KvmError)
   */
  constructor(
    readonly events: EventQueue,
    private readonly firstRun: (v: Vcpu) => void,
    /** Conservative lookahead (ns); 0 = exact lockstep. */
    readonly lookaheadNs = 0,
    /** Delivery latency of a signal between vCPUs or from the host (the profile's `ipiLatency`). */
    readonly signalLatencyNs = 0,
  ) {}

  /**
   * Stamps {@link signalTime}: when a signal that whoever is executing sends to `target` now reaches it. From
   * `target` itself: its clock. From another vCPU: that vCPU's clock (the instant it produces the signal, after
   * what it charged so far) plus the delivery latency. From a host event: its time plus its latency. From
   * userspace between runs: the VM's time plus the latency.
   */
  stampSignal(target: Vcpu): void {
    const cur = this.current;
    if (cur === target) this.signalTime = cur.clock;
    else if (cur !== null) this.signalTime = cur.clock + this.signalLatencyNs;
    else if (this.eventTime >= 0) this.signalTime = this.eventTime + this.eventLatency;
    else this.signalTime = this.time + this.signalLatencyNs;
    if (this.signalObserver !== null) this.signalObserver(target);
  }

  /**
   * Current simulated time as seen by whoever is executing: the running vCPU's clock, the firing time of the
   * host event being handled, or else the latest time reached.
   */
  get now(): number {
    return this.current !== null ? this.current.clock : this.eventTime >= 0 ? this.eventTime : this.time;
  }

  /**
   * Makes `v` runnable (after a wake or power on). Woken mid-slice by the running vCPU (an IPI, an MSI), the
   * running vCPU's limits come down to `v`'s clock (exact) and `v`'s clock + lookahead (ahead), so `v` runs
   * before anything later can affect it.
   */
  runnable(v: Vcpu): void {
    if (v.mp === MpState.Runnable) this.runnableSet.add(v);
    const cur = this.current;
    if (cur !== null && cur !== v) {
      if (v.clock < cur.sliceLimit) cur.sliceLimit = v.clock;
      const a = v.clock + this.lookaheadNs;
      if (a < cur.aheadLimit) cur.aheadLimit = a;
    }
  }

  /** Takes `v` out (blocked or powered off). */
  stopped(v: Vcpu): void {
    this.runnableSet.remove(v);
  }

  /** Records a system event: every vCPU stops. */
  shutdown(by: Vcpu, all: readonly Vcpu[]): void {
    this.shutdownBy = by;
    for (const v of all) {
      v.mp = MpState.Stopped;
      this.runnableSet.remove(v);
    }
  }

  /**
   * Runs the VM. See {@link RunOptions}.
   *
   * +Infinity is written `1e999` in this loop and in the helpers it inlines (event-queue.ts, runnable-heap.ts):
   * a literal, where the global `Infinity` is a property load. On a branch that has not run yet when V8
   * optimizes the loop (no vCPU idle, say, in a ping-pong run with `until`), that load stays generic; its
   * result is an untyped value, and merging it with a clock makes V8 box the clock as a heap number — one
   * allocation per slice (measured: 48 bytes per interrupt in a GICv3 IPI ping-pong, none with the literal).
   *
   * @throws KvmError from a controller's first-run checks
   */
  run(all: readonly Vcpu[], opts: RunOptions = {}): RunResult {
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    let until = opts.until ?? 1e999;
    const only = opts.only;
    for (const v of only ? [only] : all) {
      if (!v.hasRun) {
        this.firstRun(v);
        v.hasRun = true;
      }
      if (v.mp === MpState.Runnable && v.image !== null) this.runnableSet.add(v);
    }
    const heap = this.runnableSet;
    const events = this.events;
    for (;;) {
      if (this.shutdownBy !== null) {
        const by = this.shutdownBy;
        this.shutdownBy = null;
        return { reason: 'shutdown', vcpu: by, time: this.time };
      }
      let v = heap.peek();
      if (only !== undefined) v = only.heapPos >= 0 ? only : undefined;
      // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
      const tv = v !== undefined ? v.clock : 1e999;
      const tEv = events.peekTime();
      if (tEv <= tv) {
        // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
        if (tEv === 1e999) return { reason: 'idle', time: this.time };
        if (tEv > until) {
          if (until > this.time) this.time = until;
          // a vCPU's last operation may have ended past `until`: the VM's time is then later than events still
          // queued. Run on (the others catch up) until none is due at or before the VM's time.
          if (tEv <= this.time && only === undefined) {
            until = this.time;
            continue;
          }
          return { reason: 'limit', time: this.time };
        }
        const ev = events.pop()!;
        if (ev.time > this.time) this.time = ev.time;
        this.eventTime = ev.time;
        this.eventLatency = ev.local ? 0 : this.signalLatencyNs;
        try {
          ev.fire(ev.time);
        } finally {
          this.eventTime = -1;
        }
        continue;
      }
      if (tv >= until) {
        if (until > this.time) this.time = until;
        if (tEv <= this.time && only === undefined) {
          until = this.time;
          continue;
        }
        return { reason: 'limit', time: this.time };
      }
      // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
      const second = only !== undefined ? 1e999 : heap.secondClock();
      let limit = second;
      let ahead = second + this.lookaheadNs;
      if (tEv < limit) limit = tEv;
      if (until < limit) limit = until;
      if (tEv < ahead) ahead = tEv;
      if (until < ahead) ahead = until;
      this.current = v!;
      v!.sliceLimit = limit;
      v!.aheadLimit = ahead;
      const end = v!.runSlice();
      this.current = null;
      if (v!.clock > this.time) this.time = v!.clock;
      if (end === SliceEnd.Limit) heap.update(v!);
      else if (end === SliceEnd.Blocked || end === SliceEnd.Stopped) heap.remove(v!);
      else {
        if (v!.mp !== MpState.Runnable) heap.remove(v!);
        else heap.update(v!);
        if (this.shutdownBy !== null) continue;
        if (v!.kvmRun.exitReason === KvmExitReason.InternalError) return { reason: 'exit', vcpu: v, time: this.time };
        if (opts.onExit === undefined || opts.onExit(v!, v!.kvmRun) === true) return { reason: 'exit', vcpu: v, time: this.time };
      }
    }
  }
}
