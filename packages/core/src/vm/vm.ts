/**
 * A VM, shaped like KVM's VM file descriptor: vCPU and device creation, KVM_IRQ_LINE, GSI routing, irqfds,
 * ioeventfds, KVM_SIGNAL_MSI, memory slots, and the run loop over its vCPUs. All of its state lives in its own
 * DI child container; two VMs in one process share nothing mutable.
 *
 * @module
 */
import 'reflect-metadata';
import { inject, injectable, Lifecycle, scoped, type DependencyContainer } from 'tsyringe';
import { CostComponent } from '../cost/cost-component';
import type { CostPrimitives, CostProfile } from '../cost/cost-profile';
import type { DeviceAttr, KvmDevice } from '../device/kvm-device';
import { Errno, fail } from '../errno';
import { FlowDispatch, IrqType, NO_IRQCHIP_FLOW, type IrqchipFlow, type Msi, type RoutingEntry } from '../flow/irqchip-flow';
import type { Hypervisor } from '../hypervisor';
import { HypercallTable, type SmcccFilterAction } from '../hypercall/smccc';
import type { IoEventFdSpec } from '../mmio/mmio-bus';
import { MmioBus } from '../mmio/mmio-bus';
import { GuestMemory, type MemorySlot } from '../memory/guest-memory';
import { LineClock } from '../memory/line-clock';
import { cpuIrqLines } from './cpu-irq-lines';
import { IrqRouting, type IrqfdSpec } from '../irq/irq-routing';
import type { GuestIrqDriver, IrqchipDescriptor, IrqchipSetupOptions, VmExtension } from '../plugin';
import { Rng } from '../rng';
import { EventQueue, HostEvent } from '../sched/event-queue';
import { hypercallKey, isHypercallKey, summarize, type StatsSummary } from '../stats/counters';
import { registerArchSysregs } from '../sysreg/arch-sysregs';
import { sysregName } from '../sysreg/sysreg-encoding';
import { SysregTable } from '../sysreg/sysreg-table';
import type { TraceBuffer } from '../trace/trace';
import { TraceKind } from '../trace/trace';
import { Scheduler, type RunOptions, type RunResult } from './scheduler';
import type { OneRegHandler, VcpuAttrGroup } from './one-reg';
import { MpState } from './mp-state';
import { REQ_KICK, Vcpu } from './vcpu';

/** DI token of the {@link Hypervisor} (root container). */
export const HYPERVISOR = Symbol.for('irqflow.Hypervisor');
/** DI token of a VM's {@link VmConfig} (VM container). */
export const VM_CONFIG = Symbol.for('irqflow.VmConfig');
/** DI token of the {@link Vm} itself (VM container). */
export const VM = Symbol.for('irqflow.Vm');

/**
 * Something a VM's user most likely did not mean, reported once per kind and line ({@link Vm.warn}).
 * Codes: `IRQFLOW_IRQ_EARLY` — a host interrupt was raised before the guest enabled it (it stays pending, and
 * further edges merge into that one pending interrupt); `IRQFLOW_IRQ_DROPPED` — a host interrupt was raised
 * before the guest routed or enabled it and the controller drops it (rVID: unmapped input; rVIC: disabled).
 */
export interface VmWarning {
  /** Machine-readable code. */
  readonly code: string;
  /** The interrupt (or line) it is about. */
  readonly line: number;
  /** One line for people. */
  readonly message: string;
  /** Simulated time of the first occurrence (ns). */
  readonly at: number;
  /** How many times it happened. */
  count: number;
}

/** KVM's default IPA size on arm64 (a KVM_CREATE_VM type without KVM_VM_TYPE_ARM_IPA_SIZE): 40 bits. */
export const KVM_DEFAULT_IPA_BITS = 40;

/** KVM_MAX_VCPUS on arm64. */
export const KVM_MAX_VCPUS = 512;

