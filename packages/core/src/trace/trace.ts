/**
 * The typed trace event stream. Off by default; when off, every emit site is a single boolean test.
 * When on, events go into typed arrays (no allocation per event) with a fixed capacity; events beyond it are
 * counted as dropped, so a trace never grows memory without bound. The arrays are allocated on first use and
 * doubled when full (up to the capacity), so a hypervisor that never traces holds no trace memory, and a trace
 * that is cleared and refilled reuses what it grew to: steady-state tracing allocates nothing.
 *
 * @module
 */

/** The kinds of trace events. */
export enum TraceKind {
  /**
   * An interrupt was made pending, emitted on the target vCPU's track (a = intid, b = level/1, c = source vCPU
   * index + 1 for an IPI, 0 for a device or the host).
   */
  Inject = 0,
  /** An interrupt was queued on a vCPU's pending list (a = intid). */
  Queue = 1,
  /** A list register was loaded on entry (a = intid, b = LR index). */
  LrLoad = 2,
  /** A list register was folded back on exit (a = intid, b = LR state bits). */
  LrFold = 3,
  /** The guest acknowledged an interrupt (a = intid). */
  Ack = 4,
  /** The guest signalled end of interrupt / priority drop (a = intid). */
  Eoi = 5,
  /** The interrupt was deactivated (a = intid). */
  Deactivate = 6,
  /** The vCPU exited the guest (a = ExitReason, b = cost in ns). */
  Exit = 7,
  /** A hypercall was handled (a = function id, b = status). */
  Hypercall = 8,
  /** An MSI was signalled (a = data/event, b = result). */
  Msi = 9,
  /** A vCPU was kicked, emitted on the kicking vCPU's track (-1: the host) (a = target vCPU index, b = 1 if it was blocked). */
  Kick = 10,
  /** The vCPU blocked in WFI. */
  Block = 11,
  /** The vCPU woke from WFI (b = ns blocked). */
  Wake = 12,
  /** The guest took an IRQ exception. */
  IrqTaken = 13,
  /** A timer fired (a = intid). */
  Timer = 14,
  /** A controller-specific event (a, b free). */
  Custom = 15,
  /** A per-vCPU counter sample (a = {@link TraceCounter}, b = value). */
  Counter = 16,
  /** An ITS command was executed (a = command opcode, b = DeviceID, c = EventID). */
  ItsCommand = 17,
  /** An MSI was translated to an interrupt, on the target vCPU's track (a = DeviceID, b = EventID, c = intid). */
  MsiTranslate = 18,
}

/** Counters a controller samples with {@link TraceKind.Counter}. */
export enum TraceCounter {
  /** Interrupts pending or active for the vCPU (its ap_list / pending set). */
  Pending = 0,
  /** List registers in use. */
  LrsInUse = 1,
}

/** Display names of {@link TraceKind} values. */
export const TRACE_KIND_NAMES: readonly string[] = [
  'inject',
  'queue',
  'lr-load',
  'lr-fold',
  'ack',
  'eoi',
  'deactivate',
  'exit',
  'hypercall',
  'msi',
  'kick',
  'block',
  'wake',
  'irq-taken',
  'timer',
  'custom',
  'counter',
  'its-command',
  'msi-translate',
];

/** One decoded trace event. */
export interface TraceEvent {
  /** Event kind. */
  kind: TraceKind;
  /** VM id. */
  vm: number;
  /** vCPU index, or -1 for a VM-wide/host event. */
  vcpu: number;
  /** Simulated time in ns. */
  t: number;
  /** First argument (see {@link TraceKind}). */
  a: number;
  /** Second argument (see {@link TraceKind}). */
  b: number;
  /** Third argument (see {@link TraceKind}; 0 when unused). */
  c: number;
}

/**
 * A bounded trace buffer shared by the VMs of one hypervisor.
 */
export class TraceBuffer {
  /** Whether emitting is enabled. Hot paths test this before calling {@link emit}. */
  on = false;
  /** Events that did not fit. */
  dropped = 0;
  private n = 0;
  /** Events the arrays can hold now (≤ capacity); 0 until the first event. */
  private size = 0;
  private kinds = new Uint8Array(0);
  private vms = new Int32Array(0);
  private vcpus = new Int32Array(0);
  private ts = new Float64Array(0);
  private as = new Float64Array(0);
  private bs = new Float64Array(0);
  private cs = new Float64Array(0);

