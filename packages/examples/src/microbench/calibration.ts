/**
 * The published composites of the references §6.1 calibration rows, and the comparison of the model's
 * micro-bench predictions with them. The structural rules (core cost-profile.ts) were calibrated on exactly
 * these rows; nothing else is fitted. The GICv3 server composites of §6 are deliberately absent (kept aside).
 *
 * @module
 */
import type { MicrobenchRow } from './microbench';
import type { MicrobenchTest } from './programs';

/** One published composite. */
export interface PublishedComposite {
  /** Cost profile of the machine. */
  readonly profile: string;
  /** The controller that models the machine's interrupt controller. */
  readonly irqchip: string;
  /** The micro-bench test that measures it. */
  readonly test: MicrobenchTest;
  /** Published value, ns (cycles converted at the profile's stated clock). */
  readonly ns: number;
  /** Where it is published. */
  readonly source: string;
}

/** The §6.1 composites: Phytium S2500 (GICv3) and AMD Seattle (GICv2) split-mode and VHE-style at 2.0 GHz. */
export const PUBLISHED_COMPOSITES: readonly PublishedComposite[] = [
  { profile: 'phytium-s2500', irqchip: 'gic-v3', test: 'ipi', ns: 4979, source: 'kvm-unit-tests micro-bench, Phytium S2500 (Nov 2023)' },
  { profile: 'phytium-s2500', irqchip: 'gic-v3', test: 'lpi', ns: 5481, source: 'kvm-unit-tests micro-bench, Phytium S2500 (Nov 2023)' },
  {
    profile: 'phytium-s2500',
    irqchip: 'gic-v3',
    test: 'timer_10ms',
    ns: 4968,
    source: 'kvm-unit-tests micro-bench, Phytium S2500 (Nov 2023)',
  },
  {
    profile: 'seattle-split',
    irqchip: 'gic-v2',
    test: 'ipi',
    ns: 13121 / 2,
    source: 'Dall et al. ATC 2017, virtual IPI 13,121 cycles (split-mode) at 2.0 GHz',
  },
  {
    profile: 'seattle-vhe',
    irqchip: 'gic-v2',
    test: 'ipi',
    ns: 2526 / 2,
    source: 'Dall et al. ATC 2017, virtual IPI 2,526 cycles (VHE-style) at 2.0 GHz',
  },
];

/** A prediction next to its published value. */
export interface CalibrationCheck extends PublishedComposite {
  /** The model's micro-bench figure (ns), or NaN if it did not run. */
  readonly predicted: number;
  /** predicted / published − 1. */
  readonly error: number;
}

/** Pairs every published composite with the matching micro-bench row. */
export function compareWithPublished(rows: readonly MicrobenchRow[]): CalibrationCheck[] {
  return PUBLISHED_COMPOSITES.map((p) => {
    const r = rows.find((x) => x.profile === p.profile && x.irqchip === p.irqchip && x.test === p.test && x.status === 'ok');
    const predicted = r ? r.ns : NaN;
    return { ...p, predicted, error: predicted / p.ns - 1 };
  });
}
