/**
 * Random migration points per controller (the external harness's check, reproducible): for each controller, a
 * never-saved reference run, then `points` seeded random migration points, each checked with {@link migrateAt}.
 * Counts the points inside handlers, in WFI and with something pending, and lists the failures: the restored VM
 * differs from its source, the migrated run (source to the point, restored VM after it) from the never-saved run,
 * or the saved source from the never-saved run (the save must change nothing).
 *
 * @example
 * ```ts
 * const r = fuzzMigration({ irqchip: 'rvic', points: 50, seed: 1 });
 * if (r.failures.length) throw new Error(r.failures[0]);
 * ```
 *
 * @module
 */
import { migrateAt, referenceRun, type MigrationScenario } from './migration-harness';

/** Options of {@link fuzzMigration}. */
export interface MigrationFuzzOptions {
  /** Controller. */
  readonly irqchip: string;
  /** Migration points. */
  readonly points: number;
  /** Seed of the points and of the host schedule. */
  readonly seed: number;
  /** End of each run (ns; default 150,000). */
  readonly endNs?: number;
  /** vCPUs (default 2). */
  readonly vcpus?: number;
  /** Lookahead (default: the profile's). */
  readonly lookaheadNs?: number;
  /** Points to check before the random ones. */
  readonly times?: readonly number[];
}

/** What {@link fuzzMigration} found. */
export interface MigrationFuzzResult {
  /** Controller. */
  readonly irqchip: string;
  /** Points checked. */
  readonly points: number;
  /** Points whose restored VM continued exactly as the saved source. */
  readonly ok: number;
  /** Points whose saved source ran exactly as the never-saved run. */
  readonly sourceOk: number;
  /** Points whose migrated run (source to the point, restored VM after it) is exactly the never-saved run. */
  readonly uninterruptedOk: number;
  /** Points with a vCPU inside an interrupt handler. */
  readonly inHandler: number;
  /** Points with a vCPU blocked in WFI. */
  readonly inWfi: number;
  /** Points with an LPI pending (GICv3 pending tables). */
  readonly lpiPending: number;
  /** Points with an rVIC FIFO entry pending. */
  readonly fifoPending: number;
  /** Each point: its time, what the vCPUs were doing, what was pending, whether it continued identically. */
  readonly details: readonly {
    readonly t: number;
    readonly where: readonly string[];
    readonly lpi: boolean;
    readonly fifo: boolean;
    readonly ok: boolean;
    readonly sourceOk: boolean;
    readonly uninterruptedOk: boolean;
  }[];
  /** `t=…: why` of each point whose restored VM diverged from the source. */
  readonly failures: readonly string[];
  /** `t=…: why` of each point whose saved source diverged from the never-saved run. */
  readonly sourceDiffs: readonly string[];
  /** `t=…: why` of each point whose migrated run diverged from the never-saved run. */
  readonly uninterruptedDiffs: readonly string[];
  /** Wall-clock milliseconds. */
  readonly ms: number;
}

/** Runs the points. */
export function fuzzMigration(o: MigrationFuzzOptions): MigrationFuzzResult {
  const start = Date.now();
  const endNs = o.endNs ?? 150_000;
  const sc: MigrationScenario = { irqchip: o.irqchip, seed: o.seed, endNs, vcpus: o.vcpus, lookaheadNs: o.lookaheadNs };
  const ref = referenceRun(sc);
  let x = (o.seed * 2654435761) >>> 0 || 1;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  let ok = 0;
  let sourceOk = 0;
  const sourceDiffs: string[] = [];
  let uninterruptedOk = 0;
  const uninterruptedDiffs: string[] = [];
  let inHandler = 0;
  let inWfi = 0;
  let lpi = 0;
  let fifo = 0;
  const failures: string[] = [];
  const details: MigrationFuzzResult['details'][number][] = [];
  const times: number[] = [...(o.times ?? [])];
  // whole and fractional ns, anywhere from the guest's bring-up to near the end
  for (let i = 0; i < o.points; i++) times.push(Math.floor(rnd() * (endNs - 5_000) * 4) / 4 + 500);
  for (const t of times) {
    const r = migrateAt(sc, t, ref);
    if (r.ok) ok++;
    else failures.push(`t=${t}: ${r.why}`);
    if (r.sourceOk) sourceOk++;
    else sourceDiffs.push(`t=${t}: ${r.sourceWhy}`);
    if (r.uninterruptedOk) uninterruptedOk++;
    else uninterruptedDiffs.push(`t=${t}: ${r.uninterruptedWhy}`);
    if (r.where.includes('handler')) inHandler++;
    if (r.where.includes('wfi')) inWfi++;
    if (r.pending.lpi) lpi++;
    if (r.pending.fifo) fifo++;
    details.push({
      t,
      where: r.where,
      lpi: r.pending.lpi,
      fifo: r.pending.fifo,
      ok: r.ok,
      sourceOk: r.sourceOk,
      uninterruptedOk: r.uninterruptedOk,
    });
  }
  return {
    irqchip: o.irqchip,
    points: times.length,
    ok,
    sourceOk,
    sourceDiffs,
    uninterruptedOk,
    uninterruptedDiffs,
    details,
    inHandler,
    inWfi,
    lpiPending: lpi,
    fifoPending: fifo,
    failures,
    ms: Date.now() - start,
  };
}
