/**
 * Helpers shared by every package's benchmarks (`npm run bench`): wall-clock timing, a median of repeated
 * rate measurements, and the minimal hand-written baseline that interrupt benchmarks are reported against —
 * the same logical work as one interrupt (queue its INTID, take it off the queue, count it) with nothing of
 * the model around it. Figures are ratios against a baseline measured in the same run, never absolute claims.
 *
 * @module
 */

/** One benchmark figure in the `{"benchmarks":[…]}` JSON that `irqflow bench` merges. */
export interface BenchmarkEntry {
  /** Benchmark name. */
  name: string;
  /** Measured rate of the model. */
  value: number;
  /** Unit of `value` and `baseline`. */
  unit: string;
  /** Rate of the minimal baseline doing the same logical work, measured in the same run. */
  baseline: number;
  /** value / baseline. */
  ratio: number;
}

/** Seconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function elapsedSeconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** The median of `runs` results of `measure` (e.g. rates). */
export function medianOf(runs: number, measure: () => number): number {
  const r: number[] = [];
  for (let i = 0; i < runs; i++) r.push(measure());
  r.sort((a, b) => a - b);
  return r[r.length >> 1];
}

let sink = 0;

/**
 * The minimal interrupt baseline: `n` times push an INTID into a 64-entry ring, pop it and count it.
 * @returns interrupts per second
 */
export function fifoBaselineRate(n: number): number {
  const ring = new Int32Array(64);
  let head = 0;
  let count = 0;
  let done = 0;
  const t = process.hrtime.bigint();
  for (let i = 1; i <= n; i++) {
    ring[(head + count) & 63] = 32 + (i & 63);
    count++;
    const id = ring[head];
    head = (head + 1) & 63;
    count--;
    if (id >= 32) done++;
  }
  const s = elapsedSeconds(t);
  sink += done; // keeps the loop observable so it is not optimised away
  return sink > 0 ? done / s : 0;
}
