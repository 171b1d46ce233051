/**
 * `irqflow bench`: runs every compiled benchmark suite (packages/*\/dist/bench/*.bench.js) with `--json`, each in
 * its own node process, and merges their `{"benchmarks":[…]}` documents into one.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One benchmark result. */
export interface BenchmarkEntry {
  /** Name. */
  name: string;
  /** Measured value. */
  value: number;
  /** Unit of value. */
  unit: string;
  /** The minimal baseline measured in the same run. */
  baseline: number;
  /** value / baseline. */
  ratio: number;
  /** Whether a higher or a lower value is better ("higher" / "lower"). */
  better?: 'higher' | 'lower';
  /** The smallest of the model's repetitions. */
  min?: number;
  /** Their median (= value). */
  median?: number;
  /** The largest. */
  max?: number;
}

/** The merged document plus the suites that failed. */
export interface BenchReport {
  /** All benchmarks. */
  benchmarks: BenchmarkEntry[];
  /** Suites that failed or printed no JSON. */
  errors: { file: string; message: string }[];
}

/** The compiled benchmark files (`*.bench.js`) under `root`/packages; other files there are their helper modules. */
export function benchFiles(root: string): string[] {
  const pk = path.join(root, 'packages');
  const out: string[] = [];
  for (const p of fs.existsSync(pk) ? fs.readdirSync(pk).sort() : []) {
    const d = path.join(pk, p, 'dist', 'bench');
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.bench.js')) out.push(path.join(d, f));
  }
  return out;
}

/** Runs the suites (optionally only benchmarks whose name or file contains `filter`). */
export function runBenches(root: string, filter?: string, onFile?: (file: string, i: number, n: number) => void): BenchReport {
  const files = benchFiles(root);
  const report: BenchReport = { benchmarks: [], errors: [] };
  files.forEach((file, i) => {
    onFile?.(file, i, files.length);
    const rel = path.relative(root, file);
    // a filter naming the file selects all of its rows; otherwise the suite skips the rows (and work) it does not match
    const pass = filter && !rel.includes(filter) ? ['--filter', filter] : [];
    const r = spawnSync(process.execPath, [file, '--json', ...pass], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) {
      report.errors.push({ file: rel, message: `exit ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop() ?? ''}` });
      return;
    }
    try {
      const doc = JSON.parse(r.stdout) as { benchmarks?: BenchmarkEntry[] };
      if (!Array.isArray(doc.benchmarks)) throw new Error('no "benchmarks" array');
      for (const b of doc.benchmarks) {
        if (filter && !b.name.includes(filter) && !rel.includes(filter)) continue;
        report.benchmarks.push({
          name: b.name,
          value: b.value,
          unit: b.unit,
          baseline: b.baseline,
          ratio: b.ratio,
          better: b.better,
          min: b.min,
          median: b.median,
          max: b.max,
        });
      }
    } catch (e) {
      report.errors.push({ file: rel, message: `invalid JSON output: ${(e as Error).message}` });
    }
  });
  return report;
}
