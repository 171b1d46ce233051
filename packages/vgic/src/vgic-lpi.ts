/**
 * The vGICv3 side of LPIs (Arm IHI 0069, 5.1 "LPIs"): the redistributor LPI state (GICR_CTLR.EnableLPIs,
 * GICR_PROPBASER kept VM-wide as KVM does, GICR_PENDBASER per redistributor) and the {@link LpiHost} the ITS
 * (src/its) drives. An LPI is just another {@link VgicIrq} (INTID >= 8192, kept in the vgic's `lpis` Map):
 * always group 1, edge-like, enabled while the ITS delivers it, on the same ap_list / list-register path as an
 * SPI. It has no active state: acknowledging it invalidates its LR (vgic-cpuif.ts) and the fold reports the
 * acknowledgement to the ITS (itsLpiAcked).
 *
 * @module
 */
import { Errno, fail, KVM_DEV_TYPE, type Vm } from '@irqflow/core';
import { itsLpisEnabledChanged, vgicHasIts, type LpiHost } from './its';
import type { Vgic } from './vgic';
import { VgicIrq } from './vgic-irq';

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

  /** Makes LPI `intid` pending on vCPU `i` with `priority` (idempotent: updates the priority when queued). */
  deliverLpi(i: number, intid: number, priority: number): void {
    const vg = this.vg;
    const c = vg.cpus[i];
    if (!c) return;
    let irq = vg.lpis.get(intid);
    if (irq === undefined) {
      irq = new VgicIrq(intid, null);
      irq.group = 1;
      irq.enabled = true;
      vg.lpis.set(intid, irq);
    }
    irq.priority = priority & 0xf8;
    irq.enabled = true;
    if (irq.targetCpu !== c) {
      irq.targetCpu = c;
      if (irq.apCpu !== null && irq.apCpu !== c) vg.kick(irq.apCpu);
    }
    irq.pendingLatch = true;
    c.vcpu.stats.injected++;
    vg.queue(irq);
  }

  /** Takes a not-yet-acknowledged LPI back off vCPU `i`'s delivery path. */
  retractLpi(_i: number, intid: number): void {
    const irq = this.vg.lpis.get(intid);
    if (irq === undefined) return;
    this.vg.clearPending(irq);
    if (irq.apCpu !== null) this.vg.kick(irq.apCpu);
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
