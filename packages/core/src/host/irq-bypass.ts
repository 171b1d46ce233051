/**
 * The irq-bypass manager (Linux virt/lib/irqbypass.c): pairs interrupt *producers* (a passthrough device's
 * MSI-X vector, i.e. a host interrupt) with *consumers* (a KVM irqfd) that share a token (the eventfd).
 * When both sides of a token exist they are connected: the consumer's `addProducer` runs — for KVM on arm64,
 * kvm_arch_irq_bypass_add_producer, which asks the interrupt controller to forward the host interrupt straight
 * to the guest (GICv4 vLPI mapping). Disconnecting runs `delProducer`. Controller-neutral: core knows only
 * tokens, host IRQ numbers and the two callbacks.
 *
 * @module
 */
import { Errno, fail } from '../errno';

/** A producer: a host interrupt that could be delivered directly to a guest. */
export interface IrqBypassProducer {
  /** Pairing token (the eventfd the producer signals). */
  readonly token: object;
  /** The host IRQ number. */
  readonly irq: number;
}

/** A consumer: something that injects into a guest when the token is signalled. */
export interface IrqBypassConsumer {
  /** Pairing token. */
  readonly token: object;
  /** A producer with the same token appeared. Throwing (KvmError) leaves the pair unconnected. */
  addProducer(producer: IrqBypassProducer): void;
  /** The connected producer is going away (or this consumer is). */
  delProducer(producer: IrqBypassProducer): void;
}

/** The manager of one hypervisor. */
export class IrqBypassManager {
  private readonly producers = new Map<object, IrqBypassProducer>();
  private readonly consumers = new Map<object, IrqBypassConsumer>();
  private readonly connected = new Set<object>();
  /** Connections that failed (the consumer refused the producer). */
  failedConnects = 0;

  /** Registers a producer. @throws KvmError EBUSY if the token already has a producer */
  registerProducer(p: IrqBypassProducer): void {
    if (this.producers.has(p.token)) fail(Errno.EBUSY, 'the token already has an irq-bypass producer');
    this.producers.set(p.token, p);
    this.connect(p.token);
  }

  /** Unregisters a producer (disconnecting it first). */
  unregisterProducer(p: IrqBypassProducer): void {
    if (this.producers.get(p.token) !== p) return;
    this.disconnect(p.token);
    this.producers.delete(p.token);
  }

  /** Registers a consumer. @throws KvmError EBUSY if the token already has a consumer */
  registerConsumer(c: IrqBypassConsumer): void {
    if (this.consumers.has(c.token)) fail(Errno.EBUSY, 'the token already has an irq-bypass consumer');
    this.consumers.set(c.token, c);
    this.connect(c.token);
  }

  /** Unregisters a consumer (disconnecting it first). */
  unregisterConsumer(c: IrqBypassConsumer): void {
    if (this.consumers.get(c.token) !== c) return;
    this.disconnect(c.token);
    this.consumers.delete(c.token);
  }

  /** Whether the producer and consumer of `token` are connected. */
  isConnected(token: object): boolean {
    return this.connected.has(token);
  }

  /** The producer connected to `token`'s consumer, if any. */
  producerOf(token: object): IrqBypassProducer | undefined {
    return this.connected.has(token) ? this.producers.get(token) : undefined;
  }

  private connect(token: object): void {
    const p = this.producers.get(token);
    const c = this.consumers.get(token);
    if (!p || !c || this.connected.has(token)) return;
    try {
      c.addProducer(p);
      this.connected.add(token);
    } catch {
      this.failedConnects++;
    }
  }

  private disconnect(token: object): void {
    if (!this.connected.has(token)) return;
    this.connected.delete(token);
    const p = this.producers.get(token)!;
    this.consumers.get(token)!.delProducer(p);
  }
}
