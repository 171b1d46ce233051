/**
 * The per-VM table of system registers that controllers and devices model. Each entry says whether a guest
 * access traps to the hypervisor (an exit, charged `sysregTrap`) or is served by hardware without an exit
 * (GICv3's virtual CPU interface for ICC_IAR1_EL1/ICC_EOIR1_EL1, the virtual timer), charged the primitive the
 * entry names. Lookup is a dense array indexed by the 16-bit encoding: O(1), no hashing on the hot path.
 * A guest access to an encoding nobody registered is UNDEFINED (a guest fault), as on hardware.
 *
 * @module
 */
import type { CostPrimitives } from '../cost/cost-profile';
import { Errno, fail } from '../errno';
import type { Vcpu } from '../vm/vcpu';
import { sysregName } from './sysreg-encoding';

/** How a modelled system register behaves. */
export interface SysregHandler {
  /** Display name (defaults to the architectural name). */
  readonly name?: string;
  /**
   * Whether a guest access traps to the hypervisor. A function lets a controller decide per access
   * (e.g. ICC_DIR_EL1 trapping only when ICH_HCR_EL2.TDIR is set).
   */
  trapped: boolean | ((vcpu: Vcpu, isWrite: boolean) => boolean);
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
  readonly local?: boolean | ((vcpu: Vcpu, isWrite: boolean) => boolean);
  /** Read: returns bits [31:0]; bits [63:32] go in `vcpu.sysHi` (zeroed before the call). Absent = write-only (UNDEF on read). */
  read?(vcpu: Vcpu): number;
  /** Write of the 64-bit value (lo, hi). Absent = read-only (UNDEF on write). */
  write?(vcpu: Vcpu, lo: number, hi: number): void;
}

/** A resolved table entry. */
export interface SysregEntry {
  /** Encoding. */
  readonly enc: number;
  /** Display name. */
  readonly name: string;
  /** The handler. */
  readonly handler: SysregHandler;
  /** Cost (ns) of an untrapped access under the VM's profile. */
  readonly untrappedNs: number;
}

/** System registers of one VM. */
export class SysregTable {
  private readonly entries: (SysregEntry | undefined)[] = new Array(65536);

  /** @param costOf - resolves a cost primitive to ns under the VM's profile */
  constructor(private readonly costOf: (k: keyof CostPrimitives) => number) {}

  /**
   * Registers a handler for encoding `enc`.
   * @throws KvmError EEXIST if another handler owns it
   */
  register(enc: number, handler: SysregHandler): void {
    const e = enc & 0xffff;
    if (this.entries[e]) fail(Errno.EEXIST, `system register ${sysregName(e)} already has a handler`);
    this.entries[e] = {
      enc: e,
      name: handler.name ?? sysregName(e),
      handler,
      untrappedNs: this.costOf(handler.untrappedCost ?? 'cpuifAccess'),
    };
  }

  /** Removes the handler of `enc`. */
  unregister(enc: number): void {
    this.entries[enc & 0xffff] = undefined;
  }

  /** The entry for `enc`, if any. */
  get(enc: number): SysregEntry | undefined {
    return this.entries[enc & 0xffff];
  }
}
