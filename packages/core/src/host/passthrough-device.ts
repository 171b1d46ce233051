/**
 * A VFIO-like passthrough PCI endpoint with MSI-X vectors. Each vector is backed by a host interrupt; the VMM
 * attaches an eventfd to a vector (VFIO_DEVICE_SET_IRQS) which the host handler signals when the vector
 * fires, and the vector registers as an irq-bypass producer with that eventfd as its token, so an irqfd on the
 * same eventfd can have the interrupt forwarded directly to the guest (GICv4). The MSI-X table holds what the
 * guest programmed (address, data, mask): several vectors may carry the same message — the shared-vLPI case of
 * seed 001.
 *
 * @module
 */
import { Errno, fail } from '../errno';
import type { EventFd } from '../irq/eventfd';
import type { HostIrq, HostIrqModel } from './host-irq';
import type { IrqBypassManager, IrqBypassProducer } from './irq-bypass';

/** One MSI-X vector. */
export interface MsixVector {
  /** Vector index. */
  readonly index: number;
  /** The host interrupt behind it. */
  readonly hostIrq: HostIrq;
  /** Guest-programmed message address. */
  address: number;
  /** Guest-programmed message data. */
  data: number;
  /** Guest-programmed mask bit. */
  masked: boolean;
  /** The eventfd the VMM attached (VFIO_DEVICE_SET_IRQS), if any. */
  trigger: EventFd | null;
  /** The irq-bypass producer registered for the trigger. */
  producer: IrqBypassProducer | null;
  /** Times the device raised this vector. */
  raised: number;
}

/** A passthrough device. */
export class PassthroughDevice {
  /** The vectors. */
  readonly vectors: MsixVector[] = [];
  private gone = false;

  /**
   * @param name - device name
   * @param requesterId - PCI requester id (the ITS DeviceID the VMM uses for its MSIs)
   * @param nrVectors - MSI-X table size
   * @param hostIrqs - the host interrupt model
   * @param bypass - the irq-bypass manager
   */
  constructor(
    readonly name: string,
    readonly requesterId: number,
    nrVectors: number,
    private readonly hostIrqs: HostIrqModel,
    private readonly bypass: IrqBypassManager,
  ) {
    if (!Number.isInteger(nrVectors) || nrVectors < 1 || nrVectors > 2048) fail(Errno.EINVAL, `bad MSI-X table size ${nrVectors}`);
    for (let i = 0; i < nrVectors; i++) {
      const v: MsixVector = {
        index: i,
        hostIrq: hostIrqs.allocate(`${name}/msix${i}`),
        address: 0,
        data: 0,
        masked: true,
        trigger: null,
        producer: null,
        raised: 0,
      };
      // vfio_msihandler: signal the trigger; an MSI is edge, so the host interrupt completes at once.
      v.hostIrq.handler = (h) => {
        v.trigger?.signal(1);
        this.hostIrqs.setIrqchipState(h.irq, 1 /* Active */, false);
      };
      this.vectors.push(v);
    }
  }

  private vector(i: number): MsixVector {
    const v = this.vectors[i];
    if (!v) fail(Errno.EINVAL, `${this.name} has no MSI-X vector ${i}`);
    return v;
  }

  /** The guest programs an MSI-X table entry (trapped to the VMM on real hardware). */
  programVector(i: number, address: number, data: number, masked = false): void {
    const v = this.vector(i);
    v.address = address;
    v.data = data;
    v.masked = masked;
  }

  /**
   * VFIO_DEVICE_SET_IRQS: attach (or with null, detach) the eventfd of vector `i`, registering (unregistering)
   * the vector as an irq-bypass producer with the eventfd as token.
   */
  setTrigger(i: number, fd: EventFd | null): void {
    const v = this.vector(i);
    if (v.producer) {
      this.bypass.unregisterProducer(v.producer);
      v.producer = null;
    }
    v.trigger = fd;
    if (fd) {
      v.producer = { token: fd, irq: v.hostIrq.irq };
      this.bypass.registerProducer(v.producer);
    }
  }

  /** The device raises vector `i` (dropped while the guest masked it, as MSI-X pending-bit semantics allow). */
  raise(i: number): void {
    const v = this.vector(i);
    v.raised++;
    if (v.masked) {
      v.hostIrq.pending = true;
      return;
    }
    this.hostIrqs.raise(v.hostIrq.irq);
  }

  /** Detaches every trigger (device release). */
  release(): void {
    for (let i = 0; i < this.vectors.length; i++) this.setTrigger(i, null);
  }

  /** Whether {@link destroy} ran. */
  get destroyed(): boolean {
    return this.gone;
  }

  /**
   * Closes the device (the VMM closes its VFIO device fd): detaches every trigger and gives every vector's host
   * interrupt back to the hypervisor (vfio_msi_disable → free_irq). A forwarded vector must have been
   * unforwarded first (the irqfd deassigned), as the irq-bypass producer is gone. Idempotent.
   * @example
   * ```ts
   * const nic = hv.createPassthroughDevice('nic', 0x10, 4);
   * // … VFIO_DEVICE_SET_IRQS, irqfds, run the VM …
   * nic.destroy(); // its 4 host interrupts are free again
   * ```
   */
  destroy(): void {
    if (this.gone) return;
    this.release();
    for (const v of this.vectors) if (this.hostIrqs.has(v.hostIrq.irq)) this.hostIrqs.free(v.hostIrq.irq);
    this.gone = true;
  }
}
