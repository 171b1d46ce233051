/**
 * GSI routing (KVM_SET_GSI_ROUTING), irqfds with optional resamplefds (KVM_IRQFD) and the ack notifier that
 * drives resampling (kvm_notify_acked_irq). An irqfd is an eventfd whose signal injects through its GSI's
 * routes. A GSI with a single route goes first through the controller's `setIrqInatomic`, as KVM's irqfd wakeup
 * does: on the vgic an irqchip route then raises the SPI and leaves it high, and an MSI route uses the ITS
 * translation cache. Otherwise an irqchip route pulses the pin (1 then 0) or, with a resamplefd, asserts it;
 * a resampled line stays asserted until the guest completes the interrupt — then it is lowered and the
 * resamplefd signalled, so the VMM re-evaluates its device and re-signals if it is still pending. MSI routes go
 * to the controller's `setMsi`.
 *
 * @module
 */
import { Errno, fail, KvmError } from '../errno';
import type { RoutingEntry } from '../flow/irqchip-flow';
import { MSI_VALID_DEVID } from '../flow/irqchip-flow';
import type { Vm } from '../vm/vm';
import type { IrqBypassConsumer } from '../host/irq-bypass';
import type { EventFd } from './eventfd';

/** KVM_MAX_IRQ_ROUTES. */
export const KVM_MAX_IRQ_ROUTES = 4096;
/** KVM_IRQCHIP_NUM_PINS on arm64 (VGIC_MAX_SPI − VGIC_NR_PRIVATE_IRQS = 1020 − 32). */
export const KVM_IRQCHIP_NUM_PINS = 988;

/** KVM_IRQFD arguments. */
export interface IrqfdSpec {
  /** The eventfd. */
  fd: EventFd;
  /** The GSI it injects. */
  gsi: number;
  /** With a resamplefd, the irqfd is level-triggered: see the module doc. */
  resamplefd?: EventFd;
  /** Remove the irqfd instead of adding it. */
  deassign?: boolean;
}

/** An assigned irqfd. */
export interface Irqfd {
  /** The eventfd. */
  readonly fd: EventFd;
  /** The GSI. */
  readonly gsi: number;
  /** The resamplefd, if level-triggered. */
  readonly resamplefd: EventFd | undefined;
  /** The GSI's routes at the time (refreshed on every routing change). */
  routes: readonly RoutingEntry[];
  /** Whether a resampled line is currently asserted. */
  asserted: boolean;
  /** Injections dropped because the controller reported an error. */
  errors: number;
  /** Host IRQ of the passthrough producer connected through irq bypass, or -1. */
  bypassIrq: number;
  /** The single route irq bypass forwards (KVM's irqfd->irq_entry), or null. */
  bypassRoute: RoutingEntry | null;
  /** @internal */
  unlisten: () => void;
  /** @internal */
  consumer: IrqBypassConsumer | null;
}

/** The routing table and irqfds of one VM. */
export class IrqRouting {
  private byGsi: (readonly RoutingEntry[] | undefined)[] = [];
  private entries: readonly RoutingEntry[] = [];
  private readonly irqfds: Irqfd[] = [];
  private resamplersByPin = new Map<number, Irqfd[]>();

  /** @param vm - the owning VM */
  constructor(private readonly vm: Vm) {}

  /** The current routing entries. */
  get routes(): readonly RoutingEntry[] {
    return this.entries;
  }

  /** The routes of one GSI. */
  routesOf(gsi: number): readonly RoutingEntry[] {
    return this.byGsi[gsi] ?? [];
  }

  /** The assigned irqfds. */
  get assigned(): readonly Irqfd[] {
    return this.irqfds;
  }

