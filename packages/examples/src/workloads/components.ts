/**
 * The building blocks of the workloads: an IPI ping-pong between vCPU pairs, a periodic virtual-timer tick
 * per vCPU, an MSI-raising device (virtio-style: one vector per vCPU queue, through an irqfd on an MSI route —
 * or on an SPI route when the controller has no MSI), a passthrough device (a host interrupt whose handler
 * signals the irqfd, as VFIO does) and a level-triggered INTx device with irqfd + resamplefd. Host-side code
 * uses the public VM API only (routing, irqfds, eventfds, host interrupts, timed events).
 *
 * @module
 */
import {
  EventFd,
  HostEvent,
  MSI_VALID_DEVID,
  type GuestAsm,
  type Msi,
  type PassthroughDevice,
  type RoutingEntry,
  type Vcpu,
} from '@irqflow/core';
import { ActionKind, type Component, type WorkloadContext } from './workload';

/** A driver capability a component needs, or a clear error naming the controller. */
function need<T>(ctx: WorkloadContext, what: string, x: T | undefined): T {
  if (x === undefined) throw new Error(`${ctx.irqchip.name}'s guest driver has no ${what}`);
  return x;
}

/**
 * Jittered gap: `base` scaled by a factor in [0.5, 1.5), and one gap in eight a burst (a quarter of `base`), so
 * arrivals are seeded rather than periodic.
 */
export function jitter(ctx: WorkloadContext, base: number): number {
  const r = ctx.rng;
  if (r.int(8) === 0) return Math.max(1, Math.round(base / 4));
  return Math.max(1, Math.round(base * (0.5 + r.float())));
}

/**
 * IPI ping-pong: vCPUs 2k and 2k+1 bounce IPI 0 `rounds` times each way. After one send in eight (seeded) the
 * guest works on in its handler for 1..`maxThink` {@link ActionKind.Think} iterations, so that reply finds it
 * still running rather than back in WFI.
 */
export class IpiPingPong implements Component {
  readonly name = 'ipi';
  readonly path = 'ipi';
  readonly usesIpi = true;
  readonly intids: readonly number[];
  sent = 0;
  delivered = 0;
  readonly planned: number;
  private readonly pairSent: number[];

  constructor(
    private readonly ctx: WorkloadContext,
    private readonly rounds: number,
    private readonly maxThink = 64,
  ) {
    const drv = ctx.driver;
    if (drv.ipi === undefined || drv.emitSendIpi === undefined)
      throw new Error(`${ctx.irqchip.name}'s guest driver has no IPIs (ipi/emitSendIpi)`);
    this.intids = [drv.ipi(0)];
    const pairs = ctx.vcpus >>> 1;
    this.pairSent = new Array<number>(pairs).fill(0);
    this.planned = pairs * rounds * 2;
  }

  emitSetup(a: GuestAsm, cpu: number): void {
    if ((cpu ^ 1) < this.ctx.vcpus) this.ctx.driver.emitEnable(a, this.intids[0]);
  }

  private send(v: Vcpu): void {
    const p = v.index >>> 1;
    if (this.pairSent[p] >= this.rounds * 2) return;
    this.pairSent[p]++;
    this.sent++;
    this.ctx.act(v, ActionKind.SendIpi, v.index ^ 1);
    // One send in eight is followed by a burst of work (1..maxThink iterations), so the reply sometimes finds
    // the sender still running instead of back in WFI.
    if (this.maxThink > 0 && this.ctx.rng.int(8) === 0) this.ctx.act(v, ActionKind.Think, 1 + this.ctx.rng.int(this.maxThink));
  }

  start(v: Vcpu): void {
    if (v.index % 2 === 0 && v.index + 1 < this.ctx.vcpus) this.send(v);
  }

  onIrq(v: Vcpu): void {
    this.delivered++;
    this.send(v);
  }
}

/** Virtual-timer tick: every vCPU takes `ticks` timer interrupts, `period` counter ticks apart. */
export class TimerTick implements Component {
  readonly name = 'timer';
  readonly path = 'timer';
  readonly usesTimer = true;
  readonly intids: readonly number[];
  readonly levelIntids: readonly number[];
  sent = 0;
  delivered = 0;
  readonly planned: number;
  private readonly armed: number[];

  constructor(
    private readonly ctx: WorkloadContext,
    private readonly ticks: number,
    private readonly period: number,
  ) {
    this.intids = [need(ctx, 'timer interrupts (timerIntids)', ctx.driver.timerIntids).virt];
    this.levelIntids = this.intids;
    this.armed = new Array<number>(ctx.vcpus).fill(0);
    this.planned = ticks * ctx.vcpus;
  }

