/**
 * Types of the JSON documents the CLI prints (`list`, `run`, `compare`, `bench`, `sweep` with `--json`) and
 * writes (results.jsonl, Chrome traces), so the CLI tests read them typed rather than as `any`.
 */
import type { ChromeTrace } from '@irqflow/core';
import type { SweepRow } from '../../src/sweep/point';

export type { ChromeTrace, SweepRow };

/** A named entry of `list --json`. */
export interface Named {
  name: string;
}

/** `list --json`. */
export interface ListDoc {
  irqchips: Named[];
  workloads: Named[];
  profiles: Named[];
  plugins: string[];
}

/** `run --json`: the workload result. */
export interface RunDoc {
  irqchip: string;
  workload: string;
  status: string;
  interrupts: number;
  durationNs: number;
  exitsPerInterrupt: number;
  simNsPerInterrupt: number;
  exitsByReason: Record<string, number>;
  traps: Record<string, number>;
  lookaheadNs?: number;
  dump?: string;
}

/** One row of `compare --json`. */
export interface CompareRow {
  irqchip: string;
  interrupts: number;
  simNsPerInterrupt: number;
}

/** `compare --json`. */
export interface CompareDoc {
  rows: CompareRow[];
}

/** A row of `bench --json` (and of a `*.bench.js --json` suite). */
export interface BenchRow {
  name: string;
  [field: string]: number | string;
}

/** `bench --json`. */
export interface BenchDoc {
  benchmarks: BenchRow[];
}

/** The package.json fields the tests read. */
export interface PackageJson {
  version: string;
  bin: Record<string, string>;
}

/** `JSON.parse` of a document of the given (trusted: the CLI's own output) shape. */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
