/**
 * The root of the KVM-shaped API: registered controllers, device types, VM extensions and cost profiles, and
 * the host services every VM shares (the host interrupt model, the trace sink). Each VM gets its own child DI
 * container; the hypervisor's own container is a child of tsyringe's global one, so two hypervisors are
 * independent too.
 *
 * @module
 */
import 'reflect-metadata';
import { container as globalContainer, type DependencyContainer } from 'tsyringe';
import {
  BUILTIN_COST_PROFILES,
  completeCostPrimitives,
  defaultLookaheadNs,
  maxExactLookaheadNs,
  type CostProfile,
} from './cost/cost-profile';
import type { DeviceTypeRegistration } from './device/kvm-device';
import { Errno, fail } from './errno';
import { HostIrqModel } from './host/host-irq';
import { IrqBypassManager } from './host/irq-bypass';
import { PassthroughDevice } from './host/passthrough-device';
import type { IrqchipDescriptor, IrqchipSetupOptions, IrqflowPlugin, VmExtension } from './plugin';
import { TraceBuffer } from './trace/trace';
import { HYPERVISOR, KVM_DEFAULT_IPA_BITS, Vm, VM, VM_CONFIG, type VmConfig, type VmWarning } from './vm/vm';

/** DI token of the {@link HostIrqModel}. */
export const HOST_IRQS = Symbol.for('irqflow.HostIrqModel');
/** DI token of the {@link TraceBuffer}. */
export const TRACE = Symbol.for('irqflow.TraceBuffer');

/** Options of {@link Hypervisor.createVm}. */
export interface CreateVmOptions {
  /** Display name. */
  name?: string;
  /** Cost profile name (default: the first registered, "gicv3-vhe"). */
  costProfile?: string;
  /** Seed for the VM's deterministic random source (default 1). */
  seed?: number;
  /**
   * Conservative lookahead (ns): how far a vCPU may run ahead of the furthest-behind vCPU while it executes
   * operations that touch only its own state (see the scheduler's module documentation). Default: the cost
   * profile's `ipiLatency` ({@link defaultLookaheadNs}), the shortest delivery latency of a signal between vCPUs:
   * up to it, results are identical to lockstep. `0` runs the vCPUs in exact lockstep.
   * @throws KvmError EINVAL (from {@link Hypervisor.createVm}) if negative, not finite, or above
   * {@link maxExactLookaheadNs} (the profile's `ipiLatency`): a larger lookahead could deliver a signal later than
   * lockstep, so it is refused rather than allowed to change results
   */
  lookaheadNs?: number;
  /**
   * The interrupt controller, by name or alias ("gic-v3", "rvic", "pic", "gicv3", …). With it, createVm creates
   * `vcpus` vCPUs and sets the controller up on them ({@link Vm.setupIrqchip}); the guest driver is
   * {@link Vm.driver}. Without it the VM has no in-kernel irqchip until the caller sets one up.
   * @throws KvmError ENOENT (from {@link Hypervisor.createVm}) naming the registered controllers
   */
  irqchip?: string;
  /** vCPUs to create before the controller is set up (default 1; only with {@link irqchip}). */
  vcpus?: number;
  /** Board options passed to the controller's setup (only with {@link irqchip}). */
  irqchipOptions?: IrqchipSetupOptions;
  /**
   * The VM's IPA (guest physical address) size in bits, as KVM_VM_TYPE_ARM_IPA_SIZE in KVM_CREATE_VM's type:
   * 0 or absent = KVM's default of 40 bits; otherwise 32..48 (this model's host limit).
   * @throws KvmError EINVAL (from {@link Hypervisor.createVm}) for any other value
   */
  ipaBits?: number;
}

/** Options of the {@link Hypervisor} constructor. */
export interface HypervisorOptions {
  /** Trace buffer capacity in events (default 1,000,000). Its memory is allocated as events arrive, not up front. */
  traceCapacity?: number;
  /**
   * Where a VM's warnings go the first time each one occurs (see {@link Vm.warn}). Default: Node's
   * `process.emitWarning` (printed on stderr unless the process listens for 'warning'); `null` records them in
   * {@link Vm.warnings} only.
   */
  onWarning?: ((warning: VmWarning, vm: Vm) => void) | null;
}

/**
 * The hypervisor: the root object of irqflow, standing for the host kernel's KVM (`/dev/kvm`). It owns what
 * every VM shares — the registered interrupt controllers (by name), KVM device types, VM extensions such as
 * the arch timer, cost profiles, the host interrupt model, the irq-bypass manager and the trace buffer — and
 * creates VMs ({@link createVm}, KVM_CREATE_VM), each in its own DI child container so VMs share nothing
 * mutable. Controllers and extensions arrive through plugins ({@link use}); core itself knows none of them.
 *
 * @example
 * ```ts
 * import { Hypervisor } from '@irqflow/core';
 * import { RvicPlugin } from '@irqflow/rvic';
 * import { VgicPlugin } from '@irqflow/vgic';
 *
 * const hv = new Hypervisor().use(VgicPlugin).use(RvicPlugin);
 * for (const irqchip of ['gic-v3', 'rvic']) {
 *   const vm = hv.createVm({ irqchip, vcpus: 2 }); // switching controllers changes one word
 *   console.log(vm.irqchip?.name, vm.vcpus.length, vm.deviceLine(0).toString(16));
 * }
 * // → gic-v3 2 1000020
 * // → rvic 2 1000000
 * ```
 */
