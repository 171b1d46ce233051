/**
 * Runs sweep points in parallel on worker threads (piscina), or in this thread when `threads` is 0. Results
 * come back through `onRow` as each point finishes.
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPoint, type SweepPoint, type SweepRow } from './point';
import type * as PiscinaModule from 'piscina';
import type { PointTask } from './thread';

/** Something that runs points. */
export interface PointRunner {
  /** Runs one point with the plugin modules `plugins` (absolute paths). */
  run(point: SweepPoint, plugins: readonly string[]): Promise<SweepRow>;
  /** Releases threads. */
  close(): Promise<void>;
}

/** The compiled worker-thread file (absent when running from TypeScript sources, e.g. under jest). */
const THREAD_FILE = path.join(__dirname, 'thread.js');

/** A runner on `threads` worker threads, or in-process for 0 (or when the compiled thread file is absent). */
export function createRunner(threads: number): PointRunner {
  if (threads <= 0 || !fs.existsSync(THREAD_FILE)) {
    return {
      // a promise as from the pool: the executor runs now, and a throw becomes a rejection (as from an async function)
      run: (point, plugins) => new Promise((resolve) => resolve(runPoint(point, plugins))),
      close: async () => {},
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Piscina } = require('piscina') as typeof PiscinaModule;
  const pool = new Piscina({ filename: THREAD_FILE, name: 'runPointTask', minThreads: 0, maxThreads: threads, idleTimeout: 1000 });
  return {
    run: (point, plugins) => pool.run({ point, plugins } satisfies PointTask) as Promise<SweepRow>,
    close: () => pool.destroy(),
  };
}

/** Runs every point with `runner`, `concurrency` at a time; `onRow` sees each row as it finishes. */
export async function runAll(
  runner: PointRunner,
  points: readonly SweepPoint[],
  plugins: readonly string[],
  concurrency: number,
  onRow: (row: SweepRow) => void,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < points.length) {
      const p = points[next++];
      onRow(await runner.run(p, plugins));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, points.length)) }, lane));
}
