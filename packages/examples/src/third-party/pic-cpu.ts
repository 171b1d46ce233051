/**
 * Per-vCPU bank of the "pic" example controller: the state of the vCPU's private interrupts and of every
 * shared interrupt currently targeting it, as bitmaps of 32 words plus a one-word summary of the words that
 * hold a deliverable interrupt, so finding the highest-priority interrupt is two count-trailing-zeros and
 * never a scan. Priority is fixed by number (lower number wins), as in an 8259's fixed-priority mode.
 *
 * @module
 */
import type { Vcpu } from '@irqflow/core';

const WORDS = 32;

/** Index of the lowest set bit of a non-zero 32-bit value. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The state one vCPU's bank holds. */
export class PicCpu {
  /** PIC_CTLR.Enable. */
  ctlr = 0;
  /** Priority mask: only interrupts numbered below it are delivered (reset 0: nothing). */
  pmr = 0;
  /** Enabled. */
  readonly enabled = new Uint32Array(WORDS);
  /** Level-sensitive (1) or edge (0). */
  readonly trigger = new Uint32Array(WORDS);
  /** Input line level. */
  readonly line = new Uint32Array(WORDS);
  /** Pending latch (edges, PENDING_SET). */
  readonly latch = new Uint32Array(WORDS);
  /** Active (acknowledged, not yet completed). */
  readonly active = new Uint32Array(WORDS);
  /** Pending and enabled and not active. */
  readonly ready = new Uint32Array(WORDS);
  /** Bit w set when ready[w] != 0. */
  summary = 0;
  /** Host interrupt behind a mapped private interrupt (-1 = not mapped). */
  readonly hostIrq = new Int32Array(32).fill(-1);
  /** Line sampler of a mapped private interrupt. */
  readonly inputLevel: (((vcpu: Vcpu, intid: number) => boolean) | null)[] = new Array<((vcpu: Vcpu, intid: number) => boolean) | null>(
    32,
  ).fill(null);
  /** Owner token of a private interrupt claimed by an in-kernel device. */
  readonly owner: unknown[] = new Array(32).fill(null);

  /** Whether `intid` is pending (latch, or line for a level interrupt). */
  pending(intid: number): boolean {
    const w = intid >>> 5;
    const m = 1 << (intid & 31);
    return ((this.latch[w] | (this.line[w] & this.trigger[w])) & m) !== 0;
  }

  /** How many interrupts are pending (latched, or a high level line), enabled or not: 32 words, no allocation. */
  pendingCount(): number {
    let n = 0;
    for (let w = 0; w < WORDS; w++) {
      let x = this.latch[w] | (this.line[w] & this.trigger[w]);
      while (x !== 0) {
        x &= x - 1;
        n++;
      }
    }
    return n;
  }

  /** Recomputes word `w` of the ready bitmap and the summary. Returns true if it gained a bit. */
  update(w: number): boolean {
    const before = this.ready[w];
    const r = (this.latch[w] | (this.line[w] & this.trigger[w])) & this.enabled[w] & ~this.active[w];
    this.ready[w] = r;
    if (r !== 0) this.summary |= 1 << w;
    else this.summary &= ~(1 << w);
    return (r & ~before) !== 0;
  }

  /** The highest-priority ready interrupt, or -1. */
  highest(): number {
    const s = this.summary;
    if (s === 0) return -1;
    const w = ctz(s);
    return (w << 5) | ctz(this.ready[w]);
  }

  /** Whether an interrupt is deliverable: enabled bank and a ready interrupt below the priority mask. */
  deliverable(): boolean {
    if ((this.ctlr & 1) === 0 || this.summary === 0) return false;
    return this.highest() < this.pmr;
  }
}