export class Hypervisor {
  /** The root container of this hypervisor (shared services). */
  readonly container: DependencyContainer;
  /** Host interrupts. */
  readonly hostIrqs = new HostIrqModel();
  /** The irq-bypass manager pairing passthrough vectors with irqfds. */
  readonly irqBypass = new IrqBypassManager();
  /** The trace sink shared by this hypervisor's VMs (off by default). */
  readonly trace: TraceBuffer;
  /** Where VM warnings go ({@link HypervisorOptions.onWarning}). */
  readonly onWarning: ((warning: VmWarning, vm: Vm) => void) | null;
  private readonly deviceTypes = new Map<number, DeviceTypeRegistration>();
  private readonly irqchips = new Map<string, IrqchipDescriptor>();
  private readonly irqchipAliases = new Map<string, string>();
  private readonly profiles = new Map<string, CostProfile>();
  private readonly exts: VmExtension[] = [];
  private readonly plugins = new Set<string>();
  private readonly vmContainers = new Map<Vm, DependencyContainer>();
  private nextVmId = 0;

  /** @param opts - options */
  constructor(opts: HypervisorOptions = {}) {
    this.trace = new TraceBuffer(opts.traceCapacity ?? 1_000_000);
    this.onWarning =
      opts.onWarning === undefined ? (w, vm) => process.emitWarning(`irqflow ${vm.name}: ${w.message}`, { code: w.code }) : opts.onWarning;
    this.container = globalContainer.createChildContainer();
    this.container.registerInstance(HYPERVISOR, this);
    this.container.registerInstance(HOST_IRQS, this.hostIrqs);
    this.container.registerInstance(TRACE, this.trace);
    for (const p of BUILTIN_COST_PROFILES) this.registerCostProfile(p);
  }

  /** Registers a plugin (idempotent by name). */
  use(plugin: IrqflowPlugin): this {
    if (this.plugins.has(plugin.name)) return this;
    this.plugins.add(plugin.name);
    plugin.register(this);
    return this;
  }

  /** Registers a KVM device type. @throws KvmError EEXIST for a duplicate type number */
  registerDeviceType(reg: DeviceTypeRegistration): void {
    if (this.deviceTypes.has(reg.type)) fail(Errno.EEXIST, `device type ${reg.type} is already registered`);
    this.deviceTypes.set(reg.type, reg);
  }

  /** The registration of a device type. */
  deviceType(type: number): DeviceTypeRegistration | undefined {
    return this.deviceTypes.get(type);
  }

  /**
   * Registers a named controller and its aliases.
   * @throws KvmError EEXIST for a name or alias already taken (nothing is registered then)
   */
  registerIrqchip(desc: IrqchipDescriptor): void {
    const names = [desc.name, ...(desc.aliases ?? [])];
    for (const n of names) if (this.irqchips.has(n) || this.irqchipAliases.has(n)) fail(Errno.EEXIST, `irqchip ${n} is already registered`);
    this.irqchips.set(desc.name, desc);
    for (const a of desc.aliases ?? []) if (a !== desc.name) this.irqchipAliases.set(a, desc.name);
  }

  /** The registered name behind `name` (itself, or the controller an alias names), or undefined. */
  irqchipName(name: string): string | undefined {
    return this.irqchips.has(name) ? name : this.irqchipAliases.get(name);
  }

  /** A named controller (by name or alias). @throws KvmError ENOENT naming the valid choices */
  irqchip(name: string): IrqchipDescriptor {
    const d = this.irqchips.get(this.irqchipName(name) ?? name);
    if (!d) fail(Errno.ENOENT, `unknown irqchip "${name}" (valid: ${[...this.irqchips.keys()].join(', ') || 'none registered'})`);
    return d;
  }

  /** Registered controllers, in registration order. */
  get irqchipDescriptors(): readonly IrqchipDescriptor[] {
    return [...this.irqchips.values()];
  }

  /** Registers a VM extension (present on every VM created afterwards). */
  registerExtension(ext: VmExtension): void {
    if (this.exts.some((e) => e.name === ext.name)) fail(Errno.EEXIST, `extension ${ext.name} is already registered`);
    this.exts.push(ext);
  }

  /** Registered VM extensions. */
  get extensions(): readonly VmExtension[] {
    return this.exts;
  }

