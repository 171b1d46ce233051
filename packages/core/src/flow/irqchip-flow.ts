/**
 * The `irqchip_flow` callback interface (the 2020 series' arch/arm64/include/asm/kvm_irq.h; references §2):
 * every interrupt controller plugs into the run loop and the VM through these callbacks and nothing else.
 * All are optional. {@link FlowDispatch} supplies the documented default for each missing one: void callbacks
 * are skipped, value-returning ones return 0/false, and `setMsi` fails with ENODEV.
 *
 * @module
 */
import { Errno, fail } from '../errno';
import type { Vcpu } from '../vm/vcpu';
import type { Vm } from '../vm/vm';

/** KVM_IRQ_LINE interrupt types. */
export enum IrqType {
  /** Directly drive the vCPU's IRQ (irq 0) or FIQ (irq 1) input (only without an in-kernel irqchip). */
  Cpu = 0,
  /** A shared peripheral interrupt (or an rVID input). */
  Spi = 1,
  /** A private peripheral interrupt. */
  Ppi = 2,
}

/** Reads the current level of the device line behind a mapped interrupt (the "get input level" op). */
export type GetInputLevel = (vcpu: Vcpu, intid: number) => boolean;

/** A GSI routing entry (KVM_SET_GSI_ROUTING). */
export type RoutingEntry = IrqchipRoute | MsiRoute;

/** An irqchip pin route: GSI → controller input `pin` (vgic: SPI pin + 32; rVIC: rVID input). */
export interface IrqchipRoute {
  /** The GSI. */
  readonly gsi: number;
  /** Entry type. */
  readonly type: 'irqchip';
  /** Irqchip number (always 0 on arm64). */
  readonly irqchip: number;
  /** Pin on the irqchip. */
  readonly pin: number;
}

/** An MSI route: GSI → message (address, data, optional device id). */
export interface MsiRoute {
  /** The GSI. */
  readonly gsi: number;
  /** Entry type. */
  readonly type: 'msi';
  /** The MSI. */
  readonly msi: Msi;
}

/** A message-signalled interrupt (KVM_SIGNAL_MSI). */
export interface Msi {
  /** Doorbell address (guest physical). */
  readonly address: number;
  /** Payload (32 bits). */
  readonly data: number;
  /** Device id (valid when `flags` has {@link MSI_VALID_DEVID}). */
  readonly devid?: number;
  /** Flags. */
  readonly flags?: number;
}

/** KVM_MSI_VALID_DEVID. */
export const MSI_VALID_DEVID = 1;

/**
 * The controller callbacks. `owner` arguments identify an in-kernel device that claimed an interrupt
 * (the timer, the PMU); any stable object works as an owner token.
 */
