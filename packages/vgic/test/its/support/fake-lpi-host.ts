/**
 * A fake redistributor side for ITS tests: per-vCPU EnableLPIs / PENDBASER, a VM-wide PROPBASER, and a
 * redistributor that owns each LPI's pending latch and records what it queues on each vCPU's delivery path.
 */
import type { Vm } from '@irqflow/core';
import { itsLpisEnabledChanged, type Lpi, type LpiHost } from '../../../src/its';

/** One delivery-path event. */
export interface LpiEvent {
  op: 'deliver' | 'retract';
  vcpu: number;
  intid: number;
  priority?: number;
}

export class FakeLpiHost implements LpiHost {
  readonly enabled: boolean[] = [];
  readonly pendbaser: bigint[] = [];
  propbaser = 0n;
  /** vCPU → (INTID → priority) of LPIs queued on the delivery path. */
  readonly queued = new Map<number, Map<number, number>>();
  readonly log: LpiEvent[] = [];
  deliveries = 0;
  retractions = 0;
  /** Record every event in `log` (off in benchmarks). */
  recording = true;
  /** Acknowledge each LPI as soon as it is delivered (benchmarks). */
  autoAck = false;

  constructor(readonly vm: Vm) {}

  nrVcpus(): number {
    return this.vm.vcpus.length;
  }
  lpisEnabled(i: number): boolean {
    return this.enabled[i] === true;
  }
  propBaser(): bigint {
    return this.propbaser;
  }
  pendBaser(i: number): bigint {
    return this.pendbaser[i] ?? 0n;
  }
  /** Pending latch per INTID (the redistributor owns it). */
  readonly pend = new Map<number, boolean>();
  /** The vCPU each queued INTID is queued on. */
  private readonly queuedOn = new Map<number, number>();

  /** Brings the recorded delivery path in line with the LPI's pending state, configuration and target. */
  private recompute(lpi: Lpi): void {
    const id = lpi.intid;
    const v = lpi.vcpu;
    const want = this.pend.get(id) === true && lpi.enabled && v >= 0 && this.enabled[v] === true;
    const on = this.queuedOn.get(id);
    if (on !== undefined && (!want || on !== v)) {
      this.retractions++;
      this.queued.get(on)?.delete(id);
      this.queuedOn.delete(id);
      if (this.recording) this.log.push({ op: 'retract', vcpu: on, intid: id });
    }
    if (!want) return;
    let m = this.queued.get(v);
    if (!m) this.queued.set(v, (m = new Map<number, number>()));
    if (this.queuedOn.get(id) === v) {
      m.set(id, lpi.priority);
      return;
    }
    this.deliveries++;
    if (this.autoAck) {
      this.pend.set(id, false);
      return;
    }
    m.set(id, lpi.priority);
    this.queuedOn.set(id, v);
    if (this.recording) this.log.push({ op: 'deliver', vcpu: v, intid: id, priority: lpi.priority });
  }
  updateLpi(lpi: Lpi): void {
    this.recompute(lpi);
  }
  setLpiPending(lpi: Lpi): void {
    this.pend.set(lpi.intid, true);
    this.recompute(lpi);
  }
  clearLpiPending(lpi: Lpi): void {
    this.pend.set(lpi.intid, false);
    this.recompute(lpi);
  }
  lpiPending(lpi: Lpi): boolean {
    return this.pend.get(lpi.intid) === true;
  }
  removeLpi(lpi: Lpi): void {
    this.pend.set(lpi.intid, false);
    this.recompute(lpi);
    this.pend.delete(lpi.intid);
  }

  /** INTIDs queued on `vcpu`, sorted. */
  pendingOn(vcpu: number): number[] {
    return [...(this.queued.get(vcpu)?.keys() ?? [])].sort((a, b) => a - b);
  }
  /** The guest acknowledges `intid` on `vcpu` (as the vgic would after an IAR read). */
  ack(vcpu: number, intid: number): void {
    this.queued.get(vcpu)?.delete(intid);
    if (this.queuedOn.get(intid) === vcpu) this.queuedOn.delete(intid);
    this.pend.set(intid, false);
  }
  /** GICR_CTLR.EnableLPIs write. */
  setLpis(vcpu: number, on: boolean): void {
    const was = this.enabled[vcpu] === true;
    this.enabled[vcpu] = on;
    if (was !== on) itsLpisEnabledChanged(this.vm, vcpu, on);
  }
  clearLog(): void {
    this.log.length = 0;
  }
}
