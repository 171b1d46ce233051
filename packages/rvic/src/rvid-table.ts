/**
 * The rVID (ARM-DEN-0103 §"rVID"): one VM-wide table translating an input (a wire from a device, or an MSI
 * payload) into (target vCPU, untrusted interrupt). The series sized it with one input per untrusted
 * interrupt; this model does the same and splits it in two ranges (package README, "MSIs"):
 * wired inputs [0, nrWired) reached by KVM_IRQ_LINE (SPI type) and irqchip routes, and MSI inputs
 * [nrWired, nrInputs) reached only by an MSI to the doorbell. Every input also carries a line level, the
 * basis of level-sensitive inputs (README, "Level INTx").
 *
 * @module
 */

const NONE = -1;

/** The VM-wide rVID translation table. */
export class RvidTable {
  /** Target vCPU index per input (−1 = unmapped). */
  readonly targetOf: Int32Array;
  /** Target interrupt per input. */
  readonly intidOf: Int32Array;
  /** Line level per input (1 = high). */
  readonly level: Uint8Array;
  /** Edges/MSIs dropped because their input was unmapped. */
  dropped = 0;

  /**
   * @param nrInputs - number of inputs (= number of untrusted interrupts)
   * @param nrWired - inputs below this are wired; the rest are MSI inputs
   */
  constructor(
    readonly nrInputs: number,
    readonly nrWired: number,
  ) {
    this.targetOf = new Int32Array(nrInputs).fill(NONE);
    this.intidOf = new Int32Array(nrInputs).fill(NONE);
    this.level = new Uint8Array(nrInputs);
  }

  /** First MSI input. */
  get msiFirst(): number {
    return this.nrWired;
  }

  /** Number of MSI inputs. */
  get nrMsi(): number {
    return this.nrInputs - this.nrWired;
  }

  /** Whether `input` is a valid input number. */
  valid(input: number): boolean {
    return Number.isInteger(input) && input >= 0 && input < this.nrInputs;
  }

  /** Whether `input` is a wired input. */
  isWired(input: number): boolean {
    return Number.isInteger(input) && input >= 0 && input < this.nrWired;
  }

  /** Whether `input` is an MSI input. */
  isMsi(input: number): boolean {
    return Number.isInteger(input) && input >= this.nrWired && input < this.nrInputs;
  }

  /** Whether `input` is mapped. */
  mapped(input: number): boolean {
    return this.targetOf[input] !== NONE;
  }

  /** Sets the route of `input`. */
  set(input: number, vcpuIndex: number, intid: number): void {
    this.targetOf[input] = vcpuIndex;
    this.intidOf[input] = intid;
  }

  /** Removes the route of `input`. */
  clear(input: number): void {
    this.targetOf[input] = NONE;
    this.intidOf[input] = NONE;
  }

  /** The mapped inputs as [input, vCPU index, intid] rows (dumps; allocates). */
  entries(): [number, number, number][] {
    const out: [number, number, number][] = [];
    for (let i = 0; i < this.nrInputs; i++) if (this.targetOf[i] !== NONE) out.push([i, this.targetOf[i], this.intidOf[i]]);
    return out;
  }
}