  /**
   * Replaces the whole table (KVM_SET_GSI_ROUTING). Validated entirely before anything changes.
   * @throws KvmError EINVAL for too many entries, a GSI or pin out of range, bad flags, or two irqchip entries
   * of one GSI on the same irqchip; whatever the controller's validateRoute throws
   */
  set(entries: readonly RoutingEntry[]): void {
    if (entries.length > KVM_MAX_IRQ_ROUTES) fail(Errno.EINVAL, `${entries.length} routes exceed KVM_MAX_IRQ_ROUTES`);
    const byGsi: RoutingEntry[][] = [];
    for (const e of entries) {
      if (!Number.isInteger(e.gsi) || e.gsi < 0 || e.gsi >= KVM_MAX_IRQ_ROUTES) fail(Errno.EINVAL, `GSI ${e.gsi} out of range`);
      if (e.type === 'irqchip') {
        if (e.irqchip !== 0) fail(Errno.EINVAL, `irqchip ${e.irqchip} does not exist (arm64 has one)`);
        if (!Number.isInteger(e.pin) || e.pin < 0 || e.pin >= KVM_IRQCHIP_NUM_PINS)
          fail(Errno.EINVAL, `pin ${e.pin} out of range (0..${KVM_IRQCHIP_NUM_PINS - 1})`);
      } else if (e.type === 'msi') {
        const f = e.msi.flags ?? 0;
        if ((f & ~MSI_VALID_DEVID) !== 0) fail(Errno.EINVAL, `unknown MSI flags 0x${f.toString(16)}`);
        if (!Number.isSafeInteger(e.msi.address) || e.msi.address < 0) fail(Errno.EINVAL, 'bad MSI address');
      } else fail(Errno.EINVAL, `unknown routing entry type ${(e as { type: string }).type}`);
      const list = (byGsi[e.gsi] ??= []);
      for (const o of list) {
        if (o.type !== 'irqchip' || e.type !== 'irqchip' || o.irqchip === e.irqchip)
          fail(Errno.EINVAL, `GSI ${e.gsi} has conflicting routing entries`);
      }
      this.vm.flow.validateRoute(this.vm, e);
      list.push(e);
    }
    this.byGsi = byGsi;
    this.entries = [...entries];
    for (const f of this.irqfds) {
      f.routes = this.byGsi[f.gsi] ?? [];
      this.updateBypass(f);
    }
    this.rebuildResamplers();
  }

  /**
   * Assigns or deassigns an irqfd (KVM_IRQFD).
   * @throws KvmError EBUSY if the eventfd is already an irqfd, ENOENT when deassigning an unknown one,
   * EINVAL for a GSI that is not a u32 or a resamplefd without an in-kernel irqchip
   */
  irqfd(spec: IrqfdSpec): void {
    if (spec.deassign) {
      const i = this.irqfds.findIndex((f) => f.fd === spec.fd && f.gsi === spec.gsi);
      if (i < 0) fail(Errno.ENOENT, `no irqfd for GSI ${spec.gsi} on that eventfd`);
      const f = this.irqfds[i];
      f.unlisten();
      if (f.consumer) this.vm.hv.irqBypass.unregisterConsumer(f.consumer);
      if (f.asserted) this.lower(f);
      this.irqfds.splice(i, 1);
      this.rebuildResamplers();
      return;
    }
    // KVM_IRQFD does not range-check the GSI (newest mainline kvm_irqfd_assign): any u32 is accepted, and an irqfd
    // on a GSI without a valid route injects nothing until KVM_SET_GSI_ROUTING gives it one. Only what the
    // ioctl's __u32 cannot carry is refused here.
    if (!Number.isInteger(spec.gsi) || spec.gsi < 0 || spec.gsi > 0xffff_ffff) fail(Errno.EINVAL, `GSI ${spec.gsi} is not a u32`);
    if (spec.resamplefd && !this.vm.hasIrqchip) fail(Errno.EINVAL, 'a resamplefd needs an in-kernel irqchip');
    if (this.irqfds.some((f) => f.fd === spec.fd)) fail(Errno.EBUSY, 'that eventfd is already an irqfd');
    const f: Irqfd = {
      fd: spec.fd,
      gsi: spec.gsi,
      resamplefd: spec.resamplefd,
      routes: this.byGsi[spec.gsi] ?? [],
      asserted: false,
      errors: 0,
      bypassIrq: -1,
      bypassRoute: null,
      unlisten: () => {},
      consumer: null,
    };
    f.unlisten = spec.fd.listen(() => this.inject(f));
    f.consumer = {
      token: spec.fd,
      addProducer: (p) => {
        f.bypassIrq = p.irq;
        f.bypassRoute = null;
        this.updateBypass(f);
      },
      delProducer: (p) => {
        if (f.bypassRoute) this.vm.flow.irqBypassDelProducer(this.vm, p.irq, f.bypassRoute);
        f.bypassIrq = -1;
        f.bypassRoute = null;
      },
    };
    this.vm.hv.irqBypass.registerConsumer(f.consumer);
    this.irqfds.push(f);
    this.rebuildResamplers();
  }

