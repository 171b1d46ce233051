/**
 * The vGICv3 side of LPIs (Arm IHI 0069, 5.1 "LPIs"): the redistributor LPI state (GICR_CTLR.EnableLPIs,
 * GICR_PROPBASER kept VM-wide as KVM does, GICR_PENDBASER per redistributor) and the {@link LpiHost} the ITS
 * (src/its) drives. An LPI is just another {@link VgicIrq} (INTID >= 8192, kept in the vgic's `lpis` Map):
 * always group 1, edge-like, enabled while the ITS delivers it, on the same ap_list / list-register path as an
 * SPI. It has no active state: acknowledging it invalidates its LR (vgic-cpuif.ts). The vgic alone owns its
 * pending state (KVM's pending_latch): the ITS translates and calls {@link VgicLpiHost.setLpiPending}, so an MSI
 * arriving after the guest acknowledged the LPI (untrapped ICC_IAR1, before the next exit) latches it pending
 * again and it is delivered once more after the fold.
 *
 * @module
 */
import { Errno, fail, KVM_DEV_TYPE, TraceKind, type Vm } from '@irqflow/core';
import type { LpiHost } from './its/lpi-host';
import type { Lpi } from './its/lpi-table';
import { itsInvalidateLpi, itsLpisEnabledChanged, vgicHasIts } from './its/its-vm';
import { LrState } from './vgic-cpuif';
import type { Vgic } from './vgic';
import { VGIC_MIN_LPI, VgicIrq } from './vgic-irq';

/** The LPI host of one vGICv3. */
export class VgicLpiHost implements LpiHost {
  /** GICR_PROPBASER (VM-wide). */
  propBaserValue = 0n;
  /** GICR_PENDBASER per vCPU index. */
  readonly pendBasers: bigint[] = [];
  /** GICR_CTLR.EnableLPIs per vCPU index. */
  readonly enabled: boolean[] = [];

  /** @param vg - the vGICv3 */
  constructor(readonly vg: Vgic) {}

  /** The VM. */
  get vm(): Vm {
    return this.vg.vm;
  }

  /** Number of redistributors. */
  nrVcpus(): number {
    return this.vg.cpus.length;
  }

  /** GICR_CTLR.EnableLPIs of redistributor `i`. */
  lpisEnabled(i: number): boolean {
    return this.enabled[i] === true;
  }

  /** GICR_PROPBASER. */
  propBaser(): bigint {
    return this.propBaserValue;
  }

  /** GICR_PENDBASER of redistributor `i`. */
  pendBaser(i: number): bigint {
    return this.pendBasers[i] ?? 0n;
  }

  /** The vgic's interrupt for `lpi`, created on first use. */
  private irqOf(lpi: Lpi): VgicIrq {
    let irq = lpi.hostRef as VgicIrq | null;
    if (irq === null) {
      irq = new VgicIrq(lpi.intid, null);
      irq.group = 1;
      lpi.hostRef = irq;
      this.vg.lpis.set(lpi.intid, irq);
    }
    return irq;
  }

  /**
   * Mirrors the ITS's configuration and target of `lpi` (vgic_its's update_lpi_config / update_affinity): the
   * target is null while its collection is unmapped or its redistributor has LPIs disabled. A pending LPI
   * that must move (disabled, retargeted, reprioritised) is pulled back from its list register (the latch
   * keeps it pending) or off its old ap_list, and queued again.
   */
  updateLpi(lpi: Lpi): void {
    const vg = this.vg;
    const irq = this.irqOf(lpi);
    const prio = lpi.priority & 0xf8;
    const t = lpi.vcpu >= 0 && this.enabled[lpi.vcpu] === true ? (vg.cpus[lpi.vcpu] ?? null) : null;
    const changed = irq.priority !== prio || irq.enabled !== lpi.enabled || irq.targetCpu !== t;
    irq.priority = prio;
    irq.enabled = lpi.enabled;
    irq.targetCpu = t;
    if (!changed) return;
    const c = irq.lrCpu;
    if (c !== null) {
      if ((c.cpuif.lrState[irq.lr] & LrState.Pending) !== 0) {
        c.cpuif.lrState[irq.lr] &= ~LrState.Pending;
        irq.pendingLatch = true;
        c.cpuif.refresh();
      }
      vg.kick(c);
    } else if (irq.apCpu !== null) {
      const ap = irq.apCpu;
      // (staying on the list with a new priority or enable marked it unsorted: VgicIrq's setters)
      if (vg.oracle(irq) !== ap) vg.unqueue(irq);
    }
    vg.queue(irq);
  }

