#!/usr/bin/env node
/**
 * The `irqflow` command line: list, run, compare, sweep, worker, bench. Human output goes to stdout as tables;
 * `--json` prints exactly one JSON document on stdout and nothing else; progress goes to stderr (only on a
 * terminal). Every command takes `--plugin <path-or-package>` (repeatable) to load a controller from outside
 * irqflow. Exit codes ({@link EXIT}): 0 ok; 1 a run failed (interrupt counts differ, time limit, model error);
 * 2 bad command line (one line naming the valid choices; no arguments: the help on stderr); 3 I/O error; 4
 * nothing ran (every combination unsupported).
 *
 * @module
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { maxExactLookaheadNs, toChromeTrace, type Hypervisor } from '@irqflow/core';
import { runBenches } from './cli/bench';
import { CliIoError, EXIT, io } from './cli/exit-codes';
import { intIn, listOf, oneOf, parsed, parseDuration, parseLookahead, UsageError } from './cli/options';
import { addPluginOption, scanPluginArgs } from './cli/plugins';
import { Progress } from './cli/progress';
import { writeReport } from './cli/report';
import { fmt, table } from './cli/table';
import { createHypervisor, setProcessPluginModules, type HypervisorSetup } from './hypervisor-factory';
import { pluginFiles } from './plugin-loader';
import { createRunner } from './sweep/pool';
import { parseQueueUrl, runQueueWorker } from './sweep/queue';
import { runSweep } from './sweep/sweep';
import { registerMicrobenchCommand } from './microbench/microbench-command';
import { DEFAULT_WORKLOAD, findWorkload, WORKLOADS } from './workloads/catalog';
import { runWorkload, type WorkloadResult } from './workloads/harness';
import { unsupportedReason, type Workload } from './workloads/workload';

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const json = (doc: unknown): void => out(JSON.stringify(doc, null, 2));
const irqchipNames = (hv: Hypervisor): string[] => hv.irqchipDescriptors.map((d) => d.name);
const profileNames = (hv: Hypervisor): string[] => hv.costProfiles.map((p) => p.name);

/** The package version (`irqflow --version`). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json sits outside rootDir: read at run time, not compiled in
const VERSION: string = (require('../package.json') as { version: string }).version;

/** Exit code of the last command (set by actions). */
let exitCode: number = EXIT.OK;

/** Options every command has. */
interface CommonOpts {
  plugin?: string[];
}

/** The hypervisor of a command: the packages, "pic" and the command's --plugin modules. */
function setupFor(o: CommonOpts, traceCapacity = 1): HypervisorSetup {
  return createHypervisor({ traceCapacity }, o.plugin ?? []);
}

/**
 * Refuses a `--lookahead` above a profile's ipiLatency (Hypervisor.createVm would refuse it with EINVAL): a larger
 * lookahead could take a signal later than lockstep, so results would depend on it. @throws UsageError (exit 2)
 */
function checkLookahead(hv: Hypervisor, lookaheadNs: number | undefined, profiles: readonly string[]): void {
  if (lookaheadNs === undefined) return;
  for (const name of profiles) {
    const max = maxExactLookaheadNs(hv.costProfile(name).ns);
    if (lookaheadNs > max)
      throw new UsageError(
        `invalid --lookahead ${lookaheadNs} ns for profile ${name} (valid: 0 to its ipiLatency, ${+max.toPrecision(6)} ns; above it results could differ from lockstep)`,
      );
  }
}

/** Names of the controllers that can run `w` with exactly `vcpus` vCPUs. */
function runnableOn(hv: Hypervisor, w: Workload, vcpus: number): string[] {
  return hv.irqchipDescriptors.filter((d) => !unsupportedReason(hv, d, w, vcpus)).map((d) => d.name);
}

