/**
 * `irqflow microbench`: the kvm-unit-tests `arm/micro-bench` set (programs.ts) on every controller that can run
 * each test, under every cost profile, measured on the guest's own virtual counter in simulated time. Each row
 * also carries the cost breakdown of the measured path (simulated ns per iteration by named component, adding up
 * to the figure), so a composite can be read as the costs it is made of.
 *
 * @module
 */
import { COST_COMPONENT_COUNT, COST_COMPONENT_NAMES, type Hypervisor, type Vm } from '@irqflow/core';
import { buildTest, MB_RAM, MICROBENCH_TESTS, unsupportedTest, type MicrobenchTest } from './programs';

/** One measurement. */
export interface MicrobenchRow {
  /** Test name (kvm-unit-tests micro-bench name; `ipi_wfi` is `ipi` with the target blocked in WFI). */
  test: MicrobenchTest;
  /** Controller. */
  irqchip: string;
  /** Cost profile. */
  profile: string;
  /** `ok`, `unsupported` (with `reason`) or `error` (with `reason`). */
  status: 'ok' | 'unsupported' | 'error';
  /** Why not ok. */
  reason?: string;
  /** Timed iterations. */
  iterations: number;
  /** Mean simulated ns per iteration, as the guest's virtual counter measured it. */
  ns: number;
  /**
   * The measured path's simulated ns per iteration by named cost component: what each vCPU paid on the path from
   * the first counter read to the second (for a cross-vCPU test the sender up to its send, `ipiLatency` to the
   * arrival, the receiver up to its flag store, the sender's line-transfer wait and counter read; work beside the
   * path, like the sender's way back into the guest while the IPI travels, is not on it). `guest` is plain guest
   * work and waiting for an operation boundary. The components add up to `ns`.
   */
  costBreakdown: Record<string, number>;
}

/** Options of {@link runMicrobench}. */
export interface MicrobenchOptions {
  /** Controllers (default: every registered one). */
  irqchips?: readonly string[];
  /** Profiles (default: every registered one). */
  profiles?: readonly string[];
  /** Tests (default: all). */
  tests?: readonly MicrobenchTest[];
  /** Timed iterations per test (default 32; the timer test runs a quarter of them, at least 2). */
  iterations?: number;
  /** The VMs' conservative lookahead (ns; default: the profile's, `ipiLatency`; 0 = lockstep). Same figures either way. */
  lookaheadNs?: number;
}

/**
 * Runs the micro-bench set and returns one row per (test, controller, profile).
 *
 * @example
 * ```ts
 * const { hv } = createHypervisor();
 * const rows = runMicrobench(hv, { irqchips: ['gic-v3'], profiles: ['phytium-s2500'], tests: ['ipi'] });
 * console.log(rows[0].ns, rows[0].costBreakdown);
 * ```
 */
export function runMicrobench(hv: Hypervisor, opts: MicrobenchOptions = {}): MicrobenchRow[] {
  const chips = opts.irqchips ?? hv.irqchipDescriptors.map((d) => d.name);
  const profiles = opts.profiles ?? hv.costProfiles.map((p) => p.name);
  const tests = opts.tests ?? MICROBENCH_TESTS;
  const rows: MicrobenchRow[] = [];
  for (const test of tests)
    for (const profile of profiles)
      for (const irqchip of chips) rows.push(runOne(hv, test, irqchip, profile, opts.iterations ?? 32, opts.lookaheadNs));
  return rows;
}

function runOne(
  hv: Hypervisor,
  test: MicrobenchTest,
  irqchip: string,
  profile: string,
  iters: number,
  lookaheadNs: number | undefined,
): MicrobenchRow {
  const iterations = test === 'timer_10ms' ? Math.max(2, iters >> 2) : iters;
  const row: MicrobenchRow = { test, irqchip, profile, status: 'ok', iterations, ns: 0, costBreakdown: {} };
  const desc = hv.irqchip(irqchip);
  const hasTimer = hv.extensions.some((e) => e.name === 'arch-timer');
  const needs = test.startsWith('ipi') || test === 'lpi' ? 2 : 1;
  if (desc.maxVcpus < needs) return { ...row, status: 'unsupported', reason: `needs ${needs} vCPUs` };
  if (test.startsWith('ipi') && !desc.features.includes('ipi')) return { ...row, status: 'unsupported', reason: 'no IPIs' };
  let vm: Vm | undefined;
  try {
    // by default the profile's lookahead (ipiLatency): every cross-vCPU effect is delivered causally, so the
    // figures are exactly those of lockstep (lookahead 0; a test checks it), and the run is faster
    vm = hv.createVm({ name: `microbench/${test}/${irqchip}/${profile}`, costProfile: profile, seed: 1, lookaheadNs });
    for (let i = 0; i < needs; i++) vm.createVcpu(i);
    const driver = desc.setup(vm, {});
    const why = unsupportedTest(test, irqchip, driver, hasTimer);
    if (why) return { ...row, status: 'unsupported', reason: why };
    const built = buildTest(vm, irqchip, driver, test, iterations);
    const used = vm.memory.memorySlots.map((r) => r.slot);
    vm.setUserMemoryRegion({ slot: used.length === 0 ? 0 : Math.max(...used) + 1, guestPhysAddr: MB_RAM.BASE, size: MB_RAM.SIZE });
    built.programs.forEach((a, i) => vm!.vcpus[i].setProgram(a.build()));
    // bounded simulated time: a controller that never delivers ends as an error, not as a guest spinning forever
    const until = test === 'timer_10ms' ? iterations * 11e6 + 5e6 : 5e7;
    const r = vm.run({ until, onExit: (_v, run) => void run.mmio.data.fill(0) });
    if (r.reason !== 'shutdown') throw new Error(`the guest did not finish (${r.reason})`);
    if (built.samples.length !== iterations) throw new Error(`${built.samples.length} of ${iterations} samples`);
    row.ns = built.samples.reduce((s, x) => s + x, 0) / iterations;
    row.costBreakdown = pathBreakdown(built.window, built.guestNs[0], iterations);
    return row;
  } catch (e) {
    return { ...row, status: 'error', reason: (e as Error).message };
  } finally {
    void vm?.destroy();
  }
}

/** Per iteration, the nonzero components of a path and its guest remainder (they add up to the mean figure). */
function pathBreakdown(sum: Float64Array, guestNs: number, iterations: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let k = 0; k < COST_COMPONENT_COUNT; k++) if (sum[k] !== 0) out[COST_COMPONENT_NAMES[k]] = sum[k] / iterations;
  if (guestNs !== 0) out.guest = guestNs / iterations;
  return out;
}