export interface IrqchipFlow {
  /** VM teardown: free everything. */
  destroy?(vm: Vm): void;
  /** vCPU creation (and catch-up for vCPUs created before the device). May throw a KvmError to refuse the vCPU. */
  vcpuInit?(vcpu: Vcpu): void;
  /** The vCPU is about to block in WFI. */
  vcpuBlocking?(vcpu: Vcpu): void;
  /** The vCPU woke from WFI. */
  vcpuUnblocking?(vcpu: Vcpu): void;
  /** The vCPU is scheduled in. */
  vcpuLoad?(vcpu: Vcpu): void;
  /** The vCPU is scheduled out. */
  vcpuPut?(vcpu: Vcpu): void;
  /** Is an interrupt deliverable to this vCPU ("is it runnable")? */
  vcpuPendingIrq?(vcpu: Vcpu): boolean;
  /** First KVM_RUN of the vCPU: map resources, check addresses. May throw a KvmError. */
  vcpuFirstRun?(vcpu: Vcpu): void;
  /** Before guest entry: fill list registers / set the virtual IRQ line. */
  vcpuFlushHwstate?(vcpu: Vcpu): void;
  /** After guest exit: fold list registers back / clear the line. */
  vcpuSyncHwstate?(vcpu: Vcpu): void;
  /** An in-kernel device (timer, PMU) sets an interrupt's level. */
  injectIrq?(vm: Vm, cpu: number, intid: number, level: boolean, owner: unknown): void;
  /** KVM_IRQ_LINE for PPI/SPI types, after core decoded the vCPU. May throw a KvmError. */
  injectUserspaceIrq?(vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean): void;
  /** Is the mapped interrupt `intid` active (timer load)? */
  mapIsActive?(vcpu: Vcpu, intid: number): boolean;
  /** Clear the mapped interrupt's state (timer reset). */
  resetMappedIrq?(vcpu: Vcpu, intid: number): void;
  /** Map `intid` to host interrupt `hostIrq`; `getInputLevel` samples the device line. May throw. */
  mapPhysIrq?(vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null): void;
  /** Undo {@link mapPhysIrq}. */
  unmapPhysIrq?(vcpu: Vcpu, intid: number): void;
  /** Claim `intid` for `owner`; a different owner already holding it → throw KvmError EBUSY. */
  setOwner?(vcpu: Vcpu, intid: number, owner: unknown): void;
  /** An irqfd on an irqchip route fired (or changed level). */
  irqfdSetIrq?(vm: Vm, route: IrqchipRoute, level: boolean): void;
  /** Deliver an MSI: > 0 delivered, 0 blocked by the guest, throw KvmError for errors. */
  setMsi?(vm: Vm, msi: Msi): number;
  /** Fast-path injection from atomic context; return -EWOULDBLOCK (-11) to fall back to the slow path. */
  setIrqInatomic?(vm: Vm, route: RoutingEntry, level: boolean): number;
  /** Optional: validate a routing entry when userspace installs it (KVM_SET_GSI_ROUTING). May throw. */
  validateRoute?(vm: Vm, route: RoutingEntry): void;
  /**
   * Optional (kvm_arch_irq_bypass_add_producer): an irqfd on `route` got a passthrough producer whose host
   * interrupt is `hostIrq`; the controller may forward it directly to the guest (GICv4 vLPI mapping).
   * Throwing leaves the interrupt on the software path.
   */
  irqBypassAddProducer?(vm: Vm, hostIrq: number, route: RoutingEntry): void;
  /** Optional (kvm_arch_irq_bypass_del_producer): undo {@link irqBypassAddProducer} for `hostIrq`. */
  irqBypassDelProducer?(vm: Vm, hostIrq: number, route: RoutingEntry): void;
}

const noop = (): void => {};

/**
 * A complete flow: the controller's callbacks, or the documented default for each it left out. Members are
 * plain function fields bound once, so the run loop calls them without optional checks on the hot path.
 */
export class FlowDispatch {
  readonly destroy: (vm: Vm) => void;
  readonly vcpuInit: (vcpu: Vcpu) => void;
  readonly vcpuBlocking: (vcpu: Vcpu) => void;
  readonly vcpuUnblocking: (vcpu: Vcpu) => void;
  readonly vcpuLoad: (vcpu: Vcpu) => void;
  readonly vcpuPut: (vcpu: Vcpu) => void;
  readonly vcpuPendingIrq: (vcpu: Vcpu) => boolean;
  readonly vcpuFirstRun: (vcpu: Vcpu) => void;
  readonly vcpuFlushHwstate: (vcpu: Vcpu) => void;
  readonly vcpuSyncHwstate: (vcpu: Vcpu) => void;
  readonly injectIrq: (vm: Vm, cpu: number, intid: number, level: boolean, owner: unknown) => void;
  readonly injectUserspaceIrq: (vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean) => void;
  readonly mapIsActive: (vcpu: Vcpu, intid: number) => boolean;
  readonly resetMappedIrq: (vcpu: Vcpu, intid: number) => void;
  readonly mapPhysIrq: (vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null) => void;
  readonly unmapPhysIrq: (vcpu: Vcpu, intid: number) => void;
  readonly setOwner: (vcpu: Vcpu, intid: number, owner: unknown) => void;
  readonly irqfdSetIrq: (vm: Vm, route: IrqchipRoute, level: boolean) => void;
  readonly setMsi: (vm: Vm, msi: Msi) => number;
  readonly setIrqInatomic: (vm: Vm, route: RoutingEntry, level: boolean) => number;
  readonly validateRoute: (vm: Vm, route: RoutingEntry) => void;
  readonly irqBypassAddProducer: (vm: Vm, hostIrq: number, route: RoutingEntry) => void;
  readonly irqBypassDelProducer: (vm: Vm, hostIrq: number, route: RoutingEntry) => void;

