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
import { sampleCpuIrqLines } from '../vm/cpu-irq-lines';

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
 *
 * @example
 * ```ts
 * import { DAIF, GuestAsm, Hypervisor, IrqType, PSCI, type IrqchipFlow, type Vcpu, type Vm } from '@irqflow/core';
 *
 * // A one-line interrupt controller: SPI lines drive vCPU 0's IRQ input.
 * class OneLine implements IrqchipFlow {
 *   level = false;
 *   vcpuPendingIrq = (): boolean => this.level;
 *   vcpuFlushHwstate = (v: Vcpu): void => void (v.virq = this.level);
 *   injectUserspaceIrq(vm: Vm, type: IrqType, _cpu: number, _intid: number, level: boolean): void {
 *     this.level = level;
 *     if (level) vm.kickVcpu(vm.vcpus[0]);
 *   }
 * }
 *
 * const vm = new Hypervisor().createVm();
 * const vcpu = vm.createVcpu();
 * vm.setIrqchip(new OneLine(), 'one-line');
 * const a = new GuestAsm();
 * a.label('main').daifclr(DAIF.I).label('idle').wfi().b('idle');
 * a.label('irq')
 *   .call((cpu) => cpu.vm.irqLine((IrqType.Spi << 24) | 32, 0))
 *   .movi(0, PSCI.SYSTEM_OFF)
 *   .hvc();
 * vcpu.setProgram(a.build());
 * vm.at(20_000, () => vm.irqLine((IrqType.Spi << 24) | 32, 1));
 * console.log(vm.run().reason, vcpu.stats.irqsTaken);
 * // → shutdown 1
 * ```
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
  /**
   * A line signal posted with {@link Vm.signalVcpu} reached the vCPU (its clock is at or past the sender's
   * instant plus the delivery latency): drive `vcpu.virq` / `vcpu.vfiq` from the controller's state as the vCPU
   * sees it now. Also called for a vCPU outside the guest (its flush will drive them again).
   */
  vcpuSignalled?(vcpu: Vcpu): void;
  /** After guest exit: fold list registers back / clear the line. */
  vcpuSyncHwstate?(vcpu: Vcpu): void;
  /**
   * Migration (`saveVm`), for a controller whose {@link vcpuFlushHwstate} moves state (list registers): the
   * vCPU interface state loaded into the guest while the vCPU is in it, read without changing anything, as plain
   * data. irqflow-private: KVM has no ABI for it (a VMM stops the vCPUs first, which folds it back).
   */
  vcpuSaveHwstate?(vcpu: Vcpu): unknown;
  /**
   * Migration (`restoreVm`): the destination's vCPU enters the guest with {@link vcpuSaveHwstate}'s result
   * installed instead of a {@link vcpuFlushHwstate}. May throw a KvmError (EINVAL) for malformed state.
   */
  vcpuRestoreHwstate?(vcpu: Vcpu, state: unknown): void;
  /**
   * Migration (`restoreVm`), before anything of the destination changes: checks every vCPU's saved
   * {@link vcpuSaveHwstate} result (`states[i]` for vCPU i, `null` for a vCPU that was not in the guest) as far
   * as the fresh VM's configuration allows, so that a snapshot it refuses leaves the VM as it was. What can
   * only be checked against restored state (an LPI the ITS tables map) is left to {@link vcpuRestoreHwstate}.
   * Throws a KvmError (EINVAL) for malformed state.
   */
  checkHwstate?(vm: Vm, states: readonly unknown[]): void;
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

/**
 * A complete flow: the controller's callbacks, or the documented default for each it left out. Each member is
 * a method that calls the controller's own method when it has one. The call goes through the controller
 * object, not a per-VM bound function, so every VM of one controller type shares one call target and the JIT
 * can inline it on the hot path (flush, sync, MSI) however many VMs a process runs.
 */
export class FlowDispatch {
  /** @param flow - the controller's callbacks; @param name - the controller's name (for messages) */
  constructor(
    readonly flow: IrqchipFlow,
    readonly name: string,
  ) {}

