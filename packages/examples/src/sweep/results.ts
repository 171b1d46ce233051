/**
 * The sweep's output directory: results.jsonl (one JSON row per point) is appended as points finish — it is
 * the record an interrupted sweep resumes from (a torn last line is ignored) — and at the end both
 * results.jsonl and results.csv are rewritten in point order, so the files are the same however the points
 * were run (threads, queue workers, several resumes).
 *
 * CSV columns: the inputs (irqchip, workload, profile, vcpus, lrs, seed, durationNs), then status, sent,
 * interrupts, exits, exitsPerInterrupt, simNsPerInterrupt, message, one `exits.<reason>` column per exit
 * reason seen and one `cost.<item>` column per cost-breakdown item seen.
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { io } from '../cli/exit-codes';
import { pointKey, type SweepPoint, type SweepRow } from './point';

/** File names in the output directory. */
export const RESULT_FILES = { jsonl: 'results.jsonl', csv: 'results.csv' } as const;

/** The rows already in `dir`'s results.jsonl, by point key (empty when there is none). */
export function readFinished(dir: string): Map<string, SweepRow> {
  const file = path.join(dir, RESULT_FILES.jsonl);
  const rows = new Map<string, SweepRow>();
  if (!fs.existsSync(file)) return rows;
  const text = io(`reading ${file}`, () => fs.readFileSync(file, 'utf8'));
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as SweepRow;
      if (r && typeof r.irqchip === 'string' && typeof r.seed === 'number') rows.set(pointKey(r), r);
    } catch {
      // a line torn by an interrupted write: that point runs again
    }
  }
  return rows;
}

/** Creates the directory (or fails with an I/O error before anything runs). */
export function prepareOut(dir: string): void {
  io(`cannot create --out directory ${dir}`, () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  });
}

/** Appends one finished row to results.jsonl. */
export function appendRow(dir: string, row: SweepRow): void {
  const file = path.join(dir, RESULT_FILES.jsonl);
  io(`writing ${file}`, () => fs.appendFileSync(file, JSON.stringify(row) + '\n'));
}

function csvCell(v: string | number | null | undefined): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? String(+v.toPrecision(12)) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** results.csv text for `rows`. */
export function toCsv(rows: readonly SweepRow[]): string {
  const reasons = [...new Set(rows.flatMap((r) => Object.keys(r.exitsByReason ?? {})))].sort();
  const costs = [...new Set(rows.flatMap((r) => Object.keys(r.costBreakdown ?? {})))].sort();
  const head = [
    'irqchip',
    'workload',
    'profile',
    'vcpus',
    'lrs',
    'seed',
    'durationNs',
    'status',
    'sent',
    'interrupts',
    'exits',
    'exitsPerInterrupt',
    'simNsPerInterrupt',
    'message',
  ] as const satisfies readonly (keyof SweepRow)[];
  const lines = [[...head, ...reasons.map((r) => `exits.${r}`), ...costs.map((c) => `cost.${c}`)].join(',')];
  for (const r of rows) {
    lines.push(
      [
        ...head.map((h) => csvCell(r[h])),
        ...reasons.map((k) => csvCell(r.exitsByReason?.[k] ?? 0)),
        ...costs.map((k) => csvCell(r.costBreakdown?.[k])),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** Rewrites results.jsonl and results.csv with the rows of `points`, in point order; returns the rows. */
export function writeFinal(dir: string, points: readonly SweepPoint[], done: ReadonlyMap<string, SweepRow>): SweepRow[] {
  const rows = points.map((p) => done.get(pointKey(p))).filter((r): r is SweepRow => r !== undefined);
  const put = (name: string, text: string): void => {
    const file = path.join(dir, name);
    io(`writing ${file}`, () => {
      fs.writeFileSync(file + '.tmp', text);
      fs.renameSync(file + '.tmp', file);
    });
  };
  put(RESULT_FILES.jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  put(RESULT_FILES.csv, toCsv(rows));
  return rows;
}
