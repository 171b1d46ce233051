/**
 * A model of a Linux eventfd: a 64-bit counter that listeners are told about when it is signalled. irqfds,
 * resamplefds and ioeventfds are eventfds. Signalling runs listeners synchronously (the model has no threads),
 * which is where KVM would run its irqfd wakeup.
 *
 * @module
 */

/** Listener called on each signal with the eventfd. */
export type EventFdListener = (fd: EventFd) => void;

/** An eventfd. */
export class EventFd {
  /** The counter (number of signals not yet consumed by {@link read}). */
  count = 0;
  /** Total signals ever. */
  signals = 0;
  private listeners: EventFdListener[] = [];

  /** @param name - a label for dumps */
  constructor(readonly name = 'eventfd') {}

  /** Adds `n` to the counter and notifies listeners (an eventfd write). */
  signal(n = 1): void {
    this.count += n;
    this.signals += n;
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i](this);
  }

  /** Returns and clears the counter (an eventfd read). */
  read(): number {
    const c = this.count;
    this.count = 0;
    return c;
  }

  /** Subscribes a listener; returns a function that unsubscribes it. */
  listen(l: EventFdListener): () => void {
    this.listeners = [...this.listeners, l];
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }
}