  /** Latches `lpi` pending and queues it (vgic_queue_irq_unlock). O(1), no allocation. */
  setLpiPending(lpi: Lpi): void {
    const irq = lpi.hostRef as VgicIrq | null;
    if (irq === null) return;
    const fresh = !this.vg.isPending(irq);
    irq.pendingLatch = true;
    const t = irq.targetCpu;
    if (t !== null) t.vcpu.stats.injected++;
    const vm = this.vg.vm;
    if (vm.trace.on) vm.trace.emit(TraceKind.Inject, vm.id, t === null ? -1 : t.vcpu.index, vm.now, irq.intid, 1, 0);
    this.vg.queue(irq, fresh);
  }

  /** Clears `lpi`'s pending latch (and a pending list register holding it). */
  clearLpiPending(lpi: Lpi): void {
    const irq = lpi.hostRef as VgicIrq | null;
    if (irq === null) return;
    this.vg.clearPending(irq);
    if (irq.apCpu !== null) this.vg.kick(irq.apCpu);
  }

  /** Whether `lpi` is pending (latch or a pending list register). */
  lpiPending(lpi: Lpi): boolean {
    const irq = lpi.hostRef as VgicIrq | null;
    return irq !== null && this.vg.isPending(irq);
  }

  /** Forgets `lpi` (its last ITE went away). */
  removeLpi(lpi: Lpi): void {
    const irq = lpi.hostRef as VgicIrq | null;
    if (irq === null) return;
    this.vg.clearPending(irq);
    irq.enabled = false;
    const ap = irq.apCpu;
    if (ap !== null) {
      if (irq.lrCpu === null) this.vg.unqueue(irq);
      else this.vg.kick(ap);
    }
    if (this.vg.lpis.get(lpi.intid) === irq) this.vg.lpis.delete(lpi.intid);
    lpi.hostRef = null;
  }

  /**
   * GICR_INVLPIR of redistributor `i` (GICv3.1; KVM's vgic_mmio_write_invlpi): re-reads LPI `intid`'s property
   * byte. Ignored while the redistributor has LPIs disabled, for an INTID below 8192 or an unmapped LPI.
   */
  invalidateLpi(i: number, intid: number): void {
    if (!this.lpisEnabled(i) || intid < VGIC_MIN_LPI) return;
    itsInvalidateLpi(this.vm, i, intid);
  }

  /** GICR_INVALLR of redistributor `i` (KVM's vgic_mmio_write_invall): re-reads every LPI targeting it. */
  invalidateAll(i: number): void {
    if (!this.lpisEnabled(i)) return;
    itsInvalidateLpi(this.vm, i);
  }

  /** GICR_CTLR write: EnableLPIs (refused without an ITS, as KVM). */
  setEnableLpis(i: number, on: boolean): void {
    if (on && !vgicHasIts(this.vm)) return;
    if (this.lpisEnabled(i) === on) return;
    this.enabled[i] = on;
    itsLpisEnabledChanged(this.vm, i, on);
  }
}

/** The LPI host of `vm`'s vGICv3 (the ITS device's provider). @throws KvmError ENODEV without a vGICv3 */
export function lpiHostOf(vm: Vm): LpiHost {
  const dev = vm.devices.find((d) => d.type === KVM_DEV_TYPE.ARM_VGIC_V3) as { vgic?: Vgic } | undefined;
  if (!dev?.vgic) fail(Errno.ENODEV, 'an ITS needs a vGICv3 on the VM');
  return dev.vgic.lpiHost;
}
