/**
 * Mapped (forwarded) trusted interrupts of one vCPU: the host interrupt behind an rVIC interrupt, the owner's
 * input-level callback and the owner token (the 2020 series' map_phys_irq / set_owner for rVIC, references
 * §2; ARM-DEN-0103 RESAMPLE semantics for trusted level interrupts). The arch timer uses this: RESAMPLE
 * samples its line through `getInputLevel` and, when the line is low, releases the host interrupt's active
 * state so the next expiry can fire.
 *
 * @module
 */
import type { GetInputLevel } from '@irqflow/core';

/** The mapped-interrupt table of one vCPU (indexed by trusted intid). */
export class RvicMapped {
  /** Host IRQ per interrupt (−1 = not mapped). */
  readonly hostIrq: Int32Array;
  /** The owner's line sampler per interrupt (null = use the stored line). */
  readonly getLevel: (GetInputLevel | null)[];
  /** Owner token per interrupt (undefined = unclaimed). */
  readonly owner: unknown[];

  /** @param nrTrusted - number of trusted interrupts */
  constructor(nrTrusted: number) {
    this.hostIrq = new Int32Array(nrTrusted).fill(-1);
    this.getLevel = new Array<GetInputLevel | null>(nrTrusted).fill(null);
    this.owner = new Array<unknown>(nrTrusted).fill(undefined);
  }

  /** Whether `intid` is mapped to a host interrupt. */
  isMapped(intid: number): boolean {
    return intid < this.hostIrq.length && this.hostIrq[intid] >= 0;
  }
}
