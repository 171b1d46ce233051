/**
 * Counters per vCPU and per VM: exits by reason, traps by register or hypercall, interrupts injected, acked
 * and completed, simulated time. All increments are plain field or typed-array updates (no allocation).
 *
 * @module
 */

/** Why a vCPU left the guest. Index into {@link VcpuStats.exits}. */
export enum ExitReason {
  /** Data abort on an MMIO region handled by an in-kernel device (or ioeventfd). */
  MmioKernel = 0,
  /** Data abort forwarded to userspace (KVM_EXIT_MMIO). */
  MmioUser = 1,
  /** Trapped system-register access. */
  Sysreg = 2,
  /** HVC (SMCCC call). */
  Hvc = 3,
  /** SMC (SMCCC call). */
  Smc = 4,
  /** WFI. */
  Wfi = 5,
  /** Physical interrupt while in the guest: a kick IPI or a maintenance interrupt. */
  Irq = 6,
  /** A hypercall forwarded to userspace (KVM_EXIT_HYPERCALL). */
  HypercallUser = 7,
  /** A system event (PSCI SYSTEM_OFF / SYSTEM_RESET). */
  SystemEvent = 8,
}

/** Human names of {@link ExitReason} values, indexable by the enum. */
export const EXIT_REASON_NAMES: readonly string[] = [
  'mmio-kernel',
  'mmio-user',
  'sysreg',
  'hvc',
  'smc',
  'wfi',
  'irq',
  'hypercall-user',
  'system-event',
];

/** Per-vCPU counters. */
export class VcpuStats {
  /** Exits by {@link ExitReason}. */
  readonly exits = new Float64Array(EXIT_REASON_NAMES.length);
  /**
   * Trapped accesses by key, in the order each key first trapped. A sysreg key's count lives in a typed array
   * slot (no Map update per trapped access); the Map holds it from the key's first trap and gets the current
   * count each time this getter is read.
   */
  private readonly trapMap = new Map<number, number>();
  /** Count per sysreg trap slot (see {@link trapSlotOf}); grown when a new encoding first traps. */
  private trapCounts: Float64Array = new Float64Array(16);
  /** Guest operations executed (added at the end of each run slice, so a guest hook sees the count as of its slice start). */
  ops = 0;
  /** Interrupts injected towards this vCPU (made pending by any source). */
  injected = 0;
  /** Interrupts acknowledged by the guest (IAR read, rVIC ACKNOWLEDGE). */
  acked = 0;
  /** Interrupts completed by the guest (deactivated / end of interrupt). */
  completed = 0;
  /** IRQ exceptions taken by the guest. */
  irqsTaken = 0;
  /** Kicks received (the vCPU was forced out of the guest or woken). */
  kicks = 0;
  /** Times the vCPU blocked in WFI. */
  blocks = 0;
  /** Simulated ns spent blocked. */
  blockedNs = 0;
  /** Guest faults (undefined sysreg, external abort, bad instruction) delivered or recorded. */
  faults = 0;
  /** Guest MMIO accesses served without an exit by an untrapped frame (`MmioDevice.untrapped`). */
  untrappedMmio = 0;

  /** Trapped accesses by key (sysreg encoding, or `hypercallKey(fid)` for HVC/SMC), in first-trap order. */
  get traps(): Map<number, number> {
    const m = this.trapMap;
    const c = this.trapCounts;
    for (const k of m.keys()) if (k < SYSREG_KEYS) m.set(k, c[trapSlotOf[k]]);
    return m;
  }

  /** Counts one trap under `key`. */
  trap(key: number): void {
    if ((key & 0xffff) === key) {
      let slot = trapSlotOf[key];
      if (slot === 0) slot = newTrapSlot(key);
      let c = this.trapCounts;
      if (slot >= c.length) c = this.growTrapCounts(slot);
      // the first trap since reset puts the key in the Map, so the Map keeps first-trap order
      if (c[slot]++ === 0) this.trapMap.set(key, 1);
    } else this.trapMap.set(key, (this.trapMap.get(key) ?? 0) + 1);
  }

