#!/usr/bin/env node
/**
 * The `irqflow` command line: list, run, compare, bench. Human output goes to stdout as tables; `--json`
 * prints exactly one JSON document on stdout and nothing else; progress goes to stderr. A bad command line
 * prints one line naming the valid choices and exits with code 2; a run whose interrupt counts do not match
 * exits with code 1.
 *
 * @module
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { toChromeTrace, type Hypervisor } from '@irqflow/core';
import { runBenches } from './cli/bench';
import { choose, parseDuration, parseIntOption, parseLookahead, UsageError } from './cli/options';
import { Progress } from './cli/progress';
import { writeReport } from './cli/report';
import { fmt, table } from './cli/table';
import { createHypervisor, type HypervisorSetup } from './hypervisor-factory';
import { registerMicrobenchCommand } from './microbench/microbench-command';
import { DEFAULT_WORKLOAD, findWorkload, WORKLOADS } from './workloads/catalog';
import { runWorkload, type WorkloadResult } from './workloads/harness';
import { unsupportedReason } from './workloads/workload';

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const json = (doc: unknown): void => out(JSON.stringify(doc, null, 2));
const irqchipNames = (hv: Hypervisor): string[] => hv.irqchipDescriptors.map((d) => d.name);
const profileNames = (hv: Hypervisor): string[] => hv.costProfiles.map((p) => p.name);

/** Exit code of the last command (set by actions). */
let exitCode = 0;

function cmdList(setup: HypervisorSetup, opts: { json?: boolean }): void {
  const { hv } = setup;
  const doc = {
    irqchips: hv.irqchipDescriptors.map((d) => ({ name: d.name, description: d.description, features: [...d.features], maxVcpus: d.maxVcpus })),
    workloads: WORKLOADS.map((w) => ({
      name: w.name,
      description: w.description,
      needs: [...w.needs, ...(w.needsExtensions ?? [])],
      defaultVcpus: w.defaultVcpus,
      supportedBy: hv.irqchipDescriptors.filter((d) => !unsupportedReason(hv, d, w, Math.min(w.defaultVcpus, d.maxVcpus))).map((d) => d.name),
    })),
    profiles: hv.costProfiles.map((p) => ({ name: p.name, description: p.description })),
    extensions: hv.extensions.map((e) => e.name),
    missing: setup.missing,
  };
  if (opts.json) return json(doc);
  out('Interrupt controllers');
  out(table(['name', 'max vCPUs', 'features', 'description'], doc.irqchips.map((d) => [d.name, String(d.maxVcpus), d.features.join(','), d.description])));
  out('\nWorkloads');
  out(table(['name', 'needs', 'runs on', 'description'], doc.workloads.map((w) => [w.name, w.needs.join(',') || '-', w.supportedBy.join(',') || '-', w.description])));
  out('\nCost profiles');
  out(table(['name', 'description'], doc.profiles.map((p) => [p.name, p.description])));
  out(`\nVM extensions: ${doc.extensions.join(', ') || 'none'}`);
  for (const m of setup.missing) out(`not available: ${m.name} (${m.reason})`);
}

interface RunOpts {
  irqchip: string;
  workload: string;
  vcpus?: string;
  profile?: string;
  seed?: string;
  duration?: string;
  lookahead?: string;
  json?: boolean;
  trace?: string;
  dump?: boolean;
  quiet?: boolean;
}

