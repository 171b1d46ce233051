/**
 * Helpers shared by every package's benchmarks (`npm run bench`): wall-clock timing, warm-up to steady state,
 * interleaved model/baseline repetitions reported as min/median/max, the row format `irqflow bench --json`
 * merges, and the ONE minimal hand-written interrupt loop every interrupt benchmark is reported against.
 *
 * The minimal loop does the logical work of one virtual interrupt with nothing of the model around it: inject
 * (set a pending bit, queue the INTID), flush it into a list register (pending), acknowledge (list register
 * pending → active, read the INTID) and EOI (active → invalid, count it) — the GICv3 list-register life cycle
 * (Arm IHI 0069, 11.2 "ICH_LR<n>_EL2") in a few typed-array stores. Figures are ratios against it measured in
 * the same process, interleaved with the model's repetitions, never absolute claims.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';

/** Which direction of a figure is better. */
export type Better = 'higher' | 'lower';

/** One benchmark figure in the `{"benchmarks":[…]}` JSON that `irqflow bench` merges. */
export interface BenchmarkEntry {
  /** Benchmark name. */
  name: string;
  /** The model's figure: the median of its repetitions. */
  value: number;
  /** Unit of `value`, `min`, `median`, `max` and `baseline`. */
  unit: string;
  /** The reference figure (the median of its repetitions, measured interleaved with the model's). */
  baseline: number;
  /** value / baseline. */
  ratio: number;
  /** Whether a higher or a lower `value` (and `ratio`) is better. */
  better: Better;
  /** The model's smallest repetition. */
  min: number;
  /** The model's median repetition (= value). */
  median: number;
  /** The model's largest repetition. */
  max: number;
}

/** Smallest, median and largest of some repetitions. */
export interface Spread {
  /** Smallest. */
  min: number;
  /** Median (the upper one of an even count). */
  median: number;
  /** Largest. */
  max: number;
}

/** Seconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function elapsedSeconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** min/median/max of `xs` (not modified). @throws RangeError for an empty list */
export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new RangeError('spread of no repetitions');
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[s.length >> 1], max: s[s.length - 1] };
}

/** The median of `runs` results of `measure` (e.g. rates). */
export function medianOf(runs: number, measure: () => number): number {
  const r: number[] = [];
  for (let i = 0; i < runs; i++) r.push(measure());
  return spread(r).median;
}

/** How long {@link warmUp} repeats a measurement. */
export interface WarmUpOptions {
  /** Keep repeating for at least this long (default 300 ms). */
  minMs?: number;
  /** Stop after this long even if not steady (default 3,000 ms). */
  maxMs?: number;
  /** Steady = the last three results within this fraction of their median (default 0.05). */
  tolerance?: number;
}

/**
 * Repeats `measure` until V8 has optimised what it runs: at least `minMs`, and until its last three results
 * agree within `tolerance` (or `maxMs` has passed). @returns the number of repetitions run
 */
export function warmUp(measure: () => number, o: WarmUpOptions = {}): number {
  const minMs = o.minMs ?? 300;
  const maxMs = o.maxMs ?? 3000;
  const tol = o.tolerance ?? 0.05;
  const t0 = performance.now();
  const last: number[] = [];
  let reps = 0;
  for (;;) {
    last.push(measure());
    reps++;
    if (last.length > 3) last.shift();
    const ms = performance.now() - t0;
    if (ms >= maxMs) return reps;
    if (ms >= minMs && last.length === 3) {
      const m = spread(last).median;
      if (last.every((x) => Math.abs(x - m) <= tol * Math.abs(m))) return reps;
    }
  }
}

/** Options of {@link interleaved}. */
export interface InterleaveOptions {
  /** Measured repetitions of each (default 5). */
  reps?: number;
  /** Warm-up of each before the first measured repetition (see {@link warmUp}). */
  warmUp?: WarmUpOptions;
}

/**
 * Warms `model` and `reference` up, then measures them alternately (model, reference, model, …) so machine
 * noise hits both alike. @returns both lists of results, in measurement order
 */
export function interleaved(
  model: () => number,
  reference: () => number,
  o: InterleaveOptions = {},
): { model: number[]; reference: number[] } {
  const reps = o.reps ?? 5;
  warmUp(model, o.warmUp);
  warmUp(reference, o.warmUp);
  const m: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < reps; i++) {
    m.push(model());
    r.push(reference());
  }
  return { model: m, reference: r };
}

/**
 * A row from the model's repetitions and the reference figure: value = the median, ratio = value / baseline.
 * @example
 * const { model, reference } = interleaved(() => myRate(50_000), () => minimalIrqRate(1_000_000));
 * rows.push(benchRow('my shape', 'irq/s', 'higher', model, spread(reference).median));
 */
export function benchRow(name: string, unit: string, better: Better, model: readonly number[], baseline: number): BenchmarkEntry {
  const s = spread(model);
  return { name, value: s.median, unit, baseline, ratio: s.median / baseline, better, min: s.min, median: s.median, max: s.max };
}

let sink = 0;