/** How a VM is created. */
export interface VmConfig {
  /** VM id (unique within the hypervisor). */
  readonly id: number;
  /** Display name. */
  readonly name: string;
  /** Cost profile. */
  readonly cost: CostProfile;
  /** Seed for workload randomness. */
  readonly seed: number;
  /** Conservative lookahead (ns), resolved by {@link Hypervisor.createVm}; see {@link @irqflow/core!CreateVmOptions.lookaheadNs | CreateVmOptions.lookaheadNs}. */
  readonly lookaheadNs: number;
  /** IPA size in bits (KVM_VM_TYPE_ARM_IPA_SIZE; {@link KVM_DEFAULT_IPA_BITS} unless asked otherwise). */
  readonly ipaBits?: number;
}

/**
 * A VM. Create with {@link Hypervisor.createVm}.
 *
 * @example
 * ```ts
 * import { DAIF, GuestAsm, Hypervisor } from '@irqflow/core';
 * import { VgicPlugin } from '@irqflow/vgic';
 *
 * const vm = new Hypervisor().use(VgicPlugin).createVm({ irqchip: 'gic-v3', vcpus: 1 });
 * const drv = vm.driver!;
 * const intid = drv.deviceIrqs.first; // device input 0 in the controller's numbering (INTID 32)
 * let taken = 0;
 * const a = new GuestAsm();
 * a.label('main');
 * drv.emitCpuInit(a);
 * drv.emitEnable(a, intid);
 * a.daifclr(DAIF.I).label('idle').wfi().b('idle');
 * a.label('irq');
 * drv.emitAck(a, 9);
 * a.call(() => void taken++);
 * drv.emitEoi(a, 9);
 * a.eret();
 * vm.vcpus[0].setProgram(a.build());
 *
 * vm.at(50_000, () => vm.irqLine(vm.deviceLine(0), 1)); // a device raises its line at t = 50 µs
 * vm.at(50_100, () => vm.irqLine(vm.deviceLine(0), 0));
 * const r = vm.run({ until: 1_000_000 });
 * console.log(r.reason, taken, vm.warnings.length);
 * // → idle 1 0
 * ```
 */
@scoped(Lifecycle.ContainerScoped)
@injectable()
export class Vm {
  /** VM id. */
  readonly id: number;
  /** Name. */
  readonly name: string;
  /** Cost profile. */
  readonly cost: CostProfile;
  /** The profile's primitives (hot-path access). */
  readonly costNs: Readonly<CostPrimitives>;
  /** Deterministic random source for this VM's workloads. */
  readonly rng: Rng;
  /**
   * Conservative lookahead (ns): how far a vCPU may run ahead of the furthest-behind vCPU doing vCPU-local
   * operations ({@link @irqflow/core!CreateVmOptions.lookaheadNs | CreateVmOptions.lookaheadNs}).
   */
  readonly lookaheadNs: number;
  /**
   * The guest physical address space size in bytes (2^IPA bits, KVM's kvm_phys_size): device frames must end at
   * or below it.
   */
  readonly ipaSize: number;
  /** The hypervisor's trace buffer. */
  readonly trace: TraceBuffer;
  /** The vCPUs, in creation order. */
  readonly vcpus: Vcpu[] = [];
  /** Created devices. */
  readonly devices: KvmDevice[] = [];
  /** Modelled system registers. */
  readonly sysregs: SysregTable;
  /** SMCCC hypercall ranges and filter. */
  readonly hypercalls = new HypercallTable();
  /** GSI routing and irqfds. */
  readonly routing: IrqRouting;
  /** Scheduler and run loop. */
  readonly scheduler: Scheduler;
  /** When each guest RAM line a vCPU stored to becomes visible to the other vCPUs (cacheLineTransfer). */
  readonly lines: LineClock;
  /** ONE_REG registers beyond the core registers (timer counters, …). */
  readonly oneRegs = new Map<bigint, OneRegHandler>();
  /** vCPU attribute groups (KVM_ARM_VCPU_TIMER_CTRL, …). */
  readonly vcpuAttrGroups = new Map<number, VcpuAttrGroup>();
  /** The controller's flow (defaults when there is no in-kernel irqchip). */
  flow: FlowDispatch = NO_IRQCHIP_FLOW();
  /** Whether an in-kernel irqchip was created. */
  hasIrqchip = false;
  /** Set by the controller when its device is initialised: gates vCPU creation (EBUSY after). */
  irqchipFinalized = false;
  /** The named controller set up by {@link setupIrqchip} (or `createVm({ irqchip })`), if any. */
  irqchip: IrqchipDescriptor | undefined = undefined;
  /** Its guest driver (what guest programs use to talk to the controller). */
  driver: GuestIrqDriver | undefined = undefined;
  /** Warnings so far (first occurrence of each code and line, with a count). */
  readonly warnings: VmWarning[] = [];
  private readonly warned = new Map<string, VmWarning>();
  private readonly byMpidr = new Map<number, Vcpu>();
  private destroyed = false;

