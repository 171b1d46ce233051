/**
 * Per-vCPU vgic state, as upstream KVM's `struct vgic_cpu`: the private interrupts (SGIs and PPIs), the
 * ap_list of pending-or-active interrupts targeting this vCPU, the virtual CPU interface hardware model, and
 * the redistributor this vCPU was given (GICv3, Arm IHI 0069 chapter 12.11 "GICR_* registers").
 *
 * @module
 */
import type { Vcpu } from '@irqflow/core';
import type { RedistRegion } from './vgic';
import { VgicCpuIf } from './vgic-cpuif';
import { VGIC_NR_PRIVATE_IRQS, VgicIrq } from './vgic-irq';

/** The vgic state of one vCPU (`struct vgic_cpu`). */
export class VgicCpu {
  /** SGIs and PPIs. */
  readonly privateIrqs: VgicIrq[] = [];
  /** Pending-or-active interrupts routed here (upstream ap_list_head); sorted lazily at flush. */
  readonly apList: VgicIrq[] = [];
  /** The virtual CPU interface hardware. */
  readonly cpuif: VgicCpuIf;
  /** GICv3: the redistributor region this vCPU's redistributor is in (KVM's rdreg), null until it has one. */
  rdRegion: RedistRegion | null = null;
  /** GICv3: the redistributor's slot in {@link VgicCpu.rdRegion} (KVM's rdreg_index). */
  rdIndex = -1;
  /** GICR_WAKER.ProcessorSleep. */
  processorSleep = true;
  /** ICC_SRE_EL1.SRE as seen by the guest (RAO/WI in KVM). */
  readonly sre = true;
  /** The interrupt each list register holds (hypervisor shadow of ICH_LR<n>.vINTID). */
  readonly lrIrqs: (VgicIrq | null)[] = new Array<VgicIrq | null>(16).fill(null);
  /** Each LR's state as the hypervisor wrote it at the last flush (to see what the guest consumed). */
  readonly lrFlushState = new Uint8Array(16);
  /** Whether the ap_list may need sorting (entries added since the last sort). */
  apDirty = false;
  /** Scratch sort keys for the ap_list (grown with the list, never per flush). */
  apKeys = new Float64Array(16);

  /**
   * @param vcpu - the vCPU
   * @param v2 - GICv2 flavour
   * @param nrLrs - list registers
   */
  constructor(
    readonly vcpu: Vcpu,
    v2: boolean,
    nrLrs: number,
  ) {
    this.cpuif = new VgicCpuIf(vcpu, v2, nrLrs);
    for (let i = 0; i < VGIC_NR_PRIVATE_IRQS; i++) {
      const irq = new VgicIrq(i, this);
      irq.reset(!v2);
      this.privateIrqs.push(irq);
    }
    // An empty array literal starts as an array of small integers and changes kind at its first object; a
    // vCPU whose list never held one would stay the other kind, and the flush/sync code, which sees every
    // vCPU's list, would have to handle both. One push and pop makes every ap_list an object array from birth.
    this.apList.push(this.privateIrqs[0]);
    this.apList.pop();
  }

  /** The vCPU's creation index. */
  get index(): number {
    return this.vcpu.index;
  }
}