  /** @param flow - the controller's callbacks; @param name - the controller's name (for messages) */
  constructor(
    readonly flow: IrqchipFlow,
    readonly name: string,
  ) {
    const f = flow;
    this.destroy = f.destroy ? f.destroy.bind(f) : noop;
    this.vcpuInit = f.vcpuInit ? f.vcpuInit.bind(f) : noop;
    this.vcpuBlocking = f.vcpuBlocking ? f.vcpuBlocking.bind(f) : noop;
    this.vcpuUnblocking = f.vcpuUnblocking ? f.vcpuUnblocking.bind(f) : noop;
    this.vcpuLoad = f.vcpuLoad ? f.vcpuLoad.bind(f) : noop;
    this.vcpuPut = f.vcpuPut ? f.vcpuPut.bind(f) : noop;
    this.vcpuPendingIrq = f.vcpuPendingIrq ? f.vcpuPendingIrq.bind(f) : () => false;
    this.vcpuFirstRun = f.vcpuFirstRun ? f.vcpuFirstRun.bind(f) : noop;
    this.vcpuFlushHwstate = f.vcpuFlushHwstate ? f.vcpuFlushHwstate.bind(f) : noop;
    this.vcpuSyncHwstate = f.vcpuSyncHwstate ? f.vcpuSyncHwstate.bind(f) : noop;
    this.injectIrq = f.injectIrq ? f.injectIrq.bind(f) : noop;
    this.injectUserspaceIrq = f.injectUserspaceIrq ? f.injectUserspaceIrq.bind(f) : noop;
    this.mapIsActive = f.mapIsActive ? f.mapIsActive.bind(f) : () => false;
    this.resetMappedIrq = f.resetMappedIrq ? f.resetMappedIrq.bind(f) : noop;
    this.mapPhysIrq = f.mapPhysIrq ? f.mapPhysIrq.bind(f) : noop;
    this.unmapPhysIrq = f.unmapPhysIrq ? f.unmapPhysIrq.bind(f) : noop;
    this.setOwner = f.setOwner ? f.setOwner.bind(f) : noop;
    this.irqfdSetIrq = f.irqfdSetIrq ? f.irqfdSetIrq.bind(f) : noop;
    this.setMsi = f.setMsi
      ? f.setMsi.bind(f)
      : () => fail(Errno.ENODEV, `${name}: the interrupt controller has no MSI support`);
    this.setIrqInatomic = f.setIrqInatomic ? f.setIrqInatomic.bind(f) : () => -Errno.EAGAIN;
    this.validateRoute = f.validateRoute ? f.validateRoute.bind(f) : noop;
    this.irqBypassAddProducer = f.irqBypassAddProducer ? f.irqBypassAddProducer.bind(f) : noop;
    this.irqBypassDelProducer = f.irqBypassDelProducer ? f.irqBypassDelProducer.bind(f) : noop;
  }
}

/**
 * The flow of a VM without an in-kernel irqchip: every callback is the default, except that a vCPU whose IRQ or
 * FIQ input is asserted (KVM_IRQ_LINE type CPU) has an interrupt pending, as KVM's `kvm_arch_vcpu_runnable`
 * checks `irq_lines` — so WFI completes instead of blocking.
 */
export const NO_IRQCHIP_FLOW = (): FlowDispatch => new FlowDispatch({ vcpuPendingIrq: (v) => v.virq || v.vfiq }, 'none');
