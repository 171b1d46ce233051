/**
 * A tiny interrupt controller used only by the core tests: one FIFO of pending interrupt numbers per vCPU,
 * an untrapped acknowledge register (ICC_IAR1_EL1 by default) and a trapped end-of-interrupt register
 * (ICC_EOIR1_EL1 by default). It drives `vcpu.virq` in flush, supports irqfd irqchip routes (pin → intid
 * pin + 32, level lines resampled through `vm.notifyAckedIrq`) and MSIs (data = intid). Not exported from src.
 */
import {
  Errno,
  fail,
  Hypervisor,
  IrqType,
  MSI_VALID_DEVID,
  SYSREGS,
  TraceKind,
  VcpuSlot,
  type IrqchipFlow,
  type IrqchipRoute,
  type Msi,
  type Vcpu,
  type Vm,
  type CreateVmOptions,
} from '../../src';

/** What the ack register reads when nothing is pending. */
export const TINY_SPURIOUS = 1023;

interface TinyCpu {
  fifo: number[];
  active: number[];
}

/** Options of the tiny controller. */
export interface TinyOptions {
  /** Name given to setIrqchip (default "tiny"). */
  name?: string;
  /** Ack register encoding (default ICC_IAR1_EL1). */
  ackReg?: number;
  /** EOI register encoding (default ICC_EOIR1_EL1). */
  eoiReg?: number;
  /** Whether the ack register traps (default false). */
  ackTrapped?: boolean;
  /** Signal further pending interrupts while one is active (nested delivery). */
  nested?: boolean;
}

const TINY_SLOT = new VcpuSlot<TinyCpu>('tiny');

/** The tiny controller. */
export class TinyController implements IrqchipFlow {
  readonly slot = TINY_SLOT;
  /** Calls per callback name. */
  readonly calls: Record<string, number> = {};
  /** Level of each irqfd pin. */
  readonly lines = new Map<number, boolean>();
  /** Completed interrupt numbers in order. */
  readonly completedLog: number[] = [];
  /** When true, setMsi reports "blocked by the guest" (0). */
  msiBlocked = false;
  readonly name: string;

  constructor(
    readonly vm: Vm,
    readonly opts: TinyOptions = {},
  ) {
    this.name = opts.name ?? 'tiny';
  }

  /** Installs the controller on its VM: setIrqchip + the two system registers. */
  install(): this {
    const vm = this.vm;
    vm.setIrqchip(this, this.name);
    vm.sysregs.register(this.opts.ackReg ?? SYSREGS.ICC_IAR1_EL1, {
      trapped: this.opts.ackTrapped ?? false,
      read: (v) => this.ack(v),
    });
    vm.sysregs.register(this.opts.eoiReg ?? SYSREGS.ICC_EOIR1_EL1, {
      trapped: true,
      write: (v, lo) => this.eoi(v, lo),
    });
    return this;
  }

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  private cpu(v: Vcpu): TinyCpu {
    return this.slot.get(v);
  }

  /** Pending interrupt numbers of `v`. */
  pending(v: Vcpu): readonly number[] {
    return this.cpu(v).fifo;
  }

  /** Active interrupt numbers of `v`. */
  active(v: Vcpu): readonly number[] {
    return this.cpu(v).active;
  }

  /** Makes `intid` pending on `v` and kicks it. */
  queue(v: Vcpu, intid: number): void {
    this.cpu(v).fifo.push(intid);
    v.stats.injected++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Inject, this.vm.id, v.index, this.vm.now, intid, 1);
    this.vm.kickVcpu(v);
  }

  private ack(v: Vcpu): number {
    const c = this.cpu(v);
    const intid = c.fifo.shift();
    if (intid === undefined) return TINY_SPURIOUS;
    c.active.push(intid);
    v.stats.acked++;
    v.virq = c.fifo.length > 0 && this.opts.nested === true;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Ack, this.vm.id, v.index, v.clock, intid, 0);
    return intid;
  }

  private eoi(v: Vcpu, intid: number): void {
    const c = this.cpu(v);
    const i = c.active.lastIndexOf(intid);
    if (i < 0) return;
    c.active.splice(i, 1);
    v.stats.completed++;
    this.completedLog.push(intid);
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Eoi, this.vm.id, v.index, v.clock, intid, 0);
    if (intid >= 32) this.vm.notifyAckedIrq(0, intid - 32);
  }

  destroy(): void {
    this.count('destroy');
  }
  vcpuInit(v: Vcpu): void {
    this.count('vcpuInit');
    this.slot.set(v, { fifo: [], active: [] });
  }
  vcpuBlocking(): void {
    this.count('vcpuBlocking');
  }
  vcpuUnblocking(): void {
    this.count('vcpuUnblocking');
  }
  vcpuLoad(): void {
    this.count('vcpuLoad');
  }
  vcpuPut(): void {
    this.count('vcpuPut');
  }
  vcpuFirstRun(): void {
    this.count('vcpuFirstRun');
  }
  vcpuPendingIrq(v: Vcpu): boolean {
    return this.cpu(v).fifo.length > 0;
  }
  vcpuFlushHwstate(v: Vcpu): void {
    const c = this.cpu(v);
    v.virq = c.fifo.length > 0 && (this.opts.nested === true || c.active.length === 0);
  }
  vcpuSyncHwstate(): void {
    // the FIFO is the state; nothing to fold back
  }
  injectIrq(vm: Vm, cpu: number, intid: number, level: boolean): void {
    if (level) this.queue(vm.vcpus[cpu], intid);
  }
  injectUserspaceIrq(vm: Vm, type: IrqType, cpu: number, intid: number, level: boolean): void {
    if (type === IrqType.Ppi && (intid < 16 || intid > 31)) fail(Errno.EINVAL, `PPI ${intid} out of range`);
    if (type === IrqType.Spi && (intid < 32 || intid >= 1020)) fail(Errno.EINVAL, `SPI ${intid} out of range`);
    if (level) this.queue(vm.vcpus[type === IrqType.Spi ? 0 : cpu], intid);
  }
  irqfdSetIrq(vm: Vm, route: IrqchipRoute, level: boolean): void {
    const prev = this.lines.get(route.pin) === true;
    this.lines.set(route.pin, level);
    if (level && !prev) this.queue(vm.vcpus[0], route.pin + 32);
  }
  setMsi(vm: Vm, msi: Msi): number {
    if (((msi.flags ?? 0) & MSI_VALID_DEVID) === 0) fail(Errno.EINVAL, 'MSI without a device id');
    if (this.msiBlocked) return 0;
    this.queue(vm.vcpus[0], msi.data);
    return 1;
  }
}

/** A hypervisor, a VM with `n` vCPUs and (unless `irqchip: false`) a tiny controller installed. */
export function tinyVm(
  n = 1,
  opts: TinyOptions & Omit<CreateVmOptions, 'irqchip'> & { irqchip?: boolean; hv?: Hypervisor } = {},
): { hv: Hypervisor; vm: Vm; ctl: TinyController; vcpus: Vcpu[] } {
  const hv = opts.hv ?? new Hypervisor({ traceCapacity: 100_000 });
  const vm = hv.createVm({ name: opts.name, costProfile: opts.costProfile, seed: opts.seed, lookaheadNs: opts.lookaheadNs });
  const vcpus: Vcpu[] = [];
  for (let i = 0; i < n; i++) vcpus.push(vm.createVcpu());
  const ctl = new TinyController(vm, opts);
  if (opts.irqchip !== false) ctl.install();
  return { hv, vm, ctl, vcpus };
}