/**
 * The minimal interrupt loop, `n` interrupts: inject (pending bit + ap_list ring) → flush into a list register →
 * acknowledge (pending → active) → EOI (active → invalid) → count. Run it through {@link interleaved} (or
 * {@link warmUp}) so it is measured at steady state; cold, it runs 20× slower.
 * @returns interrupts per second
 */
export function minimalIrqRate(n: number): number {
  const pending = new Uint8Array(1024);
  const apList = new Int32Array(64);
  const lrs = new Int32Array(4);
  const LR_PENDING = 1 << 28;
  const LR_ACTIVE = 2 << 28;
  let head = 0;
  let tail = 0;
  let done = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const intid = 32 + (i & 511);
    if (pending[intid] === 0) {
      pending[intid] = 1; // inject
      apList[tail] = intid;
      tail = (tail + 1) & 63;
    }
    const q = apList[head]; // flush
    head = (head + 1) & 63;
    pending[q] = 0;
    lrs[i & 3] = q | LR_PENDING;
    const lr = lrs[i & 3]; // acknowledge
    const acked = lr & 0xffff;
    lrs[i & 3] = acked | LR_ACTIVE;
    if ((lrs[i & 3] & 0xffff) === acked) {
      lrs[i & 3] = 0; // EOI
      done++;
    }
  }
  const s = elapsedSeconds(t);
  sink += done; // keeps the loop observable so it is not optimised away
  return sink > 0 ? done / s : 0;
}

/** Interrupts per call of {@link minimalIrqRate} that the benchmarks use (a few ms at steady state). */
export const MINIMAL_LOOP_IRQS = 2_000_000;

/** The options every benchmark script takes. */
export interface BenchArgs {
  /** `--json`: print one JSON document and nothing else on stdout. */
  json: boolean;
  /** `--quick`: shorter runs (tests use it). */
  quick: boolean;
  /** `--filter NAME` / `--filter=NAME`: only rows whose name contains it. */
  filter?: string;
}

/** Parses {@link BenchArgs} out of a benchmark script's arguments (others are left to the script). */
export function benchArgs(argv: readonly string[]): BenchArgs {
  let filter: string | undefined;
  const i = argv.indexOf('--filter');
  if (i >= 0 && i + 1 < argv.length) filter = argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--filter='));
  if (eq) filter = eq.slice('--filter='.length);
  return { json: argv.includes('--json'), quick: argv.includes('--quick'), filter };
}

function fmt(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)} k`;
  if (a >= 100) return x.toFixed(0);
  return x.toPrecision(3);
}

/** The rows as a table: name, median [min–max] unit, baseline, ratio and which way is better. */
export function formatRows(rows: readonly BenchmarkEntry[]): string {
  const w = Math.max(9, ...rows.map((r) => r.name.length));
  const lines = [`${'benchmark'.padEnd(w)}  ${'median [min – max]'.padEnd(34)}  ${'baseline'.padEnd(18)}  ratio`];
  for (const r of rows) {
    const v = `${fmt(r.median)} [${fmt(r.min)} – ${fmt(r.max)}] ${r.unit}`;
    lines.push(
      `${r.name.padEnd(w)}  ${v.padEnd(34)}  ${`${fmt(r.baseline)} ${r.unit}`.padEnd(18)}  ${r.ratio.toPrecision(3)} (${r.better} is better)`,
    );
  }
  return lines.join('\n');
}

/**
 * Prints a benchmark script's result: `{"benchmarks":[…], …extra}` as one JSON line with `--json`, else the table
 * (and `extra` is not printed). Rows are filtered by `--filter`. @returns the rows printed
 */
export function printBench(args: BenchArgs, rows: readonly BenchmarkEntry[], extra: Record<string, unknown> = {}): BenchmarkEntry[] {
  const out = args.filter ? rows.filter((r) => r.name.includes(args.filter!)) : [...rows];
  if (args.json) process.stdout.write(JSON.stringify({ benchmarks: out, ...extra }) + '\n');
  else console.log(formatRows(out));
  return out;
}

/**
 * Runs scenario `i` of the benchmark script `file` in a fresh node process (`file --scenario=i --json …args`), so
 * V8 optimises the model for that scenario's VMs alone, and returns its rows.
 * @throws Error if the process fails or prints no rows
 * @example
 * // in a benchmark script: `--scenario=N` runs one scenario here, otherwise each in a child of its own
 * const only = scenarioArg(argv);
 * const rows = only !== undefined ? runScenario(only) : [0, 1, 2].flatMap((i) => scenarioInChild(__filename, i));
 */
export function scenarioInChild(file: string, i: number, args: readonly string[] = []): BenchmarkEntry[] {
  const r = spawnSync(process.execPath, [file, `--scenario=${i}`, '--json', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`scenario ${i} failed (${r.signal ?? `exit ${r.status}`})`);
  return (JSON.parse(r.stdout) as { benchmarks: BenchmarkEntry[] }).benchmarks;
}

/** `--scenario=N` of a benchmark script's arguments, or undefined. */
export function scenarioArg(argv: readonly string[]): number | undefined {
  const a = argv.find((x) => x.startsWith('--scenario='));
  return a === undefined ? undefined : Number(a.slice('--scenario='.length));
}