function cmdList(o: CommonOpts & { json?: boolean }): void {
  const setup = setupFor(o);
  const { hv } = setup;
  const doc = {
    irqchips: hv.irqchipDescriptors.map((d) => ({
      name: d.name,
      aliases: [...(d.aliases ?? [])],
      description: d.description,
      features: [...d.features],
      maxVcpus: d.maxVcpus,
    })),
    workloads: WORKLOADS.map((w) => ({
      name: w.name,
      description: w.description,
      needs: [...w.needs, ...(w.needsExtensions ?? [])],
      defaultVcpus: w.defaultVcpus,
      supportedBy: hv.irqchipDescriptors
        .filter((d) => !unsupportedReason(hv, d, w, Math.min(w.defaultVcpus, d.maxVcpus)))
        .map((d) => d.name),
    })),
    profiles: hv.costProfiles.map((p) => ({ name: p.name, description: p.description })),
    extensions: hv.extensions.map((e) => e.name),
    plugins: setup.loaded,
    missing: setup.missing,
  };
  if (o.json) return json(doc);
  out('Interrupt controllers');
  out(
    table(
      ['name', 'aliases', 'max vCPUs', 'features', 'description'],
      doc.irqchips.map((d) => [d.name, d.aliases.join(',') || '-', String(d.maxVcpus), d.features.join(','), d.description]),
    ),
  );
  out('\nWorkloads');
  out(
    table(
      ['name', 'needs', 'runs on', 'description'],
      doc.workloads.map((w) => [w.name, w.needs.join(',') || '-', w.supportedBy.join(',') || '-', w.description]),
    ),
  );
  out('\nCost profiles');
  out(
    table(
      ['name', 'description'],
      doc.profiles.map((p) => [p.name, p.description]),
    ),
  );
  out(`\nVM extensions: ${doc.extensions.join(', ') || 'none'}`);
  out(`Plugins: ${doc.plugins.join(', ')}`);
  for (const m of setup.missing) out(`not available: ${m.name} (${m.reason})`);
}

interface RunOpts extends CommonOpts {
  irqchip: string;
  workload: string;
  vcpus?: number;
  profile?: string;
  seed?: number;
  duration?: number;
  lookahead?: number;
  json?: boolean;
  trace?: string;
  dump?: boolean;
  quiet?: boolean;
}