  constructor(
    @inject(HYPERVISOR) readonly hv: Hypervisor,
    @inject(VM_CONFIG) config: VmConfig,
    /** Guest physical memory. */
    readonly memory: GuestMemory,
    /** The MMIO bus. */
    readonly mmio: MmioBus,
    /** Timed host events. */
    readonly events: EventQueue,
  ) {
    this.id = config.id;
    this.name = config.name;
    this.cost = config.cost;
    // A copy in fast mode: a profile's table may be a dictionary-mode object (built by adding keys one at a
    // time), whose every read is a generic property lookup; the hot path reads it several times per interrupt.
    this.costNs = { ...config.cost.ns };
    this.rng = new Rng(config.seed);
    this.lookaheadNs = config.lookaheadNs;
    this.ipaSize = 2 ** (config.ipaBits ?? KVM_DEFAULT_IPA_BITS);
    this.trace = hv.trace;
    this.sysregs = new SysregTable((k) => this.costNs[k]);
    this.routing = new IrqRouting(this);
    this.lines = new LineClock(this.costNs.cacheLineTransfer);
    this.scheduler = new Scheduler(this.events, (v) => this.firstRun(v), this.lookaheadNs, this.costNs.ipiLatency);
    registerArchSysregs(this.sysregs);
  }

  /** The VM's DI container (per-VM state lives here). */
  get container(): DependencyContainer {
    return this.hv.vmContainer(this);
  }

  /** The VM extensions (timer, …) registered with the hypervisor. */
  get extensions(): readonly VmExtension[] {
    return this.hv.extensions;
  }

  /** Current simulated time (ns) as seen by whoever is executing. */
  get now(): number {
    return this.scheduler.now;
  }

  // ---- vCPUs ------------------------------------------------------------------------------------------

  /**
   * KVM_CREATE_VCPU.
   * @throws KvmError EINVAL for a bad id, EEXIST for a duplicate, EBUSY once the irqchip is initialised or a
   * vCPU has run, or whatever the controller's vcpuInit refuses with
   */
  createVcpu(id: number = this.vcpus.length): Vcpu {
    if (!Number.isInteger(id) || id < 0 || id >= KVM_MAX_VCPUS) fail(Errno.EINVAL, `vCPU id ${id} out of range (0..${KVM_MAX_VCPUS - 1})`);
    if (this.vcpus.some((v) => v.id === id)) fail(Errno.EEXIST, `vCPU ${id} already exists`);
    if (this.irqchipFinalized) fail(Errno.EBUSY, 'the interrupt controller is initialised: no more vCPUs');
    if (this.vcpus.some((v) => v.hasRun)) fail(Errno.EBUSY, 'a vCPU has already run');
    const v = new Vcpu(this, id, this.vcpus.length);
    v.mp = MpState.Runnable;
    this.flow.vcpuInit(v);
    this.vcpus.push(v);
    this.byMpidr.set(v.mpidr, v);
    for (const e of this.hv.extensions) e.vcpuCreated?.(v);
    return v;
  }

  /** The vCPU with MPIDR affinity `mpidr` (Aff3..Aff0; bit 31 ignored). */
  vcpuByMpidr(mpidr: number): Vcpu | undefined {
    if (!(mpidr >= 0 && mpidr < 0x100000000)) return undefined; // Aff3 != 0 matches no vCPU
    return this.byMpidr.get(mpidr & 0xffffff);
  }

