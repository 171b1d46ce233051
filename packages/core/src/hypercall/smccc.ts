/**
 * SMCCC (Arm DEN 0028) function-identifier helpers and the per-VM hypercall table. HVC/SMC calls carry the
 * function id in x0 and arguments in x1..x17; results come back in x0..x3. Controllers register ranges of
 * function ids (rVIC: 0xC5000200 + n, rVID: 0xC5000100 + n). Calls nobody handles follow KVM's SMCCC filter
 * (KVM_ARM_VM_SMCCC_FILTER): by default they return NOT_SUPPORTED to the guest; a range set to `forward`
 * exits to userspace (KVM_EXIT_HYPERCALL).
 *
 * @module
 */
import { Errno, fail } from '../errno';
import type { Vcpu } from '../vm/vcpu';

/** SMCCC return value NOT_SUPPORTED (-1 as a 64-bit value). */
export const SMCCC_RET_NOT_SUPPORTED = -1;
/** SMCCC_VERSION function id. */
export const SMCCC_VERSION = 0x80000000;
/** SMCCC_ARCH_FEATURES function id. */
export const SMCCC_ARCH_FEATURES = 0x80000001;

/** PSCI function ids (SMC32 unless noted). */
export const PSCI = {
  VERSION: 0x84000000,
  CPU_OFF: 0x84000002,
  CPU_ON_64: 0xc4000003,
  AFFINITY_INFO_64: 0xc4000004,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
} as const;

/** A hypercall handler: reads arguments with `vcpu.x(1..)`, writes results with `vcpu.setX(0..3, …)`. */
export type HypercallHandler = (vcpu: Vcpu, fid: number) => void;

/** A registered range of function ids. */
export interface HypercallRange {
  /** First function id. */
  readonly base: number;
  /** Number of consecutive ids. */
  readonly count: number;
  /** Display name of the service (e.g. "rVIC"). */
  readonly name: string;
  /** Names of the individual calls, by offset from `base` (for counters). */
  readonly callNames?: readonly string[];
  /** The handler. */
  readonly handler: HypercallHandler;
}

/** What the SMCCC filter does with a range. */
export type SmcccFilterAction = 'handle' | 'deny' | 'forward';

interface FilterRange {
  base: number;
  count: number;
  action: SmcccFilterAction;
}

/** The hypercall table of one VM. */
export class HypercallTable {
  private ranges: HypercallRange[] = [];
  private filters: FilterRange[] = [];

  /**
   * Registers a range of function ids.
   * @throws KvmError EEXIST when it overlaps a registered range
   */
  register(range: HypercallRange): void {
    for (const r of this.ranges) {
      if (range.base < r.base + r.count && r.base < range.base + range.count)
        fail(Errno.EEXIST, `hypercall range ${range.name} overlaps ${r.name}`);
    }
    this.ranges.push(range);
  }

  /** Removes every range named `name`. */
  unregister(name: string): void {
    this.ranges = this.ranges.filter((r) => r.name !== name);
  }

  /** Finds the range handling `fid` (fid is an unsigned 32-bit value). */
  find(fid: number): HypercallRange | undefined {
    const rs = this.ranges;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (fid >= r.base && fid < r.base + r.count) return r;
    }
    return undefined;
  }

  /**
   * Sets the filter action for a range of function ids (KVM_ARM_VM_SMCCC_FILTER).
   * @throws KvmError EINVAL for an empty or wrapping range, EEXIST when it overlaps an existing filter range
   */
  setFilter(base: number, count: number, action: SmcccFilterAction): void {
    if (!Number.isInteger(base) || !Number.isInteger(count) || count <= 0 || base < 0 || base + count > 2 ** 32)
      fail(Errno.EINVAL, `bad SMCCC filter range base=${base} count=${count}`);
    for (const f of this.filters) {
      if (base < f.base + f.count && f.base < base + count) fail(Errno.EEXIST, 'SMCCC filter ranges overlap');
    }
    this.filters.push({ base, count, action });
  }

  /** The filter action for `fid` (default `handle`). */
  filterAction(fid: number): SmcccFilterAction {
    const fs = this.filters;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i];
      if (fid >= f.base && fid < f.base + f.count) return f.action;
    }
    return 'handle';
  }

  /** A display name for a call, e.g. "rVIC.ACKNOWLEDGE" or "0xc5000209". */
  nameOf(fid: number): string {
    const r = this.find(fid);
    if (!r) return `0x${(fid >>> 0).toString(16)}`;
    const n = r.callNames?.[fid - r.base];
    return n ? `${r.name}.${n}` : `${r.name}+${fid - r.base}`;
  }

  /** The registered ranges. */
  get all(): readonly HypercallRange[] {
    return this.ranges;
  }
}
