/**
 * A fake redistributor side for ITS tests: per-vCPU EnableLPIs / PENDBASER, a VM-wide PROPBASER, and a
 * delivery path that records what the ITS asked for.
 */
import type { Vm } from '@irqflow/core';
import { itsLpiAcked, itsLpisEnabledChanged, type LpiHost } from '../../../src/its';

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
  deliverLpi(vcpu: number, intid: number, priority: number): void {
    this.deliveries++;
    if (this.autoAck) {
      itsLpiAcked(this.vm, intid);
      return;
    }
    let m = this.queued.get(vcpu);
    if (!m) this.queued.set(vcpu, (m = new Map()));
    m.set(intid, priority);
    if (this.recording) this.log.push({ op: 'deliver', vcpu, intid, priority });
  }
  retractLpi(vcpu: number, intid: number): void {
    this.retractions++;
    this.queued.get(vcpu)?.delete(intid);
    if (this.recording) this.log.push({ op: 'retract', vcpu, intid });
  }

  /** INTIDs queued on `vcpu`, sorted. */
  pendingOn(vcpu: number): number[] {
    return [...(this.queued.get(vcpu)?.keys() ?? [])].sort((a, b) => a - b);
  }
  /** The guest acknowledges `intid` on `vcpu` (as the vgic would after an IAR read). */
  ack(vcpu: number, intid: number): void {
    this.queued.get(vcpu)?.delete(intid);
    itsLpiAcked(this.vm, intid);
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
