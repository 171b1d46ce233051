/**
 * The `irqflow microbench` subcommand: the kvm-unit-tests micro-bench set (microbench.ts) on every controller
 * and profile, or the chosen ones. Human output: one table per profile (tests × controllers, simulated ns),
 * then the calibration check (predicted vs published §6.1 composites). `--json` prints
 * `{"rows":[{test, irqchip, profile, status, reason?, iterations, ns, costBreakdown}], "calibration":[…]}`.
 *
 * @module
 */
import type { Command } from 'commander';
import type { Hypervisor } from '@irqflow/core';
import { choose, parseIntOption } from '../cli/options';
import { fmt, table } from '../cli/table';
import { compareWithPublished } from './calibration';
import { runMicrobench } from './microbench';
import { MICROBENCH_TESTS, type MicrobenchTest } from './programs';

interface MicrobenchOpts {
  irqchip?: string;
  profile?: string;
  test?: string;
  iterations?: string;
  json?: boolean;
}

/** The document `irqflow microbench` prints (also what `--json` prints). */
export function microbenchReport(hv: Hypervisor, o: MicrobenchOpts): { json: unknown; text: string } {
  const chips = hv.irqchipDescriptors.map((d) => d.name);
  const profs = hv.costProfiles.map((p) => p.name);
  const rows = runMicrobench(hv, {
    irqchips: o.irqchip === undefined ? undefined : [choose('irqchip', o.irqchip, chips)],
    profiles: o.profile === undefined ? undefined : [choose('profile', o.profile, profs)],
    tests: o.test === undefined ? undefined : [choose('test', o.test, MICROBENCH_TESTS) as MicrobenchTest],
    iterations: o.iterations === undefined ? undefined : parseIntOption('--iterations', o.iterations, 2, 100_000),
  });
  const calibration = compareWithPublished(rows).filter((c) => Number.isFinite(c.predicted));
  const out: string[] = [];
  const usedChips = chips.filter((c) => rows.some((r) => r.irqchip === c));
  for (const p of profs.filter((x) => rows.some((r) => r.profile === x))) {
    out.push(`\nmicrobench · profile ${p} (simulated ns per operation, on the guest's virtual counter)`);
    const tests = MICROBENCH_TESTS.filter((t) => rows.some((r) => r.test === t && r.profile === p));
    out.push(
      table(
        ['test', ...usedChips],
        tests.map((t) => [
          t,
          ...usedChips.map((c) => {
            const r = rows.find((x) => x.test === t && x.irqchip === c && x.profile === p);
            return r?.status === 'ok' ? fmt(r.ns, 0) : r?.status === 'error' ? 'error' : '-';
          }),
        ]),
      ),
    );
  }
  if (calibration.length) {
    out.push('\nPredicted vs published (references §6.1 calibration rows)');
    out.push(
      table(
        ['profile', 'irqchip', 'test', 'published', 'predicted', 'error'],
        calibration.map((c) => [c.profile, c.irqchip, c.test, fmt(c.ns, 0), fmt(c.predicted, 0), `${fmt(100 * c.error, 1)}%`]),
      ),
    );
  }
  const errors = rows.filter((r) => r.status === 'error');
  for (const e of errors) out.push(`error: ${e.test} on ${e.irqchip} (${e.profile}): ${e.reason}`);
  return { json: { rows, calibration }, text: out.join('\n') };
}

/**
 * Registers `microbench` on the CLI program.
 * @param program - the commander program
 * @param hvOf - creates the hypervisor with every available controller
 * @param print - writes a line to stdout
 * @param failWith - the program's usage-error handler for this command
 */
export function registerMicrobenchCommand(
  program: Command,
  hvOf: () => Hypervisor,
  print: (s: string) => void,
  failWith: (cmd: Command) => void,
): void {
  const mb = program
    .command('microbench')
    .description('the kvm-unit-tests arm/micro-bench set as guest programs, on every controller and profile')
    .option('--irqchip <name>', 'one controller (default: all)')
    .option('--profile <name>', 'one cost profile (default: all)')
    .option('--test <name>', `one test (${MICROBENCH_TESTS.join(', ')})`)
    .option('--iterations <n>', 'timed iterations per test (default 32)')
    .option('--json', 'one JSON document');
  mb.action((o: MicrobenchOpts) => {
    const r = microbenchReport(hvOf(), o);
    print(o.json ? JSON.stringify(r.json, null, 2) : r.text);
  });
  failWith(mb);
}
