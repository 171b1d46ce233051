/**
 * What a plugin brings to the hypervisor: KVM device types, named interrupt controllers (a board-level
 * recipe plus the guest driver that talks to it), VM extensions (in-kernel per-vCPU devices such as the arch
 * timer), and cost profiles. Core never imports a controller package; controllers register here.
 *
 * @module
 */
import type { GuestAsm } from './guest/guest-asm';
import type { Msi } from './flow/irqchip-flow';
import type { Hypervisor } from './hypervisor';
import type { Vcpu } from './vm/vcpu';
import type { Vm } from './vm/vm';

/** A package that registers things with a {@link Hypervisor}. */
export interface IrqflowPlugin {
  /** Plugin name (e.g. "@irqflow/vgic"). */
  readonly name: string;
  /** Registers device types, irqchips, extensions, profiles. */
  register(hv: Hypervisor): void;
}

/** Capabilities a workload may need from a controller. */
export type IrqchipFeature = 'ipi' | 'msi' | 'level' | 'timer' | 'passthrough' | 'direct-injection' | 'priorities';

/** Board-level options for {@link IrqchipDescriptor.setup}. */
export interface IrqchipSetupOptions {
  /** Number of interrupt IDs (NR_IRQS) or the controller's equivalent. */
  nrIrqs?: number;
  /** Number of list registers (GIC). */
  nrLrs?: number;
  /** Add an ITS / MSI capability where the controller has one (default true). */
  msi?: boolean;
  /** Controller-specific extras. */
  [k: string]: unknown;
}

/**
 * A named interrupt controller ("gic-v3", "rvic", …): how to build it on a VM whose vCPUs exist, and the
 * guest driver programs use to talk to it.
 */
export interface IrqchipDescriptor {
  /** Name used on the command line. */
  readonly name: string;
  /** One line. */
  readonly description: string;
  /** What it can do. */
  readonly features: readonly IrqchipFeature[];
  /** Largest vCPU count it supports. */
  readonly maxVcpus: number;
  /**
   * Other spellings accepted wherever the name is (`hv.irqchip`, `createVm({ irqchip })`, the CLI), e.g. the
   * kvmtool / QEMU names "gicv3", "gicv2".
   */
  readonly aliases?: readonly string[];
  /** Creates and initialises the controller on `vm` (vCPUs already created) and returns the guest driver. */
  setup(vm: Vm, options?: IrqchipSetupOptions): GuestIrqDriver;
  /**
   * The KVM_IRQ_LINE `irq_id` (type SPI) of wired device input `pin` (0-based, the same `pin` an irqchip GSI route
   * names). Default: `pin + 32`, the GIC convention (SPI INTID); the rVIC's is the rVID input number `pin`.
   * {@link Vm.deviceLine} uses it so host code never spells a controller's numbering.
   */
  deviceLineId?(pin: number): number;
}

/**
 * The guest side of a controller: emits guest code the way a Linux irqchip driver runs it. Macros may
 * clobber x0..x8 (SMCCC argument/result registers and scratch) but never x9..x30 unless named as an operand.
 * Interrupt numbers are the controller's own (GIC INTIDs, rVIC interrupt numbers).
 */
export interface GuestIrqDriver {
  /** Controller name. */
  readonly name: string;
  /** The value {@link emitAck} leaves when nothing was pending. */
  readonly spurious: number;
  /**
   * Optional (controllers with IPIs, feature "ipi"): interrupt number of IPI `n` (0..7). A controller without
   * IPIs leaves this and {@link emitSendIpi} out; workloads that need IPIs declare the feature.
   */
  ipi?(n: number): number;
  /** Optional (feature "timer"): interrupt numbers of the virtual and physical timers. */
  readonly timerIntids?: { readonly virt: number; readonly phys: number };
  /** First interrupt number usable for a wired (level/edge) device line, and how many there are. */
  readonly deviceIrqs: { readonly first: number; readonly count: number };
  /** Per-CPU bring-up (enable the CPU interface / rVIC, unmask priorities). Runs with interrupts masked. */
  emitCpuInit(a: GuestAsm): void;
  /**
   * Enables interrupt `intid` (routing it to the vCPU running the code for device interrupts; `level` sets
   * the trigger where configurable). Run on the target vCPU.
   */
  emitEnable(a: GuestAsm, intid: number, opts?: { level?: boolean; priority?: number }): void;
  /** Acknowledges the highest-priority pending interrupt: its number in `rd`, or {@link spurious}. */
  emitAck(a: GuestAsm, rd: number): void;
  /** Completes the interrupt whose number is in `rs` (EOI + deactivate; resample for level). */
  emitEoi(a: GuestAsm, rs: number, opts?: { level?: boolean }): void;
  /** Optional (feature "ipi"): sends IPI `n` to the vCPU whose index is in register `rt`. */
  emitSendIpi?(a: GuestAsm, rt: number, n: number): void;
  /**
   * Optional: guest code (run once on vCPU 0) that makes event `event` of device `devid` deliver interrupt
   * `intid` to vCPU `target`; returns the MSI a device must write for it.
   */
  emitMsiSetup?(a: GuestAsm, spec: { devid: number; event: number; intid: number; target: number }): Msi;
  /** Optional: the first interrupt number MSIs may use and how many there are. */
  readonly msiIrqs?: { readonly first: number; readonly count: number };
  /** Optional: userspace setup needed before the guest runs MSIs (e.g. GSI routes). */
  hostMsiSetup?(vm: Vm): void;
}

/** An in-kernel per-vCPU device present on every VM (the arch timer), hooked into the VM and vCPU life cycle. */
export interface VmExtension {
  /** Name. */
  readonly name: string;
  /** The VM was created. */
  vmCreated?(vm: Vm): void;
  /** A vCPU was created. */
  vcpuCreated?(vcpu: Vcpu): void;
  /** First run of a vCPU, after the irqchip's vcpuFirstRun (KVM: kvm_timer_enable). May throw KvmError. */
  vcpuFirstRun?(vcpu: Vcpu): void;
  /** vCPU scheduled in. */
  vcpuLoad?(vcpu: Vcpu): void;
  /** vCPU scheduled out. */
  vcpuPut?(vcpu: Vcpu): void;
  /** A state dump of the vCPU's part. */
  dumpVcpu?(vcpu: Vcpu): string;
  /** Snapshot, optional: the vCPU's part of the extension's state, read through ONE_REG / vCPU attributes only. */
  saveVcpu?(vcpu: Vcpu): unknown;
  /** Snapshot, optional: writes {@link saveVcpu}'s result back into `vcpu` of a fresh VM. @throws KvmError */
  restoreVcpu?(vcpu: Vcpu, state: unknown): void;
  /** VM teardown. */
  vmDestroyed?(vm: Vm): void;
}
