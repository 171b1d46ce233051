/**
 * The worker-thread entry of the sweep pool (piscina loads this file's compiled .js): runs one point.
 *
 * @module
 */
import { runPoint, type SweepPoint, type SweepRow } from './point';

/** A task posted to the pool. */
export interface PointTask {
  /** The point. */
  readonly point: SweepPoint;
  /** Plugin modules (absolute paths). */
  readonly plugins: readonly string[];
}

/** Runs a posted point. */
export function runPointTask(task: PointTask): SweepRow {
  return runPoint(task.point, task.plugins);
}
