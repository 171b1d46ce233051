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
  /**
   * Pending-or-active interrupts routed here (upstream ap_list_head), in heap order on `apOrd`: see
   * vgic-ap-list.ts for the list's order and the operations on it.
   */
  readonly apList: VgicIrq[] = [];
  /** The ap_list's length: its entries are `apList[0 .. apLen)` (the array keeps its size). */
  apLen = 0;
  /** Append counter of the ap_list (the order of entries appended since the last sort). */
  apSeq = 0;
  /** Entries whose sort key may have changed since the last sort ({@link apRekeyLen} used). */
  readonly apRekey: VgicIrq[] = [];
  /** Used length of {@link apRekey}. */
  apRekeyLen = 0;
  /** Entries the next prune must look at ({@link apPruneLen} used). */
  readonly apPrune: VgicIrq[] = [];
  /** Used length of {@link apPrune}. */
  apPruneLen = 0;
  /** The active entries of the ap_list, in no order (`actIdx` = position; `apActiveLen` used): what EOIcount deactivates from. */
  readonly apActive: VgicIrq[] = [];
  /** Used length of {@link apActive}. */
  apActiveLen = 0;
  /** Group 0 entries on the ap_list. */
  apGrp0 = 0;
  /** The VMCR group enables (bit 0 VENG0, bit 1 VENG1) the ap_list's sort keys were computed with. */
  apEng = 0;
  /** Scratch: the frontier of an in-order walk of the ap_list (grown with the list, never per flush). */
  apFrontier = new Int32Array(16);
  /** Used length of {@link apFrontier}. */
  apFrontierLen = 0;
  /**
   * Changes of the ap_list's order (an entry inserted, removed or given another key): a flush's walk is valid for
   * the next flush while this stays the same (`apCachedWalk` in vgic-ap-list.ts).
   */
  apGen = 0;
  /** The entries the last flush's walk visited, in list order ({@link apWalkLen} used). */
  readonly apWalkSeq: VgicIrq[] = [];
  /** Used length of {@link apWalkSeq}. */
  apWalkLen = 0;
  /** The {@link apGen} {@link apWalkSeq} was walked at (-1: none). */
  apWalkGen = -1;
  /** Whether {@link apWalkSeq} holds the whole list (that walk reached its end). */
  apWalkEnd = false;
  /** The position of the current flush's walk in {@link apWalkSeq}. */
  apWalkPos = 0;
  /** Whether the frontier ({@link apFrontier}) is positioned at {@link apWalkLen} for the current walk. */
  apWalking = false;
  /** Scratch: interrupts prune moves to another vCPU, in list order (null once queued there). */
  readonly apMoving: (VgicIrq | null)[] = [];
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
  /** Each LR's interrupt's {@link VgicIrq.ver} when the flush last wrote it on its common path (vgic-lr-sync.ts). */
  readonly lrVer = new Float64Array(16);
  /** The distributor group enables (bit g = group g) at the last flush (vgic-lr-sync.ts). */
  lrDist = 0;

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
    for (const l of [this.apList, this.apRekey, this.apPrune, this.apMoving, this.apActive, this.apWalkSeq]) {
      l.push(this.privateIrqs[0]);
      l.pop();
    }
  }

  /** The vCPU's creation index. */
  get index(): number {
    return this.vcpu.index;
  }
}
