/**
 * The host side of interrupt virtualization, controller-neutral: host interrupt numbers with the pending,
 * active and masked state that Linux exposes through irq_get/set_irqchip_state, an affinity, and a host
 * handler. A mapped (forwarded) virtual interrupt is backed by one of these: the guest's deactivation of the
 * virtual interrupt deactivates the host one (the LR HW bit), and while it is active the host line does not
 * fire again — the behaviour seed 000's mapped level interrupts depend on.
 *
 * @module
 */
import { Errno, fail } from '../errno';

/** irq_get/set_irqchip_state "which" values. */
export enum IrqchipState {
  /** Pending. */
  Pending = 0,
  /** Active. */
  Active = 1,
  /** Masked. */
  Masked = 2,
}

/** A host interrupt. */
export interface HostIrq {
  /** Host IRQ number. */
  readonly irq: number;
  /** Name (e.g. "vtimer/vcpu0"). */
  readonly name: string;
  /** Pending state. */
  pending: boolean;
  /** Active state. */
  active: boolean;
  /** Masked state. */
  masked: boolean;
  /** Times the host handler ran. */
  fired: number;
  /** The host handler (runs when the line fires while not active or masked). */
  handler: ((irq: HostIrq) => void) | null;
  /** Opaque affinity (e.g. the vCPU a forwarded interrupt follows). */
  affinity: unknown;
  /**
   * Set while the interrupt is forwarded to a guest by the interrupt controller hardware (GICv4: the physical
   * LPI is mapped to a vLPI). Raising it then calls this instead of the host handler: no host involvement.
   */
  forward: ((irq: HostIrq) => void) | null;
  /** Times it was delivered through {@link forward}. */
  forwarded: number;
}

/**
 * The host interrupt model of one hypervisor. Numbers are handed out from {@link HostIrqModel.BASE} on and given
 * back with {@link free} (irq_domain_free_irqs): a freed number is reused by the next allocation, lowest first,
 * so a long-lived hypervisor that creates and destroys VMs keeps a bounded table and holds no reference to a
 * destroyed VM's handlers.
 */
export class HostIrqModel {
  private readonly irqs: (HostIrq | null)[] = [];
  /** Freed numbers (as table indices), kept sorted highest first so `pop()` reuses the lowest. */
  private readonly freed: number[] = [];
  private live = 0;
  /** The first host interrupt number. */
  static readonly BASE = 64;

  /**
   * Allocates a host interrupt and returns it.
   * @example
   * ```ts
   * const h = hv.hostIrqs.allocate('mydev/irq0', (irq) => console.log('fired', irq.irq));
   * hv.hostIrqs.raise(h.irq);   // runs the handler, the interrupt is now active
   * hv.hostIrqs.free(h.irq);    // given back: the number may be reused
   * ```
   */
  allocate(name: string, handler: ((irq: HostIrq) => void) | null = null): HostIrq {
    const idx = this.freed.length > 0 ? this.freed.pop()! : this.irqs.length;
    const irq: HostIrq = {
      irq: HostIrqModel.BASE + idx,
      name,
      pending: false,
      active: false,
      masked: false,
      fired: 0,
      handler,
      affinity: null,
      forward: null,
      forwarded: 0,
    };
    this.irqs[idx] = irq;
    this.live++;
    return irq;
  }

  /**
   * Gives host interrupt `irq` back: it stops existing (get/raise answer EINVAL, {@link has} is false), its
   * handler, forwarding hook and affinity are dropped, and its number is free for the next allocation.
   * @throws KvmError EINVAL for a number that is not allocated
   */
  free(irq: number): void {
    const h = this.get(irq);
    h.handler = null;
    h.forward = null;
    h.affinity = null;
    const idx = irq - HostIrqModel.BASE;
    this.irqs[idx] = null;
    this.live--;
    // keep `freed` sorted descending: the lowest free number is reused first (deterministic numbering)
    let i = this.freed.length;
    this.freed.push(idx);
    while (i > 0 && this.freed[i - 1] < idx) {
      this.freed[i] = this.freed[i - 1];
      i--;
    }
    this.freed[i] = idx;
  }

  /** Number of allocated host interrupts. */
  get count(): number {
    return this.live;
  }

  /** Looks up a host interrupt. @throws KvmError EINVAL for an unknown number */
  get(irq: number): HostIrq {
    const h = this.irqs[irq - HostIrqModel.BASE];
    if (!h) fail(Errno.EINVAL, `host IRQ ${irq} does not exist`);
    return h;
  }

  /** Whether `irq` exists. */
  has(irq: number): boolean {
    return irq >= HostIrqModel.BASE && irq - HostIrqModel.BASE < this.irqs.length && this.irqs[irq - HostIrqModel.BASE] !== null;
  }

  /**
   * The device raises the line: if the interrupt is neither active nor masked the host handler runs with the
   * interrupt active (it stays active until deactivated); otherwise it stays pending.
   */
  raise(irq: number): void {
    const h = this.get(irq);
    if (h.forward !== null && !h.masked) {
      h.forwarded++;
      h.forward(h);
      return;
    }
    if (h.active || h.masked || !h.handler) {
      h.pending = true;
      return;
    }
    h.pending = false;
    h.active = true;
    h.fired++;
    h.handler(h);
  }

  /** irq_get_irqchip_state. */
  getIrqchipState(irq: number, which: IrqchipState): boolean {
    const h = this.get(irq);
    return which === IrqchipState.Pending ? h.pending : which === IrqchipState.Active ? h.active : h.masked;
  }

  /** irq_set_irqchip_state. Clearing Active with the line still pending fires the handler again. */
  setIrqchipState(irq: number, which: IrqchipState, value: boolean): void {
    const h = this.get(irq);
    if (which === IrqchipState.Pending) h.pending = value;
    else if (which === IrqchipState.Masked) h.masked = value;
    else {
      h.active = value;
      if (!value && h.pending && !h.masked && h.handler) this.raise(irq);
    }
  }

  /** All allocated host interrupts, in number order. */
  get all(): readonly HostIrq[] {
    return this.irqs.filter((h): h is HostIrq => h !== null);
  }
}