  /** The controller's `destroy`, if any. */
  destroy(vm: Vm): void {
    const f = this.flow;
    if (f.destroy !== undefined) return f.destroy(vm);
  }

  /** The controller's `vcpuInit`, if any. */
  vcpuInit(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuInit !== undefined) return f.vcpuInit(vcpu);
  }

  /** The controller's `vcpuBlocking`, if any. */
  vcpuBlocking(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuBlocking !== undefined) return f.vcpuBlocking(vcpu);
  }

  /** The controller's `vcpuUnblocking`, if any. */
  vcpuUnblocking(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuUnblocking !== undefined) return f.vcpuUnblocking(vcpu);
  }

  /** The controller's `vcpuLoad`, if any. */
  vcpuLoad(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuLoad !== undefined) return f.vcpuLoad(vcpu);
  }

  /** The controller's `vcpuPut`, if any. */
  vcpuPut(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuPut !== undefined) return f.vcpuPut(vcpu);
  }

  /** The controller's `vcpuPendingIrq`, else `false`. */
  vcpuPendingIrq(vcpu: Vcpu): boolean {
    const f = this.flow;
    return f.vcpuPendingIrq !== undefined ? f.vcpuPendingIrq(vcpu) : false;
  }

  /** The controller's `vcpuFirstRun`, if any. */
  vcpuFirstRun(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuFirstRun !== undefined) return f.vcpuFirstRun(vcpu);
  }

  /** The controller's `vcpuSignalled`, if any. */
  vcpuSignalled(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuSignalled !== undefined) return f.vcpuSignalled(vcpu);
  }

  /** The controller's `vcpuFlushHwstate`, if any. */
  vcpuFlushHwstate(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuFlushHwstate !== undefined) return f.vcpuFlushHwstate(vcpu);
  }

  /** The controller's `vcpuSyncHwstate`, if any. */
  vcpuSyncHwstate(vcpu: Vcpu): void {
    const f = this.flow;
    if (f.vcpuSyncHwstate !== undefined) return f.vcpuSyncHwstate(vcpu);
  }

  /** Whether the controller saves and restores its loaded vCPU interface state ({@link IrqchipFlow.vcpuSaveHwstate}). */
  get hasHwstate(): boolean {
    return this.flow.vcpuSaveHwstate !== undefined && this.flow.vcpuRestoreHwstate !== undefined;
  }

  /** The controller's `vcpuSaveHwstate`, else `null`. */
  vcpuSaveHwstate(vcpu: Vcpu): unknown {
    const f = this.flow;
    return f.vcpuSaveHwstate !== undefined ? f.vcpuSaveHwstate(vcpu) : null;
  }

  /** The controller's `vcpuRestoreHwstate`, if any. */
  vcpuRestoreHwstate(vcpu: Vcpu, state: unknown): void {
    const f = this.flow;
    if (f.vcpuRestoreHwstate !== undefined) return f.vcpuRestoreHwstate(vcpu, state);
  }

  /** The controller's `checkHwstate`, if any. */
  checkHwstate(vm: Vm, states: readonly unknown[]): void {
    const f = this.flow;
    if (f.checkHwstate !== undefined) return f.checkHwstate(vm, states);
  }

  /** The controller's `injectIrq`, if any. */
  injectIrq(vm: Vm, cpu: number, intid: number, level: boolean, owner: unknown): void {
    const f = this.flow;
    if (f.injectIrq !== undefined) return f.injectIrq(vm, cpu, intid, level, owner);
  }

  /** The controller's `injectUserspaceIrq`, if any. */
  injectUserspaceIrq(vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean): void {
    const f = this.flow;
    if (f.injectUserspaceIrq !== undefined) return f.injectUserspaceIrq(vm, type, cpu, intid, level);
  }

  /** The controller's `mapIsActive`, else `false`. */
  mapIsActive(vcpu: Vcpu, intid: number): boolean {
    const f = this.flow;
    return f.mapIsActive !== undefined ? f.mapIsActive(vcpu, intid) : false;
  }

  /** The controller's `resetMappedIrq`, if any. */
  resetMappedIrq(vcpu: Vcpu, intid: number): void {
    const f = this.flow;
    if (f.resetMappedIrq !== undefined) return f.resetMappedIrq(vcpu, intid);
  }

  /** The controller's `mapPhysIrq`, if any. */
  mapPhysIrq(vcpu: Vcpu, hostIrq: number, intid: number, getInputLevel: GetInputLevel | null): void {
    const f = this.flow;
    if (f.mapPhysIrq !== undefined) return f.mapPhysIrq(vcpu, hostIrq, intid, getInputLevel);
  }

  /** The controller's `unmapPhysIrq`, if any. */
  unmapPhysIrq(vcpu: Vcpu, intid: number): void {
    const f = this.flow;
    if (f.unmapPhysIrq !== undefined) return f.unmapPhysIrq(vcpu, intid);
  }

  /** The controller's `setOwner`, if any. */
  setOwner(vcpu: Vcpu, intid: number, owner: unknown): void {
    const f = this.flow;
    if (f.setOwner !== undefined) return f.setOwner(vcpu, intid, owner);
  }

  /** The controller's `irqfdSetIrq`, if any. */
  irqfdSetIrq(vm: Vm, route: IrqchipRoute, level: boolean): void {
    const f = this.flow;
    if (f.irqfdSetIrq !== undefined) return f.irqfdSetIrq(vm, route, level);
  }

  /** The controller's `setMsi`. @throws KvmError ENODEV if it has none */
  setMsi(vm: Vm, msi: Msi): number {
    const f = this.flow;
    if (f.setMsi === undefined) fail(Errno.ENODEV, `${this.name}: the interrupt controller has no MSI support`);
    return f.setMsi(vm, msi);
  }

  /** The controller's `setIrqInatomic`, else `-Errno.EAGAIN`. */
  setIrqInatomic(vm: Vm, route: RoutingEntry, level: boolean): number {
    const f = this.flow;
    return f.setIrqInatomic !== undefined ? f.setIrqInatomic(vm, route, level) : -Errno.EAGAIN;
  }

  /** The controller's `validateRoute`, if any. */
  validateRoute(vm: Vm, route: RoutingEntry): void {
    const f = this.flow;
    if (f.validateRoute !== undefined) return f.validateRoute(vm, route);
  }

  /** The controller's `irqBypassAddProducer`, if any. */
  irqBypassAddProducer(vm: Vm, hostIrq: number, route: RoutingEntry): void {
    const f = this.flow;
    if (f.irqBypassAddProducer !== undefined) return f.irqBypassAddProducer(vm, hostIrq, route);
  }

  /** The controller's `irqBypassDelProducer`, if any. */
  irqBypassDelProducer(vm: Vm, hostIrq: number, route: RoutingEntry): void {
    const f = this.flow;
    if (f.irqBypassDelProducer !== undefined) return f.irqBypassDelProducer(vm, hostIrq, route);
  }
}

/**
 * The flow of a VM without an in-kernel irqchip: every callback is the default, except the IRQ/FIQ inputs
 * (KVM_IRQ_LINE type CPU; core vm/cpu-irq-lines.ts): the guest sees them as KVM sets HCR_EL2.VI/VF, from the
 * levels due at the vCPU's clock when it enters the guest, and a vCPU whose input is asserted has an interrupt
 * pending, as KVM's `kvm_arch_vcpu_runnable` checks `irq_lines` — so WFI completes instead of blocking.
 */
export const NO_IRQCHIP_FLOW = (): FlowDispatch =>
  new FlowDispatch(
    {
      vcpuPendingIrq: (v) => {
        sampleCpuIrqLines(v);
        return v.virq || v.vfiq;
      },
      vcpuFlushHwstate: (v) => sampleCpuIrqLines(v),
      vcpuSignalled: (v) => sampleCpuIrqLines(v),
    },
    'none',
  );