function cmdRun(o: RunOpts): void {
  const setup = createHypervisor({ traceCapacity: o.trace ? 2_000_000 : 1 });
  const { hv } = setup;
  const irqchip = choose('irqchip', o.irqchip, irqchipNames(hv));
  const workload = findWorkload(choose('workload', o.workload, WORKLOADS.map((w) => w.name)))!;
  const profile = o.profile === undefined ? profileNames(hv)[0] : choose('profile', o.profile, profileNames(hv));
  const desc = hv.irqchip(irqchip);
  const vcpus = o.vcpus === undefined ? Math.min(workload.defaultVcpus, desc.maxVcpus) : parseIntOption('--vcpus', o.vcpus, 1, 512);
  const seed = o.seed === undefined ? 1 : parseIntOption('--seed', o.seed, 0, 2 ** 31 - 1);
  const durationNs = o.duration === undefined ? 1e9 : parseDuration(o.duration);
  const lookaheadNs = o.lookahead === undefined ? undefined : parseLookahead(o.lookahead);
  const why = unsupportedReason(hv, desc, workload, vcpus);
  if (why) {
    const ok = hv.irqchipDescriptors.filter((d) => !unsupportedReason(hv, d, workload, Math.min(vcpus, d.maxVcpus))).map((d) => d.name);
    throw new UsageError(`workload '${workload.name}' cannot run on '${irqchip}' with ${vcpus} vCPUs: ${why} (valid irqchips: ${ok.join(', ') || 'none'})`);
  }
  const progress = new Progress(!!o.quiet || !!o.json);
  const r = runWorkload(hv, workload, {
    irqchip,
    vcpus,
    profile,
    seed,
    durationNs,
    lookaheadNs,
    trace: !!o.trace,
    keepVm: true,
    onProgress: (f) => progress.update(f, `${irqchip} ${workload.name}`),
  });
  progress.done();
  const vm = r.vm;
  let traceInfo: { file: string; events: number; dropped: number } | undefined;
  if (o.trace) {
    const names = new Map<number, string>(vm ? [[vm.id, vm.name]] : []);
    const doc = toChromeTrace(hv.trace, names);
    fs.mkdirSync(path.dirname(path.resolve(o.trace)), { recursive: true });
    fs.writeFileSync(o.trace, JSON.stringify(doc));
    traceInfo = { file: o.trace, events: doc.traceEvents.length, dropped: hv.trace.dropped };
  }
  const dump = o.dump && vm ? vm.dump() : undefined;
  const lookahead = vm?.lookaheadNs ?? lookaheadNs;
  void vm?.destroy();
  if (r.status !== 'ok') exitCode = 1;
  if (o.json) {
    const { vm: _vm, ...rest } = r;
    void _vm;
    return json({ ...rest, seed, durationNs, lookaheadNs: lookahead, ...(traceInfo ? { trace: traceInfo } : {}), ...(dump !== undefined ? { dump } : {}) });
  }
  out(`irqflow run: ${r.irqchip} · ${r.workload} · profile ${r.profile} · ${r.vcpus} vCPUs · seed ${seed}${lookahead !== undefined ? ` · lookahead ${+lookahead.toPrecision(4)} ns` : ''}`);
  out(
    table(
      ['metric', 'value'],
      [
        ['status', r.status + (r.message ? ` — ${r.message}` : '')],
        ['delivery path', r.path],
        ['interrupts sent', String(r.sent)],
        ['interrupts delivered', String(r.interrupts)],
        ['exits', String(r.exits)],
        ['exits per interrupt', fmt(r.exitsPerInterrupt)],
        ['busy sim ns per interrupt', fmt(r.simNsPerInterrupt, 1)],
        ['simulated time', `${fmt(r.simTimeNs / 1000, 1)} us`],
      ],
    ),
  );
  const top = Object.entries(r.costBreakdown).sort((a, b) => b[1] - a[1]).slice(0, 6);
  if (top.length) {
    out('\nWhere the time goes (top cost components, simulated ns per interrupt)');
    out(table(['component', 'ns/irq'], top.map(([k, v]) => [k, fmt(v, 1)])));
  }
  out('\nExits by reason');
  out(table(['reason', 'count', 'per irq'], Object.entries(r.exitsByReason).map(([k, v]) => [k, String(v), fmt(r.interrupts ? v / r.interrupts : 0)])));
  const traps = Object.entries(r.traps).sort((a, b) => b[1] - a[1]);
  if (traps.length) {
    out('\nTraps (system registers and hypercalls)');
    out(table(['trap', 'count', 'per irq'], traps.map(([k, v]) => [k, String(v), fmt(r.interrupts ? v / r.interrupts : 0)])));
  }
  if (traceInfo) out(`\ntrace: ${traceInfo.events} events written to ${traceInfo.file} (open in ui.perfetto.dev)${traceInfo.dropped ? `; ${traceInfo.dropped} events dropped (buffer full)` : ''}`);
  if (dump !== undefined) out(`\n${dump}`);
}

interface CompareOpts {
  workload?: string;
  profile?: string;
  vcpus?: string;
  lookahead?: string;
  json?: boolean;
  report?: string;
  quiet?: boolean;
}