function cmdRun(o: RunOpts): void {
  const setup = setupFor(o, o.trace ? 2_000_000 : 1);
  const { hv } = setup;
  const irqchip = o.irqchip;
  const workload = findWorkload(o.workload)!;
  const profile = o.profile ?? profileNames(hv)[0];
  const desc = hv.irqchip(irqchip);
  const vcpus = o.vcpus ?? Math.min(workload.defaultVcpus, desc.maxVcpus);
  const seed = o.seed ?? 1;
  const durationNs = o.duration ?? 1e9;
  const lookaheadNs = o.lookahead;
  checkLookahead(hv, lookaheadNs, [profile]);
  const why = unsupportedReason(hv, desc, workload, vcpus);
  if (why) {
    const ok = runnableOn(hv, workload, vcpus);
    throw new UsageError(
      `workload '${workload.name}' cannot run on '${irqchip}' with ${vcpus} vCPUs: ${why} (valid irqchips: ${ok.join(', ') || 'none'})`,
    );
  }
  if (o.trace) {
    const file = o.trace;
    io(`cannot write --trace ${file}`, () => {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      fs.writeFileSync(file, '');
    });
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
    const file = o.trace;
    const names = new Map<number, string>(vm ? [[vm.id, vm.name]] : []);
    const doc = toChromeTrace(hv.trace, names);
    io(`cannot write --trace ${file}`, () => fs.writeFileSync(file, JSON.stringify(doc)));
    traceInfo = { file, events: doc.traceEvents.length, dropped: hv.trace.dropped };
  }
  const dump = o.dump && vm ? vm.dump() : undefined;
  const lookahead = vm?.lookaheadNs ?? lookaheadNs;
  void vm?.destroy();
  if (r.status !== 'ok') exitCode = EXIT.FAILED;
  if (o.json) {
    const { vm: _vm, ...rest } = r;
    void _vm;
    return json({
      ...rest,
      seed,
      durationNs,
      lookaheadNs: lookahead,
      ...(traceInfo ? { trace: traceInfo } : {}),
      ...(dump !== undefined ? { dump } : {}),
    });
  }
  out(
    `irqflow run: ${r.irqchip} · ${r.workload} · profile ${r.profile} · ${r.vcpus} vCPUs · seed ${seed}${lookahead !== undefined ? ` · lookahead ${+lookahead.toPrecision(4)} ns` : ''}`,
  );
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
  const top = Object.entries(r.costBreakdown)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  if (top.length) {
    out('\nWhere the time goes (top cost components, simulated ns per interrupt)');
    out(
      table(
        ['component', 'ns/irq'],
        top.map(([k, v]) => [k, fmt(v, 1)]),
      ),
    );
  }
  out('\nExits by reason');
  out(
    table(
      ['reason', 'count', 'per irq'],
      Object.entries(r.exitsByReason).map(([k, v]) => [k, String(v), fmt(r.interrupts ? v / r.interrupts : 0)]),
    ),
  );
  const traps = Object.entries(r.traps).sort((a, b) => b[1] - a[1]);
  if (traps.length) {
    out('\nTraps (system registers and hypercalls)');
    out(
      table(
        ['trap', 'count', 'per irq'],
        traps.map(([k, v]) => [k, String(v), fmt(r.interrupts ? v / r.interrupts : 0)]),
      ),
    );
  }
  if (traceInfo)
    out(
      `\ntrace: ${traceInfo.events} events written to ${traceInfo.file} (open in ui.perfetto.dev)${traceInfo.dropped ? `; ${traceInfo.dropped} events dropped (buffer full)` : ''}`,
    );
  if (dump !== undefined) out(`\n${dump}`);
}

interface CompareOpts extends CommonOpts {
  workload?: string;
  profile?: string;
  vcpus?: number;
  seed?: number;
  lookahead?: number;
  json?: boolean;
  report?: string;
  quiet?: boolean;
}

/** Runs a comparison and returns every result. */
function compare(setup: HypervisorSetup, o: CompareOpts): { results: WorkloadResult[]; workloads: string[]; profiles: string[] } {
  const { hv } = setup;
  const workloads = o.workload === undefined ? [DEFAULT_WORKLOAD] : o.workload === 'all' ? WORKLOADS.map((w) => w.name) : [o.workload];
  const profiles = o.profile === undefined ? profileNames(hv) : [o.profile];
  const vcpus = o.vcpus;
  const lookaheadNs = o.lookahead;
  checkLookahead(hv, lookaheadNs, profiles);
  const progress = new Progress(!!o.quiet || !!o.json);
  const results: WorkloadResult[] = [];
  const chips = irqchipNames(hv);
  const total = workloads.length * profiles.length * chips.length;
  for (const wn of workloads) {
    const w = findWorkload(wn)!;
    for (const p of profiles) {
      for (const c of chips) {
        progress.update(results.length / total, `${wn} ${p} ${c}`);
        results.push(runWorkload(hv, w, { irqchip: c, profile: p, vcpus: vcpus ?? w.defaultVcpus, lookaheadNs, seed: o.seed }));
      }
    }
  }
  progress.done();
  return { results, workloads, profiles };
}

/** Creates a directory that output goes to, before anything runs. @throws CliIoError */
function prepareDir(flag: string, dir: string): void {
  io(`cannot create ${flag} directory ${dir}`, () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  });
}

