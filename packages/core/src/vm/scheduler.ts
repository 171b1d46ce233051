/**
 * Deterministic scheduling in simulated time. Every vCPU has a local clock advanced by what it does; the
 * scheduler always runs the runnable vCPU furthest behind, and only until it passes the next-furthest vCPU or
 * the next timed host event, so no vCPU ever observes an effect before its cause in simulated time. Timed host
 * events (timers, devices, userspace at t) fire when every runnable vCPU has reached their time. Ties break by
 * vCPU index and event sequence: the same inputs give the same trace, bit for bit.
 *
 * @module
 */
import { EventQueue } from '../sched/event-queue';
import { RunnableHeap } from '../sched/runnable-heap';
import { KvmExitReason, type KvmRun } from './kvm-run';
import { MpState, SliceEnd, type Vcpu } from './vcpu';

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
  /** The time of the host event being fired, or -1 outside event handlers. */
  private eventTime = -1;

  /**
   * @param events - the VM's timed-event queue
   * @param firstRun - called once per vCPU before it first runs (may throw KvmError)
   */
  constructor(
    readonly events: EventQueue,
    private readonly firstRun: (v: Vcpu) => void,
  ) {}

  /**
   * Current simulated time as seen by whoever is executing: the running vCPU's clock, the firing time of the
   * host event being handled, or else the latest time reached.
   */
  get now(): number {
    return this.current !== null ? this.current.clock : this.eventTime >= 0 ? this.eventTime : this.time;
  }

  /**
   * Makes `v` runnable (after a wake or power on). Woken mid-slice by the running vCPU (an IPI, an MSI), the
   * running vCPU's slice ends at `v`'s clock, so `v` runs before anything later can affect it.
   */
  runnable(v: Vcpu): void {
    if (v.mp === MpState.Runnable) this.runnableSet.add(v);
    const cur = this.current;
    if (cur !== null && cur !== v && v.clock < cur.sliceLimit) cur.sliceLimit = v.clock;
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

  /** Runs the VM. See {@link RunOptions}. @throws KvmError from a controller's first-run checks */
  run(all: readonly Vcpu[], opts: RunOptions = {}): RunResult {
    const until = opts.until ?? Infinity;
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
      if (this.shutdownBy) {
        const by = this.shutdownBy;
        this.shutdownBy = null;
        return { reason: 'shutdown', vcpu: by, time: this.time };
      }
      let v = heap.peek();
      if (only !== undefined) v = only.heapPos >= 0 ? only : undefined;
      const tv = v !== undefined ? v.clock : Infinity;
      const tEv = events.peekTime();
      if (tEv <= tv) {
        if (tEv === Infinity) return { reason: 'idle', time: this.time };
        if (tEv > until) {
          if (until > this.time) this.time = until;
          return { reason: 'limit', time: this.time };
        }
        const ev = events.pop()!;
        if (ev.time > this.time) this.time = ev.time;
        this.eventTime = ev.time;
        try {
          ev.fire(ev.time);
        } finally {
          this.eventTime = -1;
        }
        continue;
      }
      if (tv >= until) {
        if (until > this.time) this.time = until;
        return { reason: 'limit', time: this.time };
      }
      let limit = only !== undefined ? Infinity : heap.secondClock();
      if (tEv < limit) limit = tEv;
      if (until < limit) limit = until;
      this.current = v!;
      const end = v!.runSlice(limit);
      this.current = null;
      if (v!.clock > this.time) this.time = v!.clock;
      if (end === SliceEnd.Limit) heap.update(v!);
      else if (end === SliceEnd.Blocked || end === SliceEnd.Stopped) heap.remove(v!);
      else {
        if (v!.mp !== MpState.Runnable) heap.remove(v!);
        else heap.update(v!);
        if (this.shutdownBy) continue;
        if (v!.kvmRun.exitReason === KvmExitReason.InternalError) return { reason: 'exit', vcpu: v, time: this.time };
        if (opts.onExit === undefined || opts.onExit(v!, v!.kvmRun) === true) return { reason: 'exit', vcpu: v, time: this.time };
      }
    }
  }
}