  /** @param capacity - maximum number of events kept (default 1,000,000); memory grows with use up to it */
  constructor(readonly capacity = 1_000_000) {}

  /** Bytes the event arrays hold now (grows with use, at most 45 bytes × capacity). */
  get allocatedBytes(): number {
    return this.size * 45;
  }

  /** Number of events recorded. */
  get length(): number {
    return this.n;
  }

  /** Records one event (callers test {@link on} first). */
  emit(kind: TraceKind, vm: number, vcpu: number, t: number, a: number, b: number, c = 0): void {
    const i = this.n;
    if (i >= this.size) {
      if (i >= this.capacity) {
        this.dropped++;
        return;
      }
      this.grow();
    }
    this.kinds[i] = kind;
    this.vms[i] = vm;
    this.vcpus[i] = vcpu;
    this.ts[i] = t;
    this.as[i] = a;
    this.bs[i] = b;
    this.cs[i] = c;
    this.n = i + 1;
  }

  /** Doubles the arrays (first 4,096 events), keeping what they hold; never past the capacity. */
  private grow(): void {
    const size = Math.min(this.capacity, Math.max(4096, this.size * 2));
    const n = this.n;
    this.kinds = grown(this.kinds, new Uint8Array(size), n);
    this.vms = grown(this.vms, new Int32Array(size), n);
    this.vcpus = grown(this.vcpus, new Int32Array(size), n);
    this.ts = grown(this.ts, new Float64Array(size), n);
    this.as = grown(this.as, new Float64Array(size), n);
    this.bs = grown(this.bs, new Float64Array(size), n);
    this.cs = grown(this.cs, new Float64Array(size), n);
    this.size = size;
  }

  /** Returns event `i` decoded. */
  at(i: number): TraceEvent {
    return { kind: this.kinds[i], vm: this.vms[i], vcpu: this.vcpus[i], t: this.ts[i], a: this.as[i], b: this.bs[i], c: this.cs[i] };
  }

  /** All events decoded, in emission order. */
  events(): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.at(i));
    return out;
  }

  /** Discards all events. */
  clear(): void {
    this.n = 0;
    this.dropped = 0;
  }

  /**
   * All events in canonical order: by time, then vCPU, kind and payload. The buffer itself is in execution order,
   * which legitimately depends on scheduling (the lookahead, where run() pauses); this order does not: two runs
   * whose vCPUs did the same things at the same simulated times give the same list, record for record.
   */
  canonicalEvents(): TraceEvent[] {
    const idx = Array.from({ length: this.n }, (_, i) => i);
    const { ts, vcpus, kinds, as, bs, cs, vms } = this;
    idx.sort(
      (x, y) =>
        ts[x] - ts[y] ||
        vms[x] - vms[y] ||
        vcpus[x] - vcpus[y] ||
        kinds[x] - kinds[y] ||
        as[x] - as[y] ||
        bs[x] - bs[y] ||
        cs[x] - cs[y] ||
        x - y,
    );
    return idx.map((i) => this.at(i));
  }

  /** {@link digest} of the events in {@link canonicalEvents} order. */
  canonicalDigest(): string {
    return digestOf(this.canonicalEvents());
  }

  /** A stable digest of the buffer (FNV-1a over every field), for bit-for-bit determinism checks. */
  digest(): string {
    return digestOf(this.events());
  }
}

/** FNV-1a over every field of `events`, in the same encoding as {@link TraceBuffer.digest}. */
function digestOf(events: readonly TraceEvent[]): string {
  let h = 0x811c9dc5;
  const f = new Float64Array(1);
  const b = new Uint8Array(f.buffer);
  const mix = (x: number): void => {
    f[0] = x;
    for (let k = 0; k < 8; k++) h = Math.imul(h ^ b[k], 16777619) >>> 0;
  };
  for (const e of events) {
    mix(e.kind);
    mix(e.vm);
    mix(e.vcpu);
    mix(e.t);
    mix(e.a);
    mix(e.b);
    mix(e.c);
  }
  return h.toString(16).padStart(8, '0') + ':' + events.length;
}

/** `to` holding the first `n` entries of `from` (a trace column moved into a larger array). */
function grown<T extends Uint8Array | Int32Array | Float64Array>(from: T, to: T, n: number): T {
  to.set(from.subarray(0, n));
  return to;
}
