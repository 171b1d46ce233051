/**
 * Sweeps through a BullMQ queue on Redis: `irqflow sweep --queue redis://HOST:PORT` puts every unfinished point
 * on the queue "irqflow-sweep" as one job (data: the point and the plugin modules' absolute paths) and collects
 * each job's return value — the row — through QueueEvents into the same results files; `irqflow worker --queue
 * redis://HOST:PORT` (any number, on any machine that sees the same Redis and has irqflow and the plugin files
 * at the same paths) takes jobs and runs them with {@link runPoint} on its worker threads.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../cli/options';
import { noMetrics, pointKey, type SweepPoint, type SweepRow } from './point';
import type * as BullMQ from 'bullmq';
import type { PointRunner } from './pool';

/** The queue's name. */
export const SWEEP_QUEUE = 'irqflow-sweep';

/** A job's data. */
export interface SweepJobData {
  /** The point. */
  readonly point: SweepPoint;
  /** Plugin modules (absolute paths on the sweep's machine). */
  readonly plugins: readonly string[];
}

/** BullMQ connection options from a `redis://HOST:PORT[/DB]` URL. @throws UsageError for anything else */
export function parseQueueUrl(url: string): { host: string; port: number; db: number; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`invalid --queue '${url}' (valid: redis://HOST:PORT, e.g. redis://127.0.0.1:6379)`);
  }
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (u.protocol !== 'redis:' || !u.hostname || !Number.isInteger(db) || db < 0)
    throw new UsageError(`invalid --queue '${url}' (valid: redis://HOST:PORT, e.g. redis://127.0.0.1:6379)`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379, db, maxRetriesPerRequest: null };
}

// bullmq is loaded lazily: only queue sweeps and workers need it (and ioredis).
function bullmq(): typeof BullMQ {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('bullmq') as typeof BullMQ;
}

/**
 * Puts `points` on the queue and resolves when every one has come back; `onRow` sees each row. A job that
 * fails comes back as a row with status "error".
 */
export async function runOnQueue(
  url: string,
  points: readonly SweepPoint[],
  plugins: readonly string[],
  onRow: (row: SweepRow) => void,
): Promise<void> {
  if (!points.length) return;
  const connection = parseQueueUrl(url);
  const { Queue, QueueEvents } = bullmq();
  const queue = new Queue<SweepJobData, SweepRow>(SWEEP_QUEUE, { connection });
  const events = new QueueEvents(SWEEP_QUEUE, { connection });
  try {
    await events.waitUntilReady();
    const run = randomBytes(6).toString('hex');
    const byId = new Map<string, SweepPoint>();
    points.forEach((p, i) => byId.set(`${run}-${i}`, p));
    let left = points.length;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const settle = (id: string, row: (p: SweepPoint) => SweepRow): void => {
      const p = byId.get(id);
      if (!p) return;
      byId.delete(id);
      onRow(row(p));
      if (--left === 0) finish();
    };
    events.on('completed', ({ jobId, returnvalue }) =>
      settle(jobId, () => (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as SweepRow),
    );
    events.on('failed', ({ jobId, failedReason }) =>
      settle(jobId, (p) => ({ ...p, status: 'error', message: `worker: ${failedReason}`, ...noMetrics() })),
    );
    await queue.addBulk(
      points.map((point, i) => ({
        name: pointKey(point),
        data: { point, plugins },
        opts: { jobId: `${run}-${i}`, attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
      })),
    );
    await done;
  } finally {
    await events.close();
    await queue.close();
  }
}

/**
 * Takes jobs from the queue until `signal` aborts, running each on `runner` (with the job's plugins, then
 * `ownPlugins`); resolves once the worker has closed.
 */
export async function runQueueWorker(
  url: string,
  runner: PointRunner,
  concurrency: number,
  ownPlugins: readonly string[],
  signal: AbortSignal,
  onJob?: (row: SweepRow) => void,
): Promise<void> {
  const connection = parseQueueUrl(url);
  const { Worker } = bullmq();
  const worker = new Worker<SweepJobData, SweepRow>(
    SWEEP_QUEUE,
    async (job) => {
      const plugins = [...new Set([...(job.data.plugins ?? []), ...ownPlugins])];
      const row = await runner.run(job.data.point, plugins);
      onJob?.(row);
      return row;
    },
    { connection, concurrency },
  );
  worker.on('error', (e) => process.stderr.write(`irqflow worker: ${e.message}\n`));
  await worker.waitUntilReady();
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
}
