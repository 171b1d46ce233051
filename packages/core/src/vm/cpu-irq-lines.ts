/**
 * The IRQ and FIQ inputs of a vCPU without an in-kernel irqchip (KVM_IRQ_LINE type CPU; KVM's
 * `vcpu_interrupt_line`): userspace sets or clears a bit of the vCPU's `irq_lines`, and on a change makes a request
 * and kicks the vCPU. The guest sees the lines only through HCR_EL2.VI/VF, which KVM derives from `irq_lines` when
 * the vCPU enters the guest (and `kvm_arch_vcpu_runnable` reads them for a blocked one). So a level change reaches
 * the guest at the first entry after the kick, and a raise and lower that both land before that entry are never
 * seen — the guest gets no pulse (a test checks it).
 *
 * Causal: each change carries its own due time (the writer's instant plus the delivery latency,
 * Scheduler.stampSignal), and a vCPU sampling its inputs at clock t sees the latest change due at or before t —
 * never a change before it was made, and never an earlier change overwritten by a later one before its own time.
 * Pending changes are kept in due order; a write supersedes pending ones due at or after it. At most
 * {@link CPU_LINE_PENDING_MAX} are kept: past that the oldest pending change is dropped before it is seen (a
 * level the next change overrides first; no level is ever seen early), so userspace cannot grow the list.
 *
 * @module
 */
import { VcpuSlot } from './vcpu-slot';
import { REQ_KICK, type Vcpu } from './vcpu';

/** Level bits of {@link CpuIrqLines}: the IRQ input. */
export const CPU_LINE_IRQ = 1;
/** Level bits of {@link CpuIrqLines}: the FIQ input. */
export const CPU_LINE_FIQ = 2;
/** Most level changes pending at once per vCPU. */
export const CPU_LINE_PENDING_MAX = 16;

/** Per-vCPU input levels with their due times. */
export class CpuIrqLines {
  /** The levels the vCPU last sampled (bits {@link CPU_LINE_IRQ}, {@link CPU_LINE_FIQ}). */
  seen = 0;
  /** Due times of pending changes, ascending. */
  private readonly at: number[] = [];
  /** The levels after each pending change. */
  private readonly bits: number[] = [];

  /** Records that the inputs become `bits` at `due` (a later write supersedes pending changes due at or after it). */
  change(due: number, bits: number): void {
    const at = this.at;
    while (at.length > 0 && at[at.length - 1] >= due) {
      at.pop();
      this.bits.pop();
    }
    if (at.length >= CPU_LINE_PENDING_MAX) {
      at.shift();
      this.bits.shift();
    }
    at.push(due);
    this.bits.push(bits);
  }

  /** The levels visible at `now`: folds every change due by then into {@link seen}. */
  sample(now: number): number {
    const at = this.at;
    let n = 0;
    while (n < at.length && at[n] <= now) n++;
    if (n > 0) {
      const bits = this.bits;
      this.seen = bits[n - 1];
      // drop the first n in place (splice would allocate the removed elements' array on every guest entry)
      const left = at.length - n;
      for (let i = 0; i < left; i++) {
        at[i] = at[i + n];
        bits[i] = bits[i + n];
      }
      at.length = left;
      bits.length = left;
    }
    return this.seen;
  }

  /** Due time of the earliest pending change (+Infinity when none). */
  get nextDue(): number {
    return this.at.length > 0 ? this.at[0] : Infinity;
  }

  /** Pending changes as [due, bits] pairs (a copy; for dumps and snapshots). */
  pending(): [number, number][] {
    return this.at.map((t, i) => [t, this.bits[i]]);
  }

  /** The state as plain data (a VM snapshot carries it: a change still in flight must not arrive early on the destination). */
  save(): SavedCpuIrqLines {
    return { seen: this.seen, pending: this.pending() };
  }

  /**
   * Replaces the state with `saved`. Checks it first: a failed restore changes nothing.
   * @returns false (and changes nothing) when `saved` is malformed
   */
  restore(saved: SavedCpuIrqLines): boolean {
    const okBits = (b: unknown): b is number => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 3;
    const x = saved as unknown as { seen?: unknown; pending?: unknown } | null;
    if (x === null || typeof x !== 'object' || !okBits(x.seen) || !Array.isArray(x.pending)) return false;
    const p = x.pending as unknown[];
    if (p.length > CPU_LINE_PENDING_MAX) return false;
    const at: number[] = [];
    const bits: number[] = [];
    for (const e of p) {
      if (!Array.isArray(e) || e.length !== 2) return false;
      const [t, b] = e as unknown[];
      if (typeof t !== 'number' || Number.isNaN(t) || !okBits(b)) return false;
      if (at.length > 0 && !(at[at.length - 1] < t)) return false;
      at.push(t);
      bits.push(b);
    }
    this.seen = x.seen;
    this.at.length = 0;
    this.bits.length = 0;
    this.at.push(...at);
    this.bits.push(...bits);
    return true;
  }
}

/** {@link CpuIrqLines} as plain data: the levels last sampled and the pending (due time, levels) changes. */
export interface SavedCpuIrqLines {
  readonly seen: number;
  readonly pending: readonly (readonly [due: number, bits: number])[];
}

const CPU_LINES = new VcpuSlot<CpuIrqLines>('cpu-irq-lines');

/** `vcpu`'s input levels when it has any state yet (null otherwise); for snapshots. */
export function savedCpuIrqLines(vcpu: Vcpu): SavedCpuIrqLines | null {
  const l = CPU_LINES.get(vcpu);
  return l === undefined ? null : l.save();
}

/** `vcpu`'s input levels (created on first use, seeded with the levels it has: a restored vCPU's inputs). */
export function cpuIrqLines(vcpu: Vcpu): CpuIrqLines {
  let l = CPU_LINES.get(vcpu);
  if (l === undefined) {
    l = new CpuIrqLines();
    l.seen = (vcpu.irqInput ? CPU_LINE_IRQ : 0) | (vcpu.fiqInput ? CPU_LINE_FIQ : 0);
    CPU_LINES.set(vcpu, l);
  }
  return l;
}

/**
 * Sets `vcpu.virq` / `vcpu.vfiq` to the input levels visible at its clock (guest entry, the WFI check). A change
 * still pending gets a kick due at its time, so the vCPU enters the guest again and sees it then (its own kick
 * may have been taken, with an earlier change's, before it was due).
 */
export function sampleCpuIrqLines(vcpu: Vcpu): void {
  const l = cpuIrqLines(vcpu);
  const bits = l.sample(vcpu.clock);
  vcpu.virq = (bits & CPU_LINE_IRQ) !== 0;
  vcpu.vfiq = (bits & CPU_LINE_FIQ) !== 0;
  const next = l.nextDue;
  if (next !== Infinity && next < vcpu.postedAt) {
    vcpu.vm.scheduler.signalTime = next;
    vcpu.post(REQ_KICK);
  }
}