function cmdCompare(o: CompareOpts, argv: readonly string[]): void {
  const setup = setupFor(o);
  if (o.report) prepareDir('--report', o.report);
  const { results, workloads, profiles } = compare(setup, o);
  const ok = results.filter((r) => r.status === 'ok');
  const errors = results.filter((r) => r.status === 'mismatch' || r.status === 'error' || r.status === 'truncated');
  if (errors.length) exitCode = EXIT.FAILED;
  else if (!ok.length) {
    exitCode = EXIT.NOTHING_RAN;
    const why = [...new Set(results.map((r) => r.message).filter(Boolean))].slice(0, 3).join('; ');
    process.stderr.write(`irqflow: nothing ran: every controller × profile combination is unsupported (${why})\n`);
  }
  let reportFiles: string[] = [];
  if (o.report) {
    const dir = o.report;
    reportFiles = io(`writing --report ${dir}`, () =>
      writeReport(dir, {
        results,
        irqchips: irqchipNames(setup.hv),
        profiles,
        workloads,
        command: `irqflow ${argv.join(' ')}`,
      }),
    );
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
      unsupported: results
        .filter((r) => r.status === 'unsupported')
        .map((r) => ({ irqchip: r.irqchip, workload: r.workload, profile: r.profile, reason: r.message })),
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
              ? [
                  r.irqchip,
                  String(r.vcpus),
                  String(r.interrupts),
                  fmt(r.exitsPerInterrupt),
                  fmt(r.simNsPerInterrupt, 0),
                  Object.entries(r.exitsByReason)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' '),
                  r.path,
                  'ok',
                ]
              : [r.irqchip, String(r.vcpus), '-', '-', '-', '', r.path || '-', `${r.status}: ${r.message ?? ''}`],
          ),
        ),
      );
    }
  }
  for (const m of setup.missing) out(`not available: ${m.name} (${m.reason})`);
  if (reportFiles.length) out(`\nreport: ${reportFiles[0]} (${reportFiles.length - 1} charts)`);
}

interface SweepOpts extends CommonOpts {
  irqchip?: string[];
  workload?: string[];
  profile?: string[];
  vcpus?: number[];
  lrs?: number[];
  seeds?: number;
  duration?: number;
  out: string;
  jobs?: number;
  queue?: string;
  json?: boolean;
  quiet?: boolean;
}

async function cmdSweep(o: SweepOpts): Promise<void> {
  const { hv } = setupFor(o);
  const plan = {
    irqchips: o.irqchip ?? irqchipNames(hv),
    workloads: o.workload ?? [DEFAULT_WORKLOAD],
    profiles: o.profile ?? [profileNames(hv)[0]],
    vcpus: o.vcpus ?? [2, 4],
    lrs: o.lrs ?? [null],
    seeds: o.seeds ?? 1,
    durationNs: o.duration ?? 1e9,
  };
  const s = await runSweep({
    plan,
    out: o.out,
    plugins: pluginFiles(o.plugin ?? []),
    threads: o.jobs ?? Math.max(1, Math.min(os.availableParallelism(), 8)),
    queue: o.queue,
    quiet: !!o.quiet || !!o.json,
  });
  const failed = s.rows.filter((r) => r.status !== 'ok' && r.status !== 'unsupported');
  const ok = s.rows.filter((r) => r.status === 'ok');
  if (failed.length) exitCode = EXIT.FAILED;
  else if (!ok.length) exitCode = EXIT.NOTHING_RAN;
  const summary = {
    points: s.points,
    ran: s.ran,
    resumed: s.points - s.ran,
    ok: ok.length,
    unsupported: s.rows.length - ok.length - failed.length,
    failed: failed.length,
    files: s.files,
  };
  if (o.json) return json(summary);
  out(
    `irqflow sweep: ${s.points} points (${s.ran} run now, ${summary.resumed} already in ${o.out}): ${ok.length} ok, ${summary.unsupported} unsupported, ${failed.length} failed`,
  );
  for (const r of failed.slice(0, 10))
    out(`failed: ${r.irqchip} ${r.workload} ${r.profile} ${r.vcpus} vCPUs seed ${r.seed}: ${r.status} ${r.message ?? ''}`);
  out(`wrote ${s.files.length} files: ${s.files.map((f) => path.basename(f)).join(', ')}`);
}