  emitSetup(a: GuestAsm): void {
    this.ctx.driver.emitEnable(a, this.intids[0], { level: true });
  }

  private arm(v: Vcpu): void {
    this.armed[v.index]++;
    this.sent++;
    this.ctx.act(v, ActionKind.ArmTimer, jitter(this.ctx, this.period));
  }

  start(v: Vcpu): void {
    this.arm(v);
  }

  onIrq(v: Vcpu): void {
    this.delivered++;
    if (this.armed[v.index] < this.ticks) this.arm(v);
    else this.ctx.act(v, ActionKind.StopTimer);
  }
}

/** Most queues (vectors) an {@link MsiDevice} has; also the spacing of device ids' interrupt and GSI ranges. */
export const MAX_QUEUES = 16;

/** How an {@link MsiDevice} reaches the guest. */
export type MsiPath = 'msi' | 'spi';

/**
 * A virtio-style device with one queue per vCPU: each queue raises `perQueue` interrupts, the next one
 * `interval` ns after the guest consumed the previous (so none coalesce and counts are exact). With
 * `viaHostIrq`, the device is a VFIO-like passthrough device (core's `PassthroughDevice`): each queue is an
 * MSI-X vector backed by a host interrupt whose handler signals the irqfd's eventfd, which is also the
 * irq-bypass token — a controller with direct injection (GICv4) takes the vector over and the eventfd is never
 * signalled. {@link MsiDevice.path} reports which path ran.
 */
export class MsiDevice implements Component {
  readonly name: string;
  readonly intids: number[] = [];
  sent = 0;
  delivered = 0;
  readonly planned: number;
  private readonly msis: (Msi | null)[] = [];
  private readonly fds: EventFd[] = [];
  private readonly remaining: number[] = [];
  private readonly events: HostEvent[] = [];
  private readonly byIntid = new Map<number, number>();
  private passthrough: PassthroughDevice | null = null;
  private readonly mode: MsiPath;

  constructor(
    private readonly ctx: WorkloadContext,
    private readonly perQueue: number,
    private readonly interval: number,
    private readonly gsiBase: number,
    private readonly devid: number,
    readonly viaHostIrq = false,
    queues = Math.min(ctx.vcpus, MAX_QUEUES),
  ) {
    const d = ctx.driver;
    this.mode = d.emitMsiSetup && d.msiIrqs && ctx.irqchip.features.includes('msi') ? 'msi' : 'spi';
    this.name = viaHostIrq ? 'passthrough' : 'virtio';
    const range = this.mode === 'msi' ? d.msiIrqs! : d.deviceIrqs;
    const first = range.first + devid * MAX_QUEUES;
    for (let q = 0; q < queues; q++) {
      const intid = first + q;
      this.intids.push(intid);
      this.byIntid.set(intid, q);
      this.msis.push(null);
      this.fds.push(new EventFd(`${this.name}-q${q}`));
      this.remaining.push(perQueue);
      this.events.push(new HostEvent(() => this.fire(q), `${this.name}-q${q}`));
    }
    this.planned = perQueue * queues;
  }

  /**
   * The delivery path that ran: `msi-irqfd` / `spi-irqfd` (software injection through the irqfd), with a
   * `vfio-` prefix for the passthrough device, or `direct` when interrupts arrived without the irqfd's eventfd
   * ever being signalled (direct injection).
   */
  get path(): string {
    const sw = `${this.viaHostIrq ? 'vfio-' : ''}${this.mode}-irqfd`;
    if (!this.viaHostIrq || this.delivered === 0) return sw;
    return this.fds.every((fd) => fd.signals === 0) ? 'direct' : sw;
  }

  /** Target vCPU of queue q. */
  private target(q: number): number {
    return q % this.ctx.vcpus;
  }

  emitSetup(a: GuestAsm, cpu: number): void {
    const d = this.ctx.driver;
    this.intids.forEach((intid, q) => {
      if (this.mode === 'msi') {
        if (cpu === 0) this.msis[q] = d.emitMsiSetup!(a, { devid: this.devid, event: q, intid, target: this.target(q) });
      } else if (this.target(q) === cpu) d.emitEnable(a, intid);
    });
  }

  routes(): RoutingEntry[] {
    return this.intids.map((intid, q): RoutingEntry => {
      const gsi = this.gsiBase + q;
      if (this.mode === 'spi') return { gsi, type: 'irqchip', irqchip: 0, pin: intid - this.ctx.driver.deviceIrqs.first };
      const m = this.msis[q]!;
      return { gsi, type: 'msi', msi: m.devid !== undefined || m.flags ? m : { ...m, devid: this.devid, flags: MSI_VALID_DEVID } };
    });
  }