  /** The vCPU at creation index `index`. */
  vcpuAt(index: number): Vcpu | undefined {
    return this.vcpus[index];
  }

  private firstRun(v: Vcpu): void {
    if (this.destroyed) fail(Errno.ENODEV, 'the VM was destroyed');
    this.flow.vcpuFirstRun(v);
    for (const e of this.hv.extensions) e.vcpuFirstRun?.(v);
  }

  /**
   * @internal What KVM_RUN with `immediate_exit` set does to a vCPU that never ran: the first-run work (the
   * controller's and the extensions' checks and mappings) without entering the guest. Used by a snapshot restore.
   * @throws KvmError as the first run would
   */
  firstRunNow(v: Vcpu): void {
    if (v.hasRun) return;
    this.firstRun(v);
    v.hasRun = true;
  }

  // ---- devices and the irqchip ---------------------------------------------------------------------------

  /**
   * KVM_CREATE_DEVICE.
   * @throws KvmError ENODEV for an unknown type, or what the device type refuses with (EEXIST, EBUSY, …)
   */
  createDevice(type: number): KvmDevice {
    const reg = this.hv.deviceType(type);
    if (!reg) fail(Errno.ENODEV, `no device type ${type} is registered`);
    const dev = reg.create(this);
    this.devices.push(dev);
    return dev;
  }

  /**
   * Installs the VM's in-kernel interrupt controller (one per VM) and runs vcpuInit on existing vCPUs.
   * @throws KvmError EEXIST if one is installed; whatever vcpuInit throws (the install is undone)
   */
  setIrqchip(flow: IrqchipFlow, name: string): void {
    if (this.hasIrqchip) fail(Errno.EEXIST, `the VM already has an interrupt controller (${this.flow.name})`);
    const prev = this.flow;
    this.flow = new FlowDispatch(flow, name);
    this.hasIrqchip = true;
    try {
      for (const v of this.vcpus) this.flow.vcpuInit(v);
    } catch (e) {
      this.flow = prev;
      this.hasIrqchip = false;
      throw e;
    }
  }

  /**
   * Sets a named controller up on this VM (its vCPUs already created): runs the descriptor's board recipe,
   * remembers it as {@link Vm.irqchip} and its guest driver as {@link Vm.driver}, and returns the driver.
   * @param irqchip - a registered name or alias, or a descriptor
   * @throws KvmError ENOENT for an unknown name, EEXIST if this VM already has a named controller, and
   * whatever the controller's setup refuses with
   */
  setupIrqchip(irqchip: string | IrqchipDescriptor, options?: IrqchipSetupOptions): GuestIrqDriver {
    const desc = typeof irqchip === 'string' ? this.hv.irqchip(irqchip) : irqchip;
    if (this.irqchip) fail(Errno.EEXIST, `the VM already has an interrupt controller (${this.irqchip.name})`);
    const driver = desc.setup(this, options);
    this.irqchip = desc;
    this.driver = driver;
    return driver;
  }