  /** Registers a cost profile. @throws KvmError EEXIST for a duplicate name */
  registerCostProfile(p: CostProfile): void {
    if (this.profiles.has(p.name)) fail(Errno.EEXIST, `cost profile ${p.name} is already registered`);
    // a profile without the structural costs (written before they existed, or from JavaScript) gets them derived
    const ns = completeCostPrimitives(p.ns);
    this.profiles.set(p.name, ns === p.ns ? p : { ...p, ns });
  }

  /** A cost profile by name. @throws KvmError ENOENT naming the valid choices */
  costProfile(name: string): CostProfile {
    const p = this.profiles.get(name);
    if (!p) fail(Errno.ENOENT, `unknown cost profile "${name}" (valid: ${[...this.profiles.keys()].join(', ')})`);
    return p;
  }

  /** Registered cost profiles. */
  get costProfiles(): readonly CostProfile[] {
    return [...this.profiles.values()];
  }

  /**
   * KVM_CREATE_VM: a new VM in its own child container; with `irqchip`, also its vCPUs and the controller.
   * @throws KvmError ENOENT for an unknown cost profile or controller, EINVAL for a bad lookahead or vCPU count,
   * and whatever the controller's setup refuses with (the VM is destroyed then)
   */
  createVm(opts: CreateVmOptions = {}): Vm {
    const ipaBits = opts.ipaBits || KVM_DEFAULT_IPA_BITS;
    if (!Number.isInteger(ipaBits) || ipaBits < 32 || ipaBits > 48) fail(Errno.EINVAL, `IPA size ${opts.ipaBits} bits: 32..48 supported`);
    const cost = opts.costProfile ? this.costProfile(opts.costProfile) : [...this.profiles.values()][0];
    const desc = opts.irqchip === undefined ? undefined : this.irqchip(opts.irqchip);
    const nVcpus = opts.vcpus ?? 1;
    if (opts.vcpus !== undefined && desc === undefined) fail(Errno.EINVAL, 'createVm: vcpus needs irqchip (else call vm.createVcpu)');
    if (desc && (!Number.isInteger(nVcpus) || nVcpus < 1 || nVcpus > desc.maxVcpus))
      fail(Errno.EINVAL, `${desc.name} supports 1..${desc.maxVcpus} vCPUs, not ${nVcpus}`);
    const lookaheadNs = opts.lookaheadNs ?? defaultLookaheadNs(cost.ns);
    if (!Number.isFinite(lookaheadNs) || lookaheadNs < 0) fail(Errno.EINVAL, `lookaheadNs ${lookaheadNs} must be a finite number >= 0`);
    // above the smallest delivery latency a receiver running ahead may already have passed a signal's delivery
    // instant when it is posted, and would take it later than lockstep: refused, so results never depend on it
    const safe = maxExactLookaheadNs(cost.ns);
    if (lookaheadNs > safe)
      fail(
        Errno.EINVAL,
        `lookaheadNs ${lookaheadNs} exceeds ${safe} ns, profile ${cost.name}'s ipiLatency (the largest lookahead whose results equal lockstep)`,
      );
    const id = this.nextVmId++;
    const child = this.container.createChildContainer();
    const config: VmConfig = { id, name: opts.name ?? `vm${id}`, cost, seed: opts.seed ?? 1, lookaheadNs, ipaBits };
    child.registerInstance(VM_CONFIG, config);
    const vm = child.resolve(Vm);
    child.registerInstance(VM, vm);
    this.vmContainers.set(vm, child);
    for (const e of this.exts) e.vmCreated?.(vm);
    if (desc) {
      try {
        for (let i = 0; i < nVcpus; i++) vm.createVcpu(i);
        vm.setupIrqchip(desc, opts.irqchipOptions);
      } catch (e) {
        void vm.destroy();
        throw e;
      }
    }
    return vm;
  }

  /** @internal The child container of `vm`. */
  vmContainer(vm: Vm): DependencyContainer {
    const c = this.vmContainers.get(vm);
    if (!c) fail(Errno.ENODEV, `VM ${vm.id} is not alive`);
    return c;
  }

  /** @internal Disposes a VM's container. */
  async releaseVm(vm: Vm): Promise<void> {
    const c = this.vmContainers.get(vm);
    this.vmContainers.delete(vm);
    if (c) await c.dispose();
  }

  /**
   * Creates a VFIO-like passthrough device with `nrVectors` MSI-X vectors.
   * @param requesterId - the PCI requester id its MSIs carry as DeviceID
   */
  createPassthroughDevice(name: string, requesterId: number, nrVectors: number): PassthroughDevice {
    return new PassthroughDevice(name, requesterId, nrVectors, this.hostIrqs, this.irqBypass);
  }

  /** Live VMs. */
  get vms(): readonly Vm[] {
    return [...this.vmContainers.keys()];
  }
}