  hostSetup(): void {
    const vm = this.ctx.vm;
    if (this.mode === 'msi') this.ctx.driver.hostMsiSetup?.(vm);
    const routes = this.viaHostIrq ? this.routes() : [];
    if (this.viaHostIrq) this.passthrough = this.ctx.hv.createPassthroughDevice(`vfio-${this.devid}`, this.devid, this.fds.length);
    this.fds.forEach((fd, q) => {
      const pt = this.passthrough;
      if (pt) {
        const r = routes[q];
        if (r.type === 'msi') pt.programVector(q, r.msi.address, r.msi.data, false);
        else pt.programVector(q, 0, 0, false);
        pt.setTrigger(q, fd); // VFIO_DEVICE_SET_IRQS: the host handler signals fd; fd is the bypass token
      }
      vm.irqfd({ fd, gsi: this.gsiBase + q });
    });
  }

  /** Closes the passthrough device: its vectors' triggers and host interrupts are given back. */
  teardown(): void {
    this.passthrough?.destroy();
  }

  hostStart(now: number): void {
    // The guest has set its MSI controller up and programmed the MSI-X table by now; QEMU commits the MSI routes
    // at that point (vfio_msix_vector_use → kvm_irqchip_commit_routes), which is when KVM's
    // kvm_arch_update_irqfd_routing can have a GICv4 host forward the vectors (the guest's translation exists).
    if (this.passthrough) this.ctx.vm.setGsiRouting(this.ctx.vm.routing.routes.map((r) => ({ ...r })));
    this.events.forEach((ev, q) => this.ctx.vm.schedule(ev, now + jitter(this.ctx, this.interval) + q * 97));
  }

  private fire(q: number): void {
    if (this.remaining[q] <= 0) return;
    this.remaining[q]--;
    this.sent++;
    if (this.passthrough) this.passthrough.raise(q);
    else this.fds[q].signal(1);
  }

  onIrq(v: Vcpu, intid: number): void {
    this.delivered++;
    const q = this.byIntid.get(intid)!;
    if (this.remaining[q] > 0) this.ctx.vm.schedule(this.events[q], v.clock + jitter(this.ctx, this.interval));
  }
}

/**
 * A level-triggered INTx device behind an irqfd with a resamplefd: each request needs `completions`
 * interrupts, so the device keeps its line asserted (re-signals on every resample) until the guest has
 * serviced it that many times; the next request comes `interval` ns later.
 */
export class LevelDevice implements Component {
  readonly name = 'intx';
  readonly path = 'level-irqfd+resample';
  readonly intids: readonly number[];
  readonly levelIntids: readonly number[];
  sent = 0;
  delivered = 0;
  readonly planned: number;
  private readonly fd = new EventFd('intx');
  private readonly resample = new EventFd('intx-resample');
  private work = 0;
  private requestsLeft: number;
  private readonly next: HostEvent;

  constructor(
    private readonly ctx: WorkloadContext,
    requests: number,
    private readonly completions: number,
    private readonly interval: number,
    private readonly gsi: number,
    private readonly line: number,
    private readonly targetCpu: number,
  ) {
    this.intids = [ctx.driver.deviceIrqs.first + line];
    this.levelIntids = this.intids;
    this.requestsLeft = requests;
    this.planned = requests * completions;
    this.next = new HostEvent(() => this.request(), 'intx-request');
  }

  emitSetup(a: GuestAsm, cpu: number): void {
    if (cpu === this.targetCpu) this.ctx.driver.emitEnable(a, this.intids[0], { level: true });
  }

  routes(): RoutingEntry[] {
    return [{ gsi: this.gsi, type: 'irqchip', irqchip: 0, pin: this.line }];
  }

  hostSetup(): void {
    this.ctx.vm.irqfd({ fd: this.fd, gsi: this.gsi, resamplefd: this.resample });
    this.resample.listen(() => {
      this.resample.read();
      if (this.work > 0) this.assert();
      else if (this.requestsLeft > 0) this.ctx.vm.schedule(this.next, this.ctx.vm.now + jitter(this.ctx, this.interval));
    });
  }

  hostStart(now: number): void {
    this.ctx.vm.schedule(this.next, now + jitter(this.ctx, this.interval));
  }

  private request(): void {
    if (this.requestsLeft <= 0 || this.work > 0) return;
    this.requestsLeft--;
    this.work = this.completions;
    this.assert();
  }

  private assert(): void {
    this.sent++;
    this.fd.signal(1);
  }

  onIrq(): void {
    this.delivered++;
    if (this.work > 0) this.work--;
  }
}
