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

/** The host interrupt model of one hypervisor. */
export class HostIrqModel {
  private readonly irqs: HostIrq[] = [];
  private static readonly BASE = 64;

  /** Allocates a host interrupt and returns it. */
  allocate(name: string, handler: ((irq: HostIrq) => void) | null = null): HostIrq {
    const irq: HostIrq = {
      irq: HostIrqModel.BASE + this.irqs.length,
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
    this.irqs.push(irq);
    return irq;
  }

  /** Looks up a host interrupt. @throws KvmError EINVAL for an unknown number */
  get(irq: number): HostIrq {
    const h = this.irqs[irq - HostIrqModel.BASE];
    if (!h) fail(Errno.EINVAL, `host IRQ ${irq} does not exist`);
    return h;
  }

  /** Whether `irq` exists. */
  has(irq: number): boolean {
    return irq >= HostIrqModel.BASE && irq - HostIrqModel.BASE < this.irqs.length;
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

  /** All host interrupts. */
  get all(): readonly HostIrq[] {
    return this.irqs;
  }
}
