/**
 * The boundary between the ITS (and the LPI table it owns) and the rest of the vGICv3: what the ITS needs from
 * the redistributors and the delivery path. Arm IHI 0069, chapter 5.1 "LPIs" (redistributor LPI configuration
 * via GICR_PROPBASER / GICR_PENDBASER / GICR_CTLR.EnableLPIs) and chapter 5.2 "The ITS".
 *
 * The vGICv3 implements this interface once per VM; see `src/its/README.md` for the wiring.
 *
 * @module
 */
import type { Vm } from '@irqflow/core';

/**
 * What the ITS needs from the redistributor side of the vGICv3 of one VM.
 * `vcpuIndex` is the vCPU's creation index, which is also the ITS RDbase (GITS_TYPER.PTA = 0) and
 * GICR_TYPER.Processor_Number.
 */
export interface LpiHost {
  /** The VM. */
  readonly vm: Vm;
  /** Number of vCPUs (redistributors). MAPC/MOVALL targets must be below this. */
  nrVcpus(): number;
  /** GICR_CTLR.EnableLPIs of the vCPU's redistributor. */
  lpisEnabled(vcpuIndex: number): boolean;
  /** GICR_PROPBASER (KVM keeps one VM-wide value): PA [51:12], IDbits [4:0]. */
  propBaser(): bigint;
  /** GICR_PENDBASER of the vCPU's redistributor: PTZ [62], PA [51:16]. */
  pendBaser(vcpuIndex: number): bigint;
  /**
   * Make LPI `intid` pending on the vCPU's delivery path (ap_list / list registers) with `priority`, and kick
   * the vCPU. Called only for an enabled LPI whose target has LPIs enabled. Idempotent: calling it again for an
   * LPI already queued updates its priority (INV after a priority change).
   */
  deliverLpi(vcpuIndex: number, intid: number, priority: number): void;
  /**
   * Take a not-yet-acknowledged LPI back off the vCPU's delivery path (CLEAR, DISCARD, a disable via INV, a move
   * to another vCPU). A no-op if it is not queued there. An LPI already acknowledged by the guest is not affected.
   */
  retractLpi(vcpuIndex: number, intid: number): void;
}

/** Creates (or returns) the {@link LpiHost} of a VM; may throw KvmError (e.g. ENODEV without a vGICv3). */
export type LpiHostProvider = (vm: Vm) => LpiHost;