  private growTrapCounts(slot: number): Float64Array {
    const c = new Float64Array(Math.max(slot + 1, this.trapCounts.length * 2));
    c.set(this.trapCounts);
    return (this.trapCounts = c);
  }

  /** Total exits over all reasons. */
  totalExits(): number {
    let n = 0;
    for (let i = 0; i < this.exits.length; i++) n += this.exits[i];
    return n;
  }

  /** Resets every counter to zero. */
  reset(): void {
    this.exits.fill(0);
    this.trapMap.clear();
    this.trapCounts.fill(0);
    this.ops = this.injected = this.acked = this.completed = this.irqsTaken = 0;
    this.kicks = this.blocks = this.blockedNs = this.faults = this.untrappedMmio = 0;
  }
}

/** Sysreg trap keys are 16-bit encodings (0..0xffff): such a key is counted in a slot. */
const SYSREG_KEYS = 0x10000;
/** Slot of each sysreg encoding that has trapped in any vCPU (0 = none yet); slots are numbered from 1. */
const trapSlotOf = new Uint32Array(SYSREG_KEYS);
let trapSlots = 0;

function newTrapSlot(key: number): number {
  return (trapSlotOf[key] = ++trapSlots);
}

/**
 * Key under which an SMCCC call is counted: 0x10000 + (owner[29:24] << 16 | function number[15:0]). Sysreg
 * trap keys are 16-bit encodings, so the two never collide, and every key stays a small integer (no heap
 * number is allocated when the trap is counted).
 */
export function hypercallKey(fid: number): number {
  return 0x10000 + ((((fid >>> 24) & 0x3f) << 16) | (fid & 0xffff));
}

/** True if a trap key was produced by {@link hypercallKey}. */
export function isHypercallKey(key: number): boolean {
  return key >= 0x10000;
}

/** A summary of counters, summed over the vCPUs of a VM. */
export interface StatsSummary {
  /** Exits by reason name. */
  exitsByReason: Record<string, number>;
  /** Total exits. */
  exits: number;
  /** Traps by register or hypercall name. */
  traps: Record<string, number>;
  /** Guest operations executed. */
  ops: number;
  /** Interrupts injected. */
  injected: number;
  /** Interrupts acknowledged. */
  acked: number;
  /** Interrupts completed. */
  completed: number;
  /** IRQ exceptions taken. */
  irqsTaken: number;
  /** Kicks. */
  kicks: number;
  /** WFI blocks. */
  blocks: number;
  /** Guest faults. */
  faults: number;
}

/**
 * Sums counters of several vCPUs.
 * @param stats - the vCPUs' counters
 * @param nameOfTrap - turns a trap key into a display name
 */
export function summarize(stats: readonly VcpuStats[], nameOfTrap: (key: number) => string): StatsSummary {
  const s: StatsSummary = {
    exitsByReason: {},
    exits: 0,
    traps: {},
    ops: 0,
    injected: 0,
    acked: 0,
    completed: 0,
    irqsTaken: 0,
    kicks: 0,
    blocks: 0,
    faults: 0,
  };
  for (const v of stats) {
    v.exits.forEach((n, i) => {
      if (n) s.exitsByReason[EXIT_REASON_NAMES[i]] = (s.exitsByReason[EXIT_REASON_NAMES[i]] ?? 0) + n;
      s.exits += n;
    });
    for (const [k, n] of v.traps) {
      const name = nameOfTrap(k);
      s.traps[name] = (s.traps[name] ?? 0) + n;
    }
    s.ops += v.ops;
    s.injected += v.injected;
    s.acked += v.acked;
    s.completed += v.completed;
    s.irqsTaken += v.irqsTaken;
    s.kicks += v.kicks;
    s.blocks += v.blocks;
    s.faults += v.faults;
  }
  return s;
}
