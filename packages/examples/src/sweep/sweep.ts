/**
 * `irqflow sweep`: runs every point of a {@link SweepPlan} that `--out DIR` does not already hold (so an
 * interrupted sweep resumes where it stopped), on worker threads or through a queue, appending each row to
 * results.jsonl as it finishes; then rewrites results.jsonl and results.csv in point order and draws the
 * line charts.
 *
 * @module
 */
import * as path from 'node:path';
import { Progress } from '../cli/progress';
import { writeSweepCharts } from './charts';
import { planPoints, type SweepPlan } from './plan';
import { pointKey, type SweepRow } from './point';
import { createRunner, runAll } from './pool';
import { runOnQueue } from './queue';
import { appendRow, prepareOut, readFinished, writeFinal } from './results';

/** How to run a sweep. */
export interface SweepOptions {
  /** The plan. */
  readonly plan: SweepPlan;
  /** Output directory. */
  readonly out: string;
  /** Plugin modules (absolute paths). */
  readonly plugins: readonly string[];
  /** Worker threads (0: in this thread). */
  readonly threads: number;
  /** `redis://HOST:PORT`: run the points on queue workers instead. */
  readonly queue?: string;
  /** No progress bar. */
  readonly quiet?: boolean;
}

/** What a sweep did. */
export interface SweepSummary {
  /** Points in the plan. */
  readonly points: number;
  /** Points run now (the rest were in the output directory already). */
  readonly ran: number;
  /** Every row, in point order. */
  readonly rows: SweepRow[];
  /** Files written (results.jsonl, results.csv, charts). */
  readonly files: string[];
}

/** Runs a sweep. @throws CliIoError when the output directory cannot be written */
export async function runSweep(o: SweepOptions): Promise<SweepSummary> {
  prepareOut(o.out);
  const points = planPoints(o.plan);
  const done = readFinished(o.out);
  const todo = points.filter((p) => !done.has(pointKey(p)));
  const progress = new Progress(!!o.quiet, 0);
  let finished = points.length - todo.length;
  const onRow = (row: SweepRow): void => {
    appendRow(o.out, row);
    done.set(pointKey(row), row);
    finished++;
    progress.update(
      finished / points.length,
      `${finished}/${points.length} points · ${row.irqchip} ${row.workload} ${row.vcpus} vCPUs seed ${row.seed}`,
    );
  };
  progress.update(finished / points.length, `${finished}/${points.length} points${o.queue ? ' · waiting for queue workers' : ''}`);
  if (o.queue) {
    await runOnQueue(o.queue, todo, o.plugins, onRow);
  } else {
    const runner = createRunner(o.threads);
    try {
      await runAll(runner, todo, o.plugins, Math.max(1, o.threads), onRow);
    } finally {
      await runner.close();
    }
  }
  progress.done();
  const rows = writeFinal(o.out, points, done);
  const charts = writeSweepCharts(o.out, rows);
  return {
    points: points.length,
    ran: todo.length,
    rows,
    files: [path.join(o.out, 'results.jsonl'), path.join(o.out, 'results.csv'), ...charts],
  };
}