  /**
   * kvm_arch_update_irqfd_routing: when an irqfd with a connected passthrough producer changes route, the
   * controller unmaps the old forwarding first, then maps the new single MSI route (if any). A controller that
   * refuses leaves the interrupt on software injection.
   */
  private updateBypass(f: Irqfd): void {
    if (f.bypassIrq < 0) return;
    const next = f.routes.length === 1 ? f.routes[0] : null;
    if (next === f.bypassRoute) return;
    const flow = this.vm.flow;
    if (f.bypassRoute) flow.irqBypassDelProducer(this.vm, f.bypassIrq, f.bypassRoute);
    f.bypassRoute = null;
    if (next) {
      try {
        flow.irqBypassAddProducer(this.vm, f.bypassIrq, next);
        f.bypassRoute = next;
      } catch (e) {
        if (!(e instanceof KvmError)) throw e;
      }
    }
  }

  /**
   * The irqfd wakeup (newest mainline irqfd_wakeup + irqfd_inject). A GSI with exactly one route first tries the
   * controller's atomic injection (kvm_arch_set_irq_inatomic) with level 1: on arm64 that raises an SPI and leaves
   * it high (an irqchip route on an initialised vgic) or delivers a cached ITS translation (an MSI route). Only
   * -EWOULDBLOCK falls back to the slow path; any other answer (0, or an error such as -EINVAL for a pin beyond
   * NR_IRQS) ends the injection. The slow path (kvm_set_irq over every route) pulses the line 1 then 0 without a
   * resamplefd, raises it with one, and sends each MSI route to `setMsi`.
   */
  private inject(f: Irqfd): void {
    const vm = this.vm;
    const flow = vm.flow;
    const rs = f.routes;
    if (rs.length === 1) {
      const r = rs[0];
      let rc: number;
      try {
        rc = flow.setIrqInatomic(vm, r, true);
      } catch (e) {
        if (!(e instanceof KvmError)) throw e;
        rc = -Errno.EINVAL;
      }
      if (rc !== -Errno.EAGAIN) {
        if (rc < 0) f.errors++;
        else if (r.type === 'irqchip' && f.resamplefd) f.asserted = true;
        return;
      }
    }
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      try {
        if (r.type === 'irqchip') {
          if (f.resamplefd) {
            f.asserted = true;
            flow.irqfdSetIrq(vm, r, true);
          } else {
            flow.irqfdSetIrq(vm, r, true);
            flow.irqfdSetIrq(vm, r, false);
          }
        } else flow.setMsi(vm, r.msi);
      } catch (e) {
        if (!(e instanceof KvmError)) throw e;
        f.errors++;
      }
    }
  }

  private lower(f: Irqfd): void {
    f.asserted = false;
    for (const r of f.routes) if (r.type === 'irqchip') this.vm.flow.irqfdSetIrq(this.vm, r, false);
  }

  /**
   * The guest completed the interrupt on (irqchip, pin) — kvm_notify_acked_irq. Lowers the line of every
   * resampling irqfd routed there and signals its resamplefd.
   */
  notifyAcked(irqchip: number, pin: number): void {
    const list = this.resamplersByPin.get(irqchip * 65536 + pin);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const f = list[i];
      if (f.asserted) this.lower(f);
      f.resamplefd!.signal(1);
    }
  }

  /** Whether a resampling irqfd is routed to (irqchip, pin) — controllers use it to request EOI notification. */
  hasResampler(irqchip: number, pin: number): boolean {
    return this.resamplersByPin.has(irqchip * 65536 + pin);
  }

  private rebuildResamplers(): void {
    const m = new Map<number, Irqfd[]>();
    for (const f of this.irqfds) {
      if (!f.resamplefd) continue;
      for (const r of f.routes) {
        if (r.type !== 'irqchip') continue;
        const k = r.irqchip * 65536 + r.pin;
        const l = m.get(k) ?? [];
        l.push(f);
        m.set(k, l);
      }
    }
    this.resamplersByPin = m;
  }

  /** Sets the level of a GSI through its routes (kvm_set_irq); returns how many routes were delivered. */
  setIrq(gsi: number, level: boolean): number {
    const rs = this.byGsi[gsi];
    if (!rs) return 0;
    let n = 0;
    for (const r of rs) {
      if (r.type === 'irqchip') {
        this.vm.flow.irqfdSetIrq(this.vm, r, level);
        n++;
      } else if (level) {
        n += this.vm.flow.setMsi(this.vm, r.msi) > 0 ? 1 : 0;
      }
    }
    return n;
  }

  /** Removes every irqfd (VM teardown). */
  clear(): void {
    for (const f of this.irqfds) {
      f.unlisten();
      if (f.consumer) this.vm.hv.irqBypass.unregisterConsumer(f.consumer);
    }
    this.irqfds.length = 0;
    this.resamplersByPin.clear();
  }
}
