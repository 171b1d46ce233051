/**
 * A minimal interrupt controller for the core benchmarks (not part of the public API): one fixed-size ring of
 * pending interrupt numbers per vCPU, an untrapped acknowledge register (ICC_IAR1_EL1, as GICv3's virtual CPU
 * interface serves it) and a trapped end-of-interrupt register (ICC_EOIR1_EL1). It allocates nothing per
 * interrupt, so the benchmark measures the core's run loop rather than the controller.
 *
 * @module
 */
import type { IrqchipFlow } from '../../flow/irqchip-flow';
import { SYSREGS } from '../../sysreg/sysreg-encoding';
import type { Vcpu } from '../../vm/vcpu';
import { VcpuSlot } from '../../vm/vcpu-slot';
import type { Vm } from '../../vm/vm';

const RING = 64;
const SPURIOUS = 1023;

/** Per-vCPU state: a ring of pending interrupt numbers and the active one. */
class BenchCpu {
  readonly ring = new Int32Array(RING);
  head = 0;
  count = 0;
  active = -1;
}

const BENCH_SLOT = new VcpuSlot<BenchCpu>('bench-fifo');

/** The benchmark controller. */
export class BenchFifoController implements IrqchipFlow {
  private readonly slot = BENCH_SLOT;
  /** Interrupts completed (EOI written) over all vCPUs. */
  completed = 0;
  /** Called after each completion (the benchmark re-arms its next injection here). */
  onComplete: ((vcpu: Vcpu, intid: number) => void) | null = null;

  /** @param vm - the VM to install on */
  constructor(private readonly vm: Vm) {}

  /** Installs the flow and the acknowledge / EOI registers. */
  install(): this {
    this.vm.setIrqchip(this, 'bench-fifo');
    this.vm.sysregs.register(SYSREGS.ICC_IAR1_EL1, { trapped: false, read: (v) => this.ack(v) });
    this.vm.sysregs.register(SYSREGS.ICC_EOIR1_EL1, { trapped: true, write: (v, lo) => this.eoi(v, lo) });
    return this;
  }

  /** Makes `intid` pending on `v` and kicks it. Drops the interrupt when the ring is full. */
  inject(v: Vcpu, intid: number): void {
    const c = this.slot.get(v);
    if (c.count === RING) return;
    c.ring[(c.head + c.count) % RING] = intid;
    c.count++;
    v.stats.injected++;
    this.vm.kickVcpu(v);
  }

  private ack(v: Vcpu): number {
    const c = this.slot.get(v);
    if (c.count === 0 || c.active >= 0) return SPURIOUS;
    const intid = c.ring[c.head];
    c.head = (c.head + 1) % RING;
    c.count--;
    c.active = intid;
    v.virq = false;
    v.stats.acked++;
    return intid;
  }

  private eoi(v: Vcpu, intid: number): void {
    const c = this.slot.get(v);
    if (c.active !== intid) return;
    c.active = -1;
    v.stats.completed++;
    this.completed++;
    if (this.onComplete !== null) this.onComplete(v, intid);
  }

  /** Sets up the vCPU's ring. */
  vcpuInit(v: Vcpu): void {
    this.slot.set(v, new BenchCpu());
  }

  /** Something is pending. */
  vcpuPendingIrq(v: Vcpu): boolean {
    return this.slot.get(v).count > 0;
  }

  /** Drives the virtual IRQ line from the ring. */
  vcpuFlushHwstate(v: Vcpu): void {
    const c = this.slot.get(v);
    v.virq = c.count > 0 && c.active < 0;
  }
}