  /**
   * The KVM_IRQ_LINE `irq` value (type SPI) of wired device input `pin` under this VM's controller — a
   * controller-neutral name for a device's interrupt line: `vm.irqLine(vm.deviceLine(0), 1)` raises the same
   * device input on a GIC (INTID 32) as on an rVIC (rVID input 0). `pin` is the same number an irqchip GSI
   * route's `pin` names.
   * @throws KvmError ENXIO if the VM has no named controller ({@link setupIrqchip}); EINVAL for a bad pin
   */
  deviceLine(pin: number): number {
    const d = this.irqchip;
    if (!d) fail(Errno.ENXIO, 'deviceLine: the VM has no named interrupt controller (createVm({ irqchip }) or vm.setupIrqchip)');
    if (!Number.isInteger(pin) || pin < 0) fail(Errno.EINVAL, `device input ${pin} is not a non-negative integer`);
    const id = d.deviceLineId ? d.deviceLineId(pin) : pin + 32;
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) fail(Errno.EINVAL, `device input ${pin} has no KVM_IRQ_LINE number on ${d.name}`);
    return ((IrqType.Spi << 24) | id) >>> 0;
  }

  /** Marks the irqchip initialised (KVM's "vgic initialized"): no more vCPUs after this. */
  finalizeIrqchip(): void {
    this.irqchipFinalized = true;
  }

  /** Whether any vCPU has entered the run loop. */
  get anyVcpuRan(): boolean {
    return this.vcpus.some((v) => v.hasRun);
  }

  // ---- interrupts from userspace ------------------------------------------------------------------------

  /**
   * KVM_IRQ_LINE. `irq` = vcpu2_index[31:28] | type[27:24] | vcpu_index[23:16] | irq_id[15:0].
   * @throws KvmError EINVAL for an unknown type or vCPU, ENXIO for PPI/SPI without an in-kernel irqchip and
   * for type CPU with one (newest mainline kvm_vm_ioctl_irq_line checks the irqchip first, then the vCPU, then
   * the line); the controller's errors for PPI/SPI ranges
   */
  irqLine(irq: number, level: number | boolean): void {
    const type = (irq >>> 24) & 0xf;
    const vcpuIdx = ((irq >>> 16) & 0xff) + ((irq >>> 28) & 0xf) * 256;
    const id = irq & 0xffff;
    const lvl = level === true || (typeof level === 'number' && level !== 0);
    switch (type as IrqType) {
      case IrqType.Cpu: {
        // KVM: type CPU drives the vCPU's IRQ/FIQ inputs directly, which an in-kernel irqchip owns: ENXIO
        if (this.hasIrqchip) fail(Errno.ENXIO, 'KVM_ARM_IRQ_TYPE_CPU needs a VM without an in-kernel irqchip');
        const v = this.vcpus[vcpuIdx];
        if (!v) fail(Errno.EINVAL, `no vCPU ${vcpuIdx}`);
        if (id > 1) fail(Errno.EINVAL, `CPU line ${id} is neither IRQ (0) nor FIQ (1)`);
        const lines = cpuIrqLines(v);
        // KVM's vcpu_interrupt_line: nothing happens if the bit is already at that level (no request, no kick)
        if ((id === 0 ? v.irqInput : v.fiqInput) === lvl) return;
        if (id === 0) v.irqInput = lvl;
        else v.fiqInput = lvl;
        const bits = (v.irqInput ? 1 : 0) | (v.fiqInput ? 2 : 0);
        if (this.scheduler.current === v || (!v.inGuest && v.mp !== MpState.Halted)) {
          // the vCPU's own instant, or a vCPU outside the guest (its thread in userspace, or before its first
          // KVM_RUN): it samples the lines when it next enters the guest (a kick finds it outside guest mode)
          lines.change(v.clock, bits);
          if (this.scheduler.current === v) v.request(REQ_KICK);
          return;
        }
        // in the guest or blocked: the change makes a request and kicks the vCPU (raise or lower alike); the guest
        // sees HCR_EL2.VI/VF as derived from the lines at its next entry. Causal: the change is due when the kick
        // arrives, and the vCPU samples the lines due at its clock (cpu-irq-lines.ts), never a level early
        // (a blocked one is woken by the kick with its clock at the arrival, charged the waking interrupt)
        if (v.mp === MpState.Halted) this.kickVcpu(v);
        else this.postRequest(v, REQ_KICK);
        lines.change(this.scheduler.signalTime, bits);
        return;
      }
      case IrqType.Ppi: {
        if (!this.hasIrqchip) fail(Errno.ENXIO, 'no in-kernel irqchip');
        if (!this.vcpus[vcpuIdx]) fail(Errno.EINVAL, `no vCPU ${vcpuIdx}`);
        this.flow.injectUserspaceIrq(this, IrqType.Ppi, vcpuIdx, id, lvl);
        return;
      }
      case IrqType.Spi: {
        if (!this.hasIrqchip) fail(Errno.ENXIO, 'no in-kernel irqchip');
        this.flow.injectUserspaceIrq(this, IrqType.Spi, 0, id, lvl);
        return;
      }
      default:
        fail(Errno.EINVAL, `unknown KVM_IRQ_LINE type ${type}`);
    }
  }

  /**
   * Reports a warning: recorded in {@link warnings}; the first occurrence of each (code, line) also goes to the
   * hypervisor's {@link HypervisorOptions.onWarning}, later ones only count. Controllers call it off the hot
   * path (after the condition was found); one that may meet the condition often keeps the returned record and
   * counts into it (`count++`), so the message is built once.
   */
  warn(code: string, line: number, message: string): VmWarning {
    const k = `${code}:${line}`;
    const w = this.warned.get(k);
    if (w !== undefined) {
      w.count++;
      return w;
    }
    const nw: VmWarning = { code, line, message, at: this.now, count: 1 };
    this.warned.set(k, nw);
    this.warnings.push(nw);
    this.hv.onWarning?.(nw, this);
    return nw;
  }

  /** KVM_SET_GSI_ROUTING. See {@link IrqRouting.set}. */
  setGsiRouting(entries: readonly RoutingEntry[]): void {
    this.routing.set(entries);
  }

  /** KVM_IRQFD. See {@link IrqRouting.irqfd}. */
  irqfd(spec: IrqfdSpec): void {
    this.routing.irqfd(spec);
  }

  /** KVM_IOEVENTFD (assign, or deassign with `deassign: true`). */
  ioeventfd(spec: IoEventFdSpec & { deassign?: boolean }): void {
    if (spec.deassign) this.mmio.removeIoEventFd(spec);
    else this.mmio.addIoEventFd(spec);
  }

  /**
   * KVM_SIGNAL_MSI: > 0 delivered, 0 blocked by the guest.
   * @throws KvmError ENODEV without MSI support, and the controller's errors (EINVAL, EBUSY, …)
   */
  signalMsi(msi: Msi): number {
    const r = this.flow.setMsi(this, msi);
    if (this.trace.on) this.trace.emit(TraceKind.Msi, this.id, -1, this.now, msi.data, r);
    return r;
  }

  /** The guest completed interrupt (irqchip, pin): resample level irqfds (kvm_notify_acked_irq). */
  notifyAckedIrq(irqchip: number, pin: number): void {
    this.routing.notifyAcked(irqchip, pin);
  }

  /** KVM_ARM_VM_SMCCC_FILTER. */
  setSmcccFilter(base: number, count: number, action: SmcccFilterAction): void {
    this.hypercalls.setFilter(base, count, action);
  }

  /** KVM_SET_USER_MEMORY_REGION. */
  setUserMemoryRegion(region: MemorySlot): void {
    this.memory.setUserMemoryRegion(region);
  }

  // ---- running ------------------------------------------------------------------------------------------

  /**
   * Makes `vcpu` notice new interrupt state: wakes it from WFI, or forces it out of the guest so it flushes
   * again (kvm_vcpu_kick). A vCPU outside the guest needs nothing: it flushes on entry.
   *
   * Causal: a kick from another vCPU is sent at the end of what the sender is doing (its clock, after
   * `kickSend`) and reaches the target `ipiLatency` later; from a host event, at the event's time plus
   * `ipiLatency` (0 for an event local to the target's pCPU, {@link HostEvent.local}); from userspace, at the
   * VM's time plus `ipiLatency`. The target acts no earlier: a blocked one wakes with its clock there, a running
   * one takes the IRQ exit at its first operation boundary at or after it. A vCPU kicking itself exits at once.
   */
  kickVcpu(vcpu: Vcpu): void {
    const s = this.scheduler;
    if (vcpu.mp === MpState.Halted) {
      vcpu.stats.kicks++;
      vcpu.request(REQ_KICK);
      s.stampSignal(vcpu);
      // the breakdown's delivery latency: what of its blocked time the vCPU waits for this signal once it was sent
      // (0 from itself or a pCPU-local event, and 0 if its clock is already past the arrival)
      // (the scheduler's `now` written out: a getter's double result is boxed on the heap whenever V8 runs out of
      // inlining budget for it here, as it did once kickVcpu was inlined into a larger caller)
      const cur = s.current;
      const now = cur !== null ? cur.clock : s.eventTime >= 0 ? s.eventTime : s.time;
      const waited = s.signalTime - (vcpu.clock > now ? vcpu.clock : now);
      if (waited > 0) vcpu.costBy[CostComponent.IpiLatency] += waited;
      vcpu.wake();
      s.runnable(vcpu);
      if (this.trace.on) this.traceKick(vcpu, 1);
      return;
    }
    // one kick in flight at a time (KVM: the vCPU is already exiting guest mode, no second IPI)
    if (!vcpu.inGuest || ((vcpu.requests | vcpu.posted) & REQ_KICK) !== 0) return;
    const cur = s.current;
    if (cur === vcpu) vcpu.request(REQ_KICK);
    else {
      if (cur !== null) {
        cur.clock += this.costNs.kickSend;
        cur.costBy[CostComponent.KickSend] += this.costNs.kickSend;
      }
      // no delivery latency in the breakdown: the target keeps running until the kick arrives, and that time is
      // already its own (guest work or its own exits); counting it again would exceed the time that passed
      s.stampSignal(vcpu);
      vcpu.post(REQ_KICK);
    }
    if (this.trace.on) this.traceKick(vcpu, 0);
  }

  /**
   * Posts request bits ({@link REQ_EXIT}, {@link REQ_KICK}) to `vcpu` from whoever is executing, due at the
   * same delivery time as a kick ({@link kickVcpu}); from the vCPU itself they are immediate.
   */
  postRequest(vcpu: Vcpu, bits: number): void {
    const s = this.scheduler;
    if (s.current === vcpu) {
      vcpu.request(bits);
      return;
    }
    s.stampSignal(vcpu);
    vcpu.post(bits);
  }

  /**
   * Makes `vcpu` re-drive its virtual IRQ/FIQ lines ({@link IrqchipFlow.vcpuSignalled}) once a signal from
   * whoever is executing reaches it, at the delivery time of a kick ({@link kickVcpu}): how a controller changes
   * another vCPU's lines without an exit (GICv4 direct injection to a resident vPE, KVM_IRQ_LINE without an
   * in-kernel irqchip). For the vCPU itself the lines are re-driven at once. The time it becomes due is
   * `vm.scheduler.signalTime` right after the call, for a controller that timestamps the state it changed.
   *
   * @example
   * ```ts
   * // a controller makes `intid` pending on `target` without an exit (direct injection)
   * pending.add(intid);
   * vm.signalVcpu(target); // the controller's vcpuSignalled(target) runs when the signal arrives
   * pendingAt[intid] = vm.scheduler.signalTime; // target's reads of its state ignore intid before then
   * ```
   */
  signalVcpu(vcpu: Vcpu): void {
    const s = this.scheduler;
    s.stampSignal(vcpu);
    if (s.current === vcpu) this.flow.vcpuSignalled(vcpu);
    else vcpu.postLines();
  }

  /** @internal Wakes halted `v` when its earliest posted signal arrives (posted before it blocked, or while blocked). */
  armSignalWake(v: Vcpu): void {
    let ev = v.signalWake;
    if (ev === null) {
      ev = new HostEvent((now) => this.signalWakeFired(v, now), 'signal-wake');
      ev.local = true;
      v.signalWake = ev;
    }
    const at = v.postedAt < v.linesAt ? v.postedAt : v.linesAt;
    if (!ev.pending || at < ev.time) this.schedule(ev, at);
  }

  /**
   * @internal A VM snapshot's restore (vm-snapshot.ts): arms `v`'s signal wake at `at` exactly as the source had it
   * (it may be armed for a signal already taken: it then fires and finds the vCPU as the source's did), or
   * disarms it for null.
   */
  restoreSignalWake(v: Vcpu, at: number | null): void {
    if (at === null) {
      if (v.signalWake !== null) this.events.cancel(v.signalWake);
      return;
    }
    if (v.signalWake === null) {
      const ev = new HostEvent((now) => this.signalWakeFired(v, now), 'signal-wake');
      ev.local = true;
      v.signalWake = ev;
    }
    this.events.schedule(v.signalWake, at);
  }

  private signalWakeFired(v: Vcpu, now: number): void {
    if (v.mp !== MpState.Halted) return;
    if ((v.posted & REQ_KICK) !== 0 && v.postedAt <= now) v.stats.kicks++;
    const s = this.scheduler;
    s.signalTime = now;
    v.wake();
    s.runnable(v);
  }

  /** The Kick event, on the kicking vCPU's track (the host's when no vCPU is running). */
  private traceKick(target: Vcpu, wasBlocked: number): void {
    const cur = this.scheduler.current;
    this.trace.emit(TraceKind.Kick, this.id, cur === null ? -1 : cur.index, this.scheduler.now, target.index, wasBlocked);
  }

  /** Runs the VM's vCPUs in simulated time. See {@link RunOptions}. */
  run(opts: RunOptions = {}): RunResult {
    if (this.destroyed) fail(Errno.ENODEV, 'the VM was destroyed');
    return this.scheduler.run(this.vcpus, opts);
  }

  /**
   * Schedules a reusable host event at absolute simulated time `t`. Armed by a running vCPU for a time before
   * the end of its slice, the slice ends there so the event fires on time.
   */
  schedule(ev: HostEvent, t: number): void {
    this.events.schedule(ev, t);
    const cur = this.scheduler.current;
    if (cur !== null) {
      if (t < cur.sliceLimit) cur.sliceLimit = t;
      if (t < cur.aheadLimit) cur.aheadLimit = t;
    }
  }

  /** Runs `fn` at simulated time `t` (a one-shot host event: userspace injecting at t, a device firing). */
  at(t: number, fn: (now: number) => void, label = 'at'): HostEvent {
    const ev = new HostEvent(fn, label);
    this.schedule(ev, t);
    return ev;
  }

  /** @internal PSCI SYSTEM_OFF/RESET from `by`. */
  systemEvent(by: Vcpu): void {
    this.scheduler.shutdown(by, this.vcpus);
  }

  // ---- reporting ------------------------------------------------------------------------------------------

  /** Counters summed over all vCPUs, with trap names resolved. */
  stats(): StatsSummary {
    return summarize(
      this.vcpus.map((v) => v.stats),
      (k) => this.trapName(k),
    );
  }

  /** The display name of a trap counter key: a system register's name, or a hypercall's ("rVIC.ACKNOWLEDGE"). */
  trapName(key: number): string {
    return isHypercallKey(key) ? this.hypercallName(key) : sysregName(key);
  }

  private hypercallName(key: number): string {
    for (const r of this.hypercalls.all) {
      for (let i = 0; i < r.count; i++) {
        const fid = r.base + i;
        if (hypercallKey(fid) === key) return this.hypercalls.nameOf(fid);
      }
    }
    return `smccc:${(((key - 0x10000) >> 16) & 0x3f).toString(16)}:${(key & 0xffff).toString(16)}`;
  }

  /** A state dump of every device and extension (vgic-state style). */
  dump(): string {
    const parts: string[] = [`VM ${this.id} "${this.name}" t=${this.now.toFixed(1)}ns vcpus=${this.vcpus.length}`];
    for (const d of this.devices) if (d.dump) parts.push(d.dump());
    for (const e of this.hv.extensions) {
      if (!e.dumpVcpu) continue;
      for (const v of this.vcpus) parts.push(e.dumpVcpu(v));
    }
    return parts.join('\n');
  }

  /** Tears the VM down: destroy callbacks, irqfds dropped, events cancelled, container disposed. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.flow.destroy(this);
    for (const d of this.devices) d.destroy?.();
    for (const e of this.hv.extensions) e.vmDestroyed?.(this);
    this.routing.clear();
    this.events.clear();
    await this.hv.releaseVm(this);
  }

  /** Device attribute helper: `setAttr` on `dev` with a plain number attr. */
  static attr(group: number, attr: number | bigint): DeviceAttr {
    return { group, attr: BigInt(attr) };
  }
}