/** Runs a comparison and returns every result. */
function compare(setup: HypervisorSetup, o: CompareOpts): { results: WorkloadResult[]; workloads: string[]; profiles: string[] } {
  const { hv } = setup;
  const wnames = WORKLOADS.map((w) => w.name);
  const workloads = o.workload === 'all' ? wnames : [choose('workload', o.workload ?? DEFAULT_WORKLOAD, [...wnames, 'all'])];
  const profiles = o.profile === undefined ? profileNames(hv) : [choose('profile', o.profile, profileNames(hv))];
  const vcpus = o.vcpus === undefined ? undefined : parseIntOption('--vcpus', o.vcpus, 1, 512);
  const lookaheadNs = o.lookahead === undefined ? undefined : parseLookahead(o.lookahead);
  const progress = new Progress(!!o.quiet || !!o.json);
  const results: WorkloadResult[] = [];
  const chips = irqchipNames(hv);
  const total = workloads.length * profiles.length * chips.length;
  for (const wn of workloads) {
    const w = findWorkload(wn)!;
    for (const p of profiles) {
      for (const c of chips) {
        progress.update(results.length / total, `${wn} ${p} ${c}`);
        results.push(runWorkload(hv, w, { irqchip: c, profile: p, vcpus: vcpus ?? w.defaultVcpus, lookaheadNs }));
      }
    }
  }
  progress.done();
  return { results, workloads, profiles };
}

function cmdCompare(o: CompareOpts, argv: readonly string[]): void {
  const setup = createHypervisor({ traceCapacity: 1 });
  const { results, workloads, profiles } = compare(setup, o);
  const ok = results.filter((r) => r.status === 'ok');
  const errors = results.filter((r) => r.status === 'mismatch' || r.status === 'error' || r.status === 'truncated');
  if (errors.length) exitCode = 1;
  let reportFiles: string[] = [];
  if (o.report) {
    reportFiles = writeReport(o.report, {
      results,
      irqchips: irqchipNames(setup.hv),
      profiles,
      workloads,
      command: `irqflow ${argv.join(' ')}`,
    });
  }
  if (o.json) {
    return json({
      rows: ok.map((r) => ({
        irqchip: r.irqchip,
        workload: r.workload,
        profile: r.profile,
        vcpus: r.vcpus,
        interrupts: r.interrupts,
        exitsPerInterrupt: r.exitsPerInterrupt,
        exitsByReason: r.exitsByReason,
        simNsPerInterrupt: r.simNsPerInterrupt,
      })),
      unsupported: results.filter((r) => r.status === 'unsupported').map((r) => ({ irqchip: r.irqchip, workload: r.workload, profile: r.profile, reason: r.message })),
      errors: errors.map((r) => ({ irqchip: r.irqchip, workload: r.workload, profile: r.profile, status: r.status, message: r.message })),
      ...(o.report ? { report: reportFiles } : {}),
    });
  }
  for (const w of workloads) {
    for (const p of profiles) {
      const rows = results.filter((r) => r.workload === w && r.profile === p);
      out(`\n${w} · profile ${p}`);
      out(
        table(
          ['irqchip', 'vCPUs', 'interrupts', 'exits/irq', 'ns/irq', 'exits by reason', 'path', 'status'],
          rows.map((r) =>
            r.status === 'ok'
              ? [r.irqchip, String(r.vcpus), String(r.interrupts), fmt(r.exitsPerInterrupt), fmt(r.simNsPerInterrupt, 0), Object.entries(r.exitsByReason).map(([k, v]) => `${k}=${v}`).join(' '), r.path, 'ok']
              : [r.irqchip, String(r.vcpus), '-', '-', '-', '', r.path || '-', `${r.status}: ${r.message ?? ''}`],
          ),
        ),
      );
    }
  }
  for (const m of setup.missing) out(`not available: ${m.name} (${m.reason})`);
  if (reportFiles.length) out(`\nreport: ${reportFiles[0]} (${reportFiles.length - 1} charts)`);
}

function cmdBench(o: { json?: boolean; filter?: string; quiet?: boolean }): void {
  const root = process.env.IRQFLOW_BENCH_ROOT ?? path.resolve(__dirname, '..', '..', '..');
  const progress = new Progress(!!o.quiet || !!o.json);
  const rep = runBenches(root, o.filter, (f, i, n) => progress.update(i / n, path.basename(f)));
  progress.done();
  if (rep.errors.length) exitCode = 1;
  if (o.json) return json(rep.errors.length ? rep : { benchmarks: rep.benchmarks });
  const num = (x: number | undefined): string => (x === undefined ? '-' : String(+Number(x).toPrecision(6)));
  out(
    table(
      ['benchmark', 'value', 'min – max', 'unit', 'baseline', 'ratio', 'better'],
      rep.benchmarks.map((b) => [b.name, num(b.value), b.min === undefined ? '-' : `${num(b.min)} – ${num(b.max)}`, b.unit, num(b.baseline), fmt(b.ratio), b.better ?? '-']),
    ),
  );
  for (const e of rep.errors) out(`failed: ${e.file}: ${e.message}`);
}

