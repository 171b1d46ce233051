/**
 * Candidate migration points read off a never-saved run's trace, so that tests pick points "inside a handler",
 * "in WFI", "with an LPI / FIFO entry pending" or "with a kick in flight" from the run itself instead of
 * hard-coding times that move whenever the cost profile changes. The candidates are only guesses from the trace
 * records (IrqTaken/Ack, Block..Wake, MsiTranslate/Msi, Kick); {@link findPoints} checks each with
 * {@link migrateAt} and keeps those whose own classification (`where`, `pending`, the snapshot) fits.
 *
 * @example
 * ```ts
 * const sc = { irqchip: 'gic-v3', seed: 3, endNs: 150_000 };
 * const ref = referenceRun(sc);
 * const [p] = findPoints(sc, ref, migrationCandidates(ref).handler, (r) => r.where.includes('handler'), 1);
 * ```
 *
 * @module
 */
import { saveVm, TraceKind, type VmSnapshot } from '@irqflow/core';
import { buildMigrationVm, migrateAt, type MigrationResult, type MigrationScenario, type RunRecord } from './migration-harness';

/** Candidate times (ns, quarter-ns offsets so that they never coincide with whole-ns costs), in trace order. */
export interface MigrationCandidates {
  /** Just after a vCPU acknowledged an interrupt (inside its handler's work). */
  readonly handler: readonly number[];
  /** Half-way through a vCPU's Block..Wake window. */
  readonly wfi: readonly number[];
  /** Just after an MSI was translated / signalled (an LPI or FIFO entry may still be pending). */
  readonly pending: readonly number[];
  /** Just after a kick to a vCPU that was not blocked (the kick may still be in flight). */
  readonly kick: readonly number[];
  /** Just after vCPU `vcpu` acknowledged INTID `intid`. */
  acked(vcpu: number, intid: number): number[];
}

const q = (t: number): number => Math.floor(t * 4) / 4 + 0.25;

/** Reads candidate points off `ref`'s canonical trace. */
export function migrationCandidates(ref: RunRecord): MigrationCandidates {
  const handler: number[] = [];
  const wfi: number[] = [];
  const pending: number[] = [];
  const kick: number[] = [];
  const blockedAt = new Map<number, number>();
  for (const e of ref.trace) {
    if (e.kind === TraceKind.Ack) handler.push(q(e.t + 10));
    else if (e.kind === TraceKind.Block) blockedAt.set(e.vcpu, e.t);
    else if (e.kind === TraceKind.Wake) {
      const b = blockedAt.get(e.vcpu);
      blockedAt.delete(e.vcpu);
      if (b !== undefined && e.t - b > 20) wfi.push(q((b + e.t) / 2));
    } else if (e.kind === TraceKind.MsiTranslate || e.kind === TraceKind.Msi) pending.push(q(e.t));
    else if (e.kind === TraceKind.Kick && e.b === 0) kick.push(q(e.t));
  }
  const acked = (vcpu: number, intid: number): number[] =>
    ref.trace.filter((e) => e.kind === TraceKind.Ack && e.vcpu === vcpu && e.a === intid).map((e) => q(e.t + 10));
  return { handler, wfi, pending, kick, acked };
}

/** A checked point: its time and what {@link migrateAt} found there. */
export interface FoundPoint {
  readonly t: number;
  readonly r: MigrationResult;
}

/**
 * Checks `times` in order with {@link migrateAt} and returns the first `n` whose result satisfies `fits` (fewer
 * when the candidates run out).
 */
export function findPoints(
  sc: MigrationScenario,
  ref: RunRecord,
  times: readonly number[],
  fits: (r: MigrationResult) => boolean,
  n: number,
): FoundPoint[] {
  const out: FoundPoint[] = [];
  for (const t of times) {
    if (out.length >= n) break;
    if (t >= sc.endNs) continue;
    const r = migrateAt(sc, t, ref);
    if (fits(r)) out.push({ t, r });
  }
  return out;
}

/**
 * The snapshot {@link migrateAt} would take at `t`, without restoring or running on: a cheap way to scan many
 * candidates for a condition on the saved state before checking the few that fit with {@link migrateAt}.
 */
export function snapshotAt(sc: MigrationScenario, t: number): VmSnapshot {
  const src = buildMigrationVm(sc);
  src.scheduleHost(-1);
  src.vm.run({ until: t });
  return saveVm(src.vm);
}