async function cmdWorker(o: CommonOpts & { queue: string; jobs?: number; quiet?: boolean }): Promise<void> {
  const own = pluginFiles(o.plugin ?? []);
  const jobs = o.jobs ?? 1;
  const runner = createRunner(jobs);
  const ctl = new AbortController();
  const stop = (): void => ctl.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  let n = 0;
  if (!o.quiet) process.stderr.write(`irqflow worker: taking sweep points from ${o.queue} (${jobs} thread${jobs === 1 ? '' : 's'})\n`);
  try {
    await runQueueWorker(o.queue, runner, jobs, own, ctl.signal, () => void n++);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await runner.close();
  }
  if (!o.quiet) process.stderr.write(`irqflow worker: stopped after ${n} points\n`);
}

function cmdBench(o: { json?: boolean; filter?: string; quiet?: boolean }): void {
  const root = process.env.IRQFLOW_BENCH_ROOT ?? path.resolve(__dirname, '..', '..', '..');
  const progress = new Progress(!!o.quiet || !!o.json);
  const rep = runBenches(root, o.filter, (f, i, n) => progress.update(i / n, path.basename(f)));
  progress.done();
  if (rep.errors.length) exitCode = EXIT.FAILED;
  if (o.json) return json(rep.errors.length ? rep : { benchmarks: rep.benchmarks });
  const num = (x: number | undefined): string => (x === undefined ? '-' : String(+Number(x).toPrecision(6)));
  out(
    table(
      ['benchmark', 'value', 'min – max', 'unit', 'baseline', 'ratio', 'better'],
      rep.benchmarks.map((b) => [
        b.name,
        num(b.value),
        b.min === undefined ? '-' : `${num(b.min)} – ${num(b.max)}`,
        b.unit,
        num(b.baseline),
        fmt(b.ratio),
        b.better ?? '-',
      ]),
    ),
  );
  for (const e of rep.errors) out(`failed: ${e.file}: ${e.message}`);
}

/** argParser: a `redis://HOST:PORT` URL. */
const queueArg = parsed((v: string): string => (parseQueueUrl(v), v));

/**
 * Builds the program (exported for tests). The `--plugin` values are read from `argv` first, so that the
 * controllers and profiles they register are valid choices.
 * @throws PluginLoadError (a UsageError) for a --plugin that cannot be loaded
 */
