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
import type { Lpi } from './lpi-table';

/**
 * What the ITS needs from the redistributor side of the vGICv3 of one VM.
 * `vcpuIndex` is the vCPU's creation index. The ITS RDbase (GITS_TYPER.PTA = 0) is a PE number, which is
 * GICR_TYPER.Processor_Number, which is the vCPU's vcpu_id (as KVM: vgic_its_cmd_handle_mapc looks the target up
 * with kvm_get_vcpu_by_id): convert at the ITS's edges with {@link peToVcpuIndex} / {@link vcpuIndexToPe}.
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
   * The LPI `lpi` exists (its first ITE was mapped), or its configuration or target changed (INV, INVALL,
   * GICR_INVLPIR/INVALLR, MOVI, MAPC, MOVALL, EnableLPIs): mirror `lpi.enabled`, `lpi.priority` and `lpi.vcpu`
   * (-1 = collection unmapped) into the redistributor's interrupt, and queue, requeue or retract it as its pending
   * state now requires. The host may keep its own object in `lpi.hostRef`.
   */
  updateLpi(lpi: Lpi): void;
  /**
   * Latch `lpi` pending (an MSI, INT, a set bit of the pending table) and queue it if it is deliverable, as
   * KVM's vgic_queue_irq_unlock with pending_latch = true. The redistributor alone owns the pending state: an
   * LPI already pending stays pending once; an LPI the guest has acknowledged becomes pending again. Hot path:
   * O(1), no allocation.
   */
  setLpiPending(lpi: Lpi): void;
  /** Clear `lpi`'s pending latch (CLEAR, DISCARD, EnableLPIs = 0, a clear pending-table bit). */
  clearLpiPending(lpi: Lpi): void;
  /** Whether `lpi` is pending (SAVE_PENDING_TABLES, dumps). */
  lpiPending(lpi: Lpi): boolean;
  /** The last ITE mapping `lpi` went away: drop its pending state and forget it. */
  removeLpi(lpi: Lpi): void;
}

/** Creates (or returns) the {@link LpiHost} of a VM; may throw KvmError (e.g. ENODEV without a vGICv3). */
export type LpiHostProvider = (vm: Vm) => LpiHost;

/**
 * The creation index of the vCPU whose redistributor is PE number `pe` (its vcpu_id), or -1 when no vCPU has
 * that id. For ITS commands and table restore, not for the injection path.
 */
export function peToVcpuIndex(host: LpiHost, pe: number): number {
  const vcpus = host.vm.vcpus;
  for (let i = 0; i < vcpus.length; i++) if (vcpus[i].id === pe) return i;
  return -1;
}

/** The PE number (vcpu_id, GICR_TYPER.Processor_Number) of the vCPU at creation index `index`. */
export function vcpuIndexToPe(host: LpiHost, index: number): number {
  return host.vm.vcpus[index]?.id ?? index;
}
