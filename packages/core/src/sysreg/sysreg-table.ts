/**
 * The per-VM table of system registers that controllers and devices model. Each entry says whether a guest
 * access traps to the hypervisor (an exit, charged `sysregTrap`) or is served by hardware without an exit
 * (GICv3's virtual CPU interface for ICC_IAR1_EL1/ICC_EOIR1_EL1, the virtual timer), charged the primitive the
 * entry names. Lookup is a dense array indexed by the 16-bit encoding: O(1), no hashing on the hot path.
 * A guest access to an encoding nobody registered is UNDEFINED (a guest fault), as on hardware.
 *
 * @module
 */
import { CostComponent, costComponentOf } from '../cost/cost-component';
import type { CostPrimitives } from '../cost/cost-profile';
import { Errno, fail } from '../errno';
import type { Vcpu } from '../vm/vcpu';
import { sysregName } from './sysreg-encoding';

/** Per-access decision of a {@link SysregHandler} (`trapped`, `local`) as a function. */
export type SysregDecision = (vcpu: Vcpu, isWrite: boolean) => boolean;

/** How a modelled system register behaves. */
export interface SysregHandler {
  /** Display name (defaults to the architectural name). */
  readonly name?: string;
  /**
   * Whether a guest access traps to the hypervisor. A function lets a controller decide per access
   * (e.g. ICC_DIR_EL1 trapping only when ICH_HCR_EL2.TDIR is set).
   */
  readonly trapped: boolean | SysregDecision;
  /** The cost primitive charged for an untrapped access (default `cpuifAccess`). */
  readonly untrappedCost?: keyof CostPrimitives;
  /**
   * Whether an untrapped access observes and changes nothing but the accessing vCPU's own state (its virtual
   * CPU interface, its own registers): no guest memory, no event queue, no host interrupt, no other vCPU. Such
   * an access may execute while the vCPU runs ahead of the others within the VM's lookahead
   * ({@link CreateVmOptions.lookaheadNs}); any other access waits until the vCPU is the furthest behind, so it
   * happens in exact simulated-time order. A function decides per access (e.g. ICC_EOIR1_EL1 is local unless it
   * deactivates a hardware-mapped interrupt, which reaches the host). Default `false`. Trapped accesses are
   * never local.
   */
  readonly local?: boolean | SysregDecision;
  /**
   * A register on the interrupt fast path (an acknowledge, an end of interrupt, the IPI a handler sends: read or
   * written once per interrupt). The first {@link SYSREG_HOT_LANES} hot readers and writers of a VM each get a call site of
   * their own in the interpreter, where the JIT sees one accessor and can inline it (the first hot writer's
   * `local` decision too, when it is a function); every other access goes through one shared call site. Mark
   * only what runs per interrupt. Default `false`.
   */
  readonly hot?: boolean;
  /** Read: returns bits [31:0]; bits [63:32] go in `vcpu.sysHi` (zeroed before the call). Absent = write-only (UNDEF on read). Called with the handler as `this`. */
  read?: (vcpu: Vcpu) => number;
  /** Write of the 64-bit value (lo, hi). Absent = read-only (UNDEF on write). Called with the handler as `this`. */
  write?: (vcpu: Vcpu, lo: number, hi: number) => void;
}

/** Hot readers (and, separately, hot writers) per VM that get their own interpreter call site. */
export const SYSREG_HOT_LANES = 3;

/**
 * A resolved table entry. The handler's members are copied into fields of one fixed shape when it is
 * registered, so the interpreter reads every entry the same way whatever the handler object looks like
 * (handlers are object literals of many shapes; reading their members at each access is the slow, generic
 * kind of property load).
 */
export class SysregEntry {
  /** Read accessor, or null (UNDEFINED on read). Called with the handler as `this`. */
  readonly read: ((vcpu: Vcpu) => number) | null;
  /** Write accessor, or null (UNDEFINED on write). Called with the handler as `this`. */
  readonly write: ((vcpu: Vcpu, lo: number, hi: number) => void) | null;
  /** `trapped` when it is a constant. */
  readonly trapAlways: boolean;
  /** `trapped` when it is decided per access, else null. */
  readonly trapFn: SysregDecision | null;
  /** `local` when it is a constant (absent = false). */
  readonly localAlways: boolean;
  /** `local` when it is decided per access, else null. */
  readonly localFn: SysregDecision | null;
  /** The cost component an untrapped access is attributed to (see cost-component.ts; -1: plain guest work). */
  untrappedComponent: number = CostComponent.CpuifAccess;
  /** The interpreter call site of a hot read accessor (0..SYSREG_HOT_LANES-1), or -1 for the shared one. */
  readLane = -1;
  /** The interpreter call site of a hot write accessor, or -1 for the shared one. */
  writeLane = -1;

  /**
   * @param enc - encoding
   * @param name - display name
   * @param handler - the handler
   * @param untrappedNs - cost (ns) of an untrapped access under the VM's profile
   */
  constructor(
    readonly enc: number,
    readonly name: string,
    readonly handler: SysregHandler,
    readonly untrappedNs: number,
  ) {
    this.read = handler.read ?? null;
    this.write = handler.write ?? null;
    const t = handler.trapped;
    this.trapAlways = t === true;
    this.trapFn = typeof t === 'function' ? t : null;
    const l = handler.local;
    this.localAlways = l === true;
    this.localFn = typeof l === 'function' ? l : null;
  }
}

/** System registers of one VM. */
export class SysregTable {
  private readonly entries: (SysregEntry | undefined)[] = new Array<SysregEntry | undefined>(65536);

  /** @param costOf - resolves a cost primitive to ns under the VM's profile */
  constructor(private readonly costOf: (k: keyof CostPrimitives) => number) {}

  /**
   * Registers a handler for encoding `enc`.
   * @throws KvmError EEXIST if another handler owns it
   */
  register(enc: number, handler: SysregHandler): void {
    const e = enc & 0xffff;
    if (this.entries[e]) fail(Errno.EEXIST, `system register ${sysregName(e)} already has a handler`);
    const key = handler.untrappedCost ?? 'cpuifAccess';
    const entry = new SysregEntry(e, handler.name ?? sysregName(e), handler, this.costOf(key));
    entry.untrappedComponent = costComponentOf(key);
    if (handler.hot === true) {
      if (entry.read !== null && this.hotReads < SYSREG_HOT_LANES) entry.readLane = this.hotReads++;
      if (entry.write !== null && this.hotWrites < SYSREG_HOT_LANES) entry.writeLane = this.hotWrites++;
    }
    this.entries[e] = entry;
  }

  private hotReads = 0;
  private hotWrites = 0;

  /** Removes the handler of `enc`. */
  unregister(enc: number): void {
    this.entries[enc & 0xffff] = undefined;
  }

  /** The entry for `enc`, if any. */
  get(enc: number): SysregEntry | undefined {
    return this.entries[enc & 0xffff];
  }
}