/** Builds the program (exported for tests). */
export function buildProgram(argv: readonly string[]): Command {
  const program = new Command('irqflow');
  program.description('irqflow: run and compare arm64 KVM interrupt controllers in simulated time').showSuggestionAfterError(false);
  const valid = (cmd: Command): string =>
    cmd.options.map((o) => o.long).filter((x): x is string => !!x).join(', ');
  const fail = (cmd: Command) => (err: CommanderError): never => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') throw err;
    const msg = err.message.replace(/^error: /, '').split('\n')[0];
    if (err.code === 'commander.unknownCommand') throw new UsageError(`${msg} (valid: ${program.commands.map((c) => c.name()).join(', ')})`);
    if (err.code === 'commander.unknownOption' || err.code === 'commander.excessArguments') throw new UsageError(`${msg} (valid: ${valid(cmd)})`);
    if (err.code === 'commander.missingMandatoryOptionValue') {
      const setup = createHypervisor({ traceCapacity: 1 });
      const choices = /irqchip/.test(msg) ? irqchipNames(setup.hv) : WORKLOADS.map((w) => w.name);
      throw new UsageError(`${msg} (valid: ${choices.join(', ')})`);
    }
    throw new UsageError(`${msg} (valid: ${valid(cmd)})`);
  };
  program.exitOverride(fail(program)).configureOutput({ outputError: () => {} });

  const list = program.command('list').description('registered controllers, workloads and cost profiles').option('--json', 'one JSON document');
  list.action((o) => cmdList(createHypervisor({ traceCapacity: 1 }), o));
  list.exitOverride(fail(list)).configureOutput({ outputError: () => {} });

  const run = program
    .command('run')
    .description('run one workload on one VM')
    .requiredOption('--irqchip <name>', 'controller')
    .requiredOption('--workload <name>', 'workload')
    .option('--vcpus <n>', 'vCPU count')
    .option('--profile <name>', 'cost profile')
    .option('--seed <n>', 'seed')
    .option('--duration <simtime>', 'simulated-time limit (e.g. 10ms, 500us, 1000000ns)')
    .option('--lookahead <simtime>', "how far a vCPU may run ahead on its own state (0 = lockstep; default: the profile's ipiLatency)")
    .option('--json', 'one JSON document')
    .option('--trace <file>', 'write a Chrome trace-event JSON file')
    .option('--dump', "print the controller's state dump at the end")
    .option('--quiet', 'no progress bar');
  run.action((o: RunOpts) => cmdRun(o));
  run.exitOverride(fail(run)).configureOutput({ outputError: () => {} });

  const cmp = program
    .command('compare')
    .description('the same workload on every registered controller')
    .option('--workload <name>', `workload or "all" (default ${DEFAULT_WORKLOAD})`)
    .option('--profile <name>', 'one cost profile (default: all)')
    .option('--vcpus <n>', 'vCPU count')
    .option('--lookahead <simtime>', "how far a vCPU may run ahead on its own state (0 = lockstep; default: the profile's ipiLatency)")
    .option('--json', 'one JSON document')
    .option('--report <dir>', 'write report.md with SVG charts')
    .option('--quiet', 'no progress bar');
  cmp.action((o: CompareOpts) => cmdCompare(o, argv));
  cmp.exitOverride(fail(cmp)).configureOutput({ outputError: () => {} });

  const bench = program
    .command('bench')
    .description('run the benchmark suites of all packages')
    .option('--json', 'one JSON document')
    .option('--filter <name>', 'only benchmarks whose name contains this')
    .option('--quiet', 'no progress bar');
  bench.action((o) => cmdBench(o));
  bench.exitOverride(fail(bench)).configureOutput({ outputError: () => {} });

  registerMicrobenchCommand(program, () => createHypervisor({ traceCapacity: 1 }).hv, out, (cmd) => {
    cmd.exitOverride(fail(cmd)).configureOutput({ outputError: () => {} });
  });
  return program;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export function main(argv: readonly string[]): number {
  exitCode = 0;
  try {
    buildProgram(argv).parse([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof UsageError) {
      process.stderr.write(`irqflow: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`irqflow: ${(e as Error).message}\n`);
    return 1;
  }
}

/* istanbul ignore next */
if (require.main === module) {
  // A closed pipe (`irqflow list | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = main(process.argv.slice(2));
}