export function buildProgram(argv: readonly string[]): Command {
  const base = createHypervisor({ traceCapacity: 1 }, scanPluginArgs(argv));
  const hv = base.hv;
  const chips = (): string[] => irqchipNames(hv);
  const profiles = (): string[] => profileNames(hv);
  const workloads = WORKLOADS.map((w) => w.name);
  const irqchipArg = oneOf('irqchip', chips, (v) => hv.irqchipName(v));
  const profileArg = oneOf('profile', profiles);
  /** What a missing option value lists, by long flag. */
  const valuesOf: Record<string, () => readonly string[]> = {
    '--irqchip': chips,
    '--workload': () => workloads,
    '--profile': profiles,
  };

  const program = new Command('irqflow');
  program
    .description('irqflow: run and compare arm64 KVM interrupt controllers in simulated time')
    .version(VERSION, '-V, --version', 'print the irqflow version')
    .showSuggestionAfterError(false);
  const valid = (cmd: Command): string =>
    cmd.options
      .map((o) => o.long)
      .filter((x): x is string => !!x)
      .join(', ');
  const fail =
    (cmd: Command) =>
    (err: CommanderError): never => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') throw err;
      const msg = err.message.replace(/^error: /, '').split('\n')[0];
      if (err.code === 'commander.unknownCommand')
        throw new UsageError(`${msg} (valid: ${program.commands.map((c) => c.name()).join(', ')})`);
      if (err.code === 'commander.invalidArgument') {
        const m = /^option '(--[\w-]+)[^']*' argument '([^']*)' is invalid\. (.*)$/.exec(msg);
        if (m) {
          const allowed = /^Allowed choices are (.*)\.$/.exec(m[3]);
          throw new UsageError(allowed ? `unknown ${m[1].slice(2)} '${m[2]}' (valid: ${allowed[1]})` : m[3]);
        }
        throw new UsageError(msg);
      }
      const flag = /'(--[\w-]+)/.exec(msg)?.[1];
      if (
        (err.code === 'commander.optionMissingArgument' || err.code === 'commander.missingMandatoryOptionValue') &&
        flag &&
        valuesOf[flag]
      )
        throw new UsageError(`${msg} (valid: ${valuesOf[flag]().join(', ')})`);
      throw new UsageError(`${msg} (valid: ${valid(cmd)})`);
    };
  program.exitOverride(fail(program)).configureOutput({ outputError: () => {} });

  const list = program
    .command('list')
    .description('registered controllers, workloads and cost profiles')
    .option('--json', 'one JSON document');
  list.action((o: CommonOpts & { json?: boolean }) => cmdList(o));

  const lookaheadOpt = (): Option =>
    new Option(
      '--lookahead <simtime>',
      "how far a vCPU may run ahead on its own state (0 = lockstep; default and largest allowed: the profile's ipiLatency)",
    ).argParser(parsed(parseLookahead));
  const run = program
    .command('run')
    .description('run one workload on one VM')
    .addOption(
      new Option('--irqchip <name>', 'controller (name or alias, e.g. gic-v3 / gicv3)').makeOptionMandatory().argParser(irqchipArg),
    )
    .addOption(new Option('--workload <name>', 'workload').makeOptionMandatory().choices(workloads))
    .addOption(new Option('--vcpus <n>', 'vCPU count').argParser(intIn('--vcpus', 1, 512)))
    .addOption(new Option('--profile <name>', 'cost profile').argParser(profileArg))
    .addOption(new Option('--seed <n>', 'seed of the workload’s arrival jitter').argParser(intIn('--seed', 0, 2 ** 31 - 1)))
    .addOption(new Option('--duration <simtime>', 'simulated-time limit (e.g. 10ms, 500us, 1000000ns)').argParser(parsed(parseDuration)))
    .addOption(lookaheadOpt())
    .option('--json', 'one JSON document')
    .option('--trace <file>', 'write a Chrome trace-event JSON file')
    .option('--dump', "print the controller's state dump at the end")
    .option('--quiet', 'no progress bar');
  run.action((o: RunOpts) => cmdRun(o));

  const cmp = program
    .command('compare')
    .description('the same workload on every registered controller')
    .addOption(new Option('--workload <name>', `workload or "all" (default ${DEFAULT_WORKLOAD})`).choices([...workloads, 'all']))
    .addOption(new Option('--profile <name>', 'one cost profile (default: all)').argParser(profileArg))
    .addOption(new Option('--vcpus <n>', 'vCPU count').argParser(intIn('--vcpus', 1, 512)))
    .addOption(new Option('--seed <n>', 'seed of the workloads’ arrival jitter (default 1)').argParser(intIn('--seed', 0, 2 ** 31 - 1)))
    .addOption(lookaheadOpt())
    .option('--json', 'one JSON document')
    .option('--report <dir>', 'write report.md with SVG charts')
    .option('--quiet', 'no progress bar');
  cmp.action((o: CompareOpts) => cmdCompare(o, argv));

  const sweep = program
    .command('sweep')
    .description(
      'run the cross product of controllers, workloads, profiles, vCPUs, LRs and seeds in parallel; write results.csv, results.jsonl and charts',
    )
    .requiredOption('--out <dir>', 'output directory (an interrupted sweep resumes from it)')
    .addOption(new Option('--irqchip <list>', 'controllers, comma-separated (default: all registered)').argParser(listOf(irqchipArg)))
    .addOption(
      new Option('--workload <list>', `workloads, comma-separated (default ${DEFAULT_WORKLOAD})`).argParser(
        listOf(oneOf('workload', () => workloads)),
      ),
    )
    .addOption(new Option('--profile <list>', 'cost profiles, comma-separated (default: the first)').argParser(listOf(profileArg)))
    .addOption(new Option('--vcpus <list>', 'vCPU counts, comma-separated (default 2,4)').argParser(listOf(intIn('--vcpus', 1, 512))))
    .addOption(
      new Option('--lrs <list>', 'list-register counts (nrLrs board option), comma-separated (default: the controller’s)').argParser(
        listOf(intIn('--lrs', 1, 16)),
      ),
    )
    .addOption(new Option('--seeds <n>', 'seeds 1..N per point (default 1)').argParser(intIn('--seeds', 1, 10_000)))
    .addOption(new Option('--duration <simtime>', 'simulated-time limit per point (default 1s)').argParser(parsed(parseDuration)))
    .addOption(
      new Option('--jobs <n>', 'worker threads (0: run in this thread; default: the CPU count, at most 8)').argParser(
        intIn('--jobs', 0, 256),
      ),
    )
    .addOption(new Option('--queue <url>', 'redis://HOST:PORT: put the points on a BullMQ queue for `irqflow worker`s').argParser(queueArg))
    .option('--json', 'one JSON summary document')
    .option('--quiet', 'no progress bar');
  sweep.action((o: SweepOpts) => cmdSweep(o));

  const worker = program
    .command('worker')
    .description('run sweep points from a queue until stopped (SIGTERM/SIGINT)')
    .addOption(new Option('--queue <url>', 'redis://HOST:PORT').makeOptionMandatory().argParser(queueArg))
    .addOption(new Option('--jobs <n>', 'worker threads, and points taken at a time (default 1)').argParser(intIn('--jobs', 1, 256)))
    .option('--quiet', 'no messages');
  worker.action((o: CommonOpts & { queue: string; jobs?: number; quiet?: boolean }) => cmdWorker(o));

  const bench = program
    .command('bench')
    .description('run the benchmark suites of all packages')
    .option('--json', 'one JSON document')
    .option('--filter <name>', 'only benchmarks whose name contains this')
    .option('--quiet', 'no progress bar');
  bench.action((o: { json?: boolean; filter?: string; quiet?: boolean }) => cmdBench(o));

  // microbench (its own module); its exit handling and --plugin come from the loop below like every command's
  registerMicrobenchCommand(
    program,
    () => createHypervisor({ traceCapacity: 1 }).hv,
    out,
    () => {},
  );

  // Every command — including ones registered above this line later — gets --plugin and the one-line errors,
  // and before its action runs the --plugin modules become process defaults, so createHypervisor() loads them.
  for (const c of program.commands) {
    if (!c.options.some((x) => x.long === '--plugin')) addPluginOption(c);
    c.exitOverride(fail(c)).configureOutput({ outputError: () => {} });
  }
  program.hook('preAction', (_p, action) => setProcessPluginModules(action.opts<CommonOpts>().plugin ?? []));
  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code ({@link EXIT}). */
export async function main(argv: readonly string[]): Promise<number> {
  exitCode = EXIT.OK;
  setProcessPluginModules([]);
  try {
    if (argv.length === 0) {
      process.stderr.write(buildProgram(argv).helpInformation());
      return EXIT.USAGE;
    }
    await buildProgram(argv).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof UsageError) {
      process.stderr.write(`irqflow: ${e.message}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof CliIoError) {
      process.stderr.write(`irqflow: ${e.message}\n`);
      return EXIT.IO;
    }
    process.stderr.write(`irqflow: ${(e as Error).message}\n`);
    return EXIT.FAILED;
  }
}

/** The binary's entry: runs {@link main} and sets the process exit code. */
export function runCli(argv: readonly string[]): void {
  // A closed pipe (`irqflow list | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  void main(argv).then((code) => {
    process.exitCode = code;
  });
}

/* istanbul ignore next */
if (require.main === module) runCli(process.argv.slice(2));
