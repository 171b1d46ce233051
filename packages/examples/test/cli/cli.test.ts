/**
 * Spawns the built CLI (packages/examples/dist/cli.js, rebuilt from the sources by jest's global setup). Few spawns, short runs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { parseJson, type BenchDoc, type ChromeTrace, type CompareDoc, type ListDoc, type RunDoc } from '../support/cli-json';
import { ensureBuilt } from '../support/spawn-cli';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const cli = path.join(root, 'packages', 'examples', 'dist', 'cli.js');

function irqflow(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(ensureBuilt);

jest.setTimeout(60_000);

describe('irqflow CLI', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irqflow-cli-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  let irqchips: string[] = [];

  it('list --json names controllers, workloads and profiles', () => {
    const r = irqflow(['list', '--json']);
    expect(r.code).toBe(0);
    const doc = parseJson<ListDoc>(r.stdout);
    irqchips = doc.irqchips.map((d) => d.name);
    expect(irqchips).toContain('pic');
    expect(doc.workloads.map((w) => w.name)).toEqual(
      expect.arrayContaining(['ipi-pingpong', 'timer-tick', 'virtio-msi', 'level-intx', 'passthrough', 'mixed']),
    );
    expect(doc.profiles.map((p) => p.name)).toContain('gicv3-vhe');
    const human = irqflow(['list']);
    expect(human.stdout).toMatch(/Interrupt controllers[\s\S]*pic/);
  });

  it('run --json with every option: counts, trace with one track per vCPU, dump', () => {
    const trace = path.join(tmp, 'trace.json');
    const r = irqflow([
      'run',
      '--irqchip',
      'pic',
      '--workload',
      'ipi-pingpong',
      '--vcpus',
      '2',
      '--profile',
      'gicv2-nonvhe',
      '--seed',
      '3',
      '--duration',
      '10ms',
      '--json',
      '--trace',
      trace,
      '--dump',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = parseJson<RunDoc>(r.stdout);
    expect(doc).toMatchObject({
      irqchip: 'pic',
      workload: 'ipi-pingpong',
      profile: 'gicv2-nonvhe',
      vcpus: 2,
      seed: 3,
      status: 'ok',
      interrupts: 400,
      sent: 400,
    });
    expect(doc.durationNs).toBe(10_000_000);
    expect(typeof doc.exitsPerInterrupt).toBe('number');
    expect(typeof doc.simNsPerInterrupt).toBe('number');
    expect(doc.exitsByReason['mmio-kernel']).toBeGreaterThan(0);
    expect(doc.dump).toMatch(/pic: base=/);
    const t = parseJson<ChromeTrace>(fs.readFileSync(trace, 'utf8'));
    expect(Array.isArray(t.traceEvents)).toBe(true);
    const threads = t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args?.name);
    expect(threads.filter((n) => typeof n === 'string' && n.startsWith('vcpu')).sort()).toEqual(['vcpu0', 'vcpu1']);
    for (const e of t.traceEvents) {
      expect(typeof e.ts).toBe('number');
      expect(['X', 'i', 'M', 'C', 's', 'f']).toContain(e.ph);
    }
  });

  it('run --lookahead sets the VM lookahead (0 = lockstep, units accepted) and reports it', () => {
    const args = ['run', '--irqchip', 'pic', '--workload', 'ipi-pingpong', '--vcpus', '2', '--duration', '2ms', '--json'];
    const lockstep = parseJson<RunDoc>(irqflow([...args, '--lookahead', '0']).stdout);
    const ahead = parseJson<RunDoc>(irqflow([...args, '--lookahead', '0.03us']).stdout);
    expect(lockstep).toMatchObject({ status: 'ok', lookaheadNs: 0 });
    expect(ahead).toMatchObject({ status: 'ok', lookaheadNs: 30 });
    expect(ahead.interrupts).toBe(lockstep.interrupts);
    // above the profile's ipiLatency results could differ from lockstep: a usage error naming the bound, exit 2
    for (const cmd of [args, ['compare', '--workload', 'ipi-pingpong', '--json']]) {
      const bad = irqflow([...cmd, '--lookahead', '1.5us']);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/invalid --lookahead 1500 ns for profile \S+ \(valid: 0 to its ipiLatency, [\d.]+ ns/);
    }
    // the bound is per profile: 40 ns is within seattle-vhe's (50 ns) but not gicv3-vhe's (33.3 ns)
    const within = parseJson<RunDoc>(irqflow([...args, '--profile', 'seattle-vhe', '--lookahead', '40']).stdout);
    expect(within).toMatchObject({ profile: 'seattle-vhe', lookaheadNs: 40 });
    expect(irqflow([...args, '--lookahead', '40']).stderr).toMatch(/profile gicv3-vhe \(valid: 0 to its ipiLatency, 33.3333 ns/);
    // the text header shows the default lookahead (the profile's ipiLatency, 100 cycles at 3 GHz) rounded
    const text = irqflow(['run', '--irqchip', 'pic', '--workload', 'ipi-pingpong', '--duration', '1ms', '--quiet']).stdout;
    expect(text.split('\n')[0]).toMatch(/ · lookahead 33\.33 ns$/);
  });

  it('run prints human-readable tables', () => {
    const r = irqflow(['run', '--irqchip', 'pic', '--workload', 'level-intx', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/interrupts delivered\s+150/);
    expect(r.stdout).toMatch(/Exits by reason/);
  });

  it('compare --json rows have the documented shape and --report charts name every controller', () => {
    const dir = path.join(tmp, 'report');
    const r = irqflow(['compare', '--workload', 'ipi-pingpong', '--profile', 'gicv3-vhe', '--vcpus', '2', '--json', '--report', dir]);
    expect(r.code).toBe(0);
    const doc = parseJson<CompareDoc>(r.stdout);
    expect(doc.rows.length).toBeGreaterThan(0);
    for (const row of doc.rows) {
      expect(Object.keys(row).sort()).toEqual([
        'exitsByReason',
        'exitsPerInterrupt',
        'interrupts',
        'irqchip',
        'profile',
        'simNsPerInterrupt',
        'vcpus',
        'workload',
      ]);
      expect(row.interrupts).toBe(400);
    }
    expect(doc.rows.map((x) => x.irqchip)).toContain('pic');
    const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
    const svgs = fs.readdirSync(dir).filter((f) => f.endsWith('.svg'));
    expect(svgs.sort()).toEqual(['ipi-pingpong-exits-per-interrupt.svg', 'ipi-pingpong-ns-per-interrupt.svg']);
    for (const f of svgs) {
      const svg = fs.readFileSync(path.join(dir, f), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const c of irqchips) expect(svg).toContain(`>${c}</text>`);
      expect(md).toContain(`](${f})`);
    }
    const human = irqflow(['compare', '--workload', 'ipi-pingpong', '--profile', 'gicv3-vhe']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/ipi-pingpong · profile gicv3-vhe/);
  });

  it('bench --json merges every *.bench.js suite (rows with better and min/median/max) and --filter narrows it', () => {
    const fake = path.join(tmp, 'fake');
    for (const [pkg, names] of [
      ['a', ['x/one', 'x/two']],
      ['b', ['y/three']],
    ] as const) {
      const d = path.join(fake, 'packages', pkg, 'dist', 'bench');
      fs.mkdirSync(d, { recursive: true });
      const doc = {
        benchmarks: names.map((name, i) => ({
          name,
          value: 2 + i,
          unit: 'ns',
          baseline: 2,
          ratio: (2 + i) / 2,
          better: 'lower',
          min: 1 + i,
          median: 2 + i,
          max: 3 + i,
        })),
      };
      fs.writeFileSync(
        path.join(d, 's.bench.js'),
        `if (!process.argv.includes('--json')) process.exit(3); console.log(${JSON.stringify(JSON.stringify(doc))});`,
      );
      // a benchmark's helper module is not a benchmark: were it run, its exit status would fail the command
      fs.writeFileSync(path.join(d, 'helper.js'), 'process.exit(4);');
    }
    const all = irqflow(['bench', '--json'], { IRQFLOW_BENCH_ROOT: fake });
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({
      benchmarks: [
        { name: 'x/one', value: 2, unit: 'ns', baseline: 2, ratio: 1, better: 'lower', min: 1, median: 2, max: 3 },
        { name: 'x/two', value: 3, unit: 'ns', baseline: 2, ratio: 1.5, better: 'lower', min: 2, median: 3, max: 4 },
        { name: 'y/three', value: 2, unit: 'ns', baseline: 2, ratio: 1, better: 'lower', min: 1, median: 2, max: 3 },
      ],
    });
    const some = irqflow(['bench', '--json', '--filter', 'three'], { IRQFLOW_BENCH_ROOT: fake });
    expect(parseJson<BenchDoc>(some.stdout).benchmarks.map((b) => b.name)).toEqual(['y/three']);
    const human = irqflow(['bench', '--filter', 'y/'], { IRQFLOW_BENCH_ROOT: fake });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/y\/three\s+2\s+1 – 3\s+ns\s+2\s+1\S*\s+lower/);
    // a filter naming the suite's file keeps all its rows, and is not passed on as a row filter
    fs.writeFileSync(
      path.join(fake, 'packages', 'a', 'dist', 'bench', 's.bench.js'),
      `if (process.argv.includes('--filter')) process.exit(5); console.log(${JSON.stringify(JSON.stringify({ benchmarks: [{ name: 'x/one', value: 1, unit: 'ns', baseline: 1, ratio: 1 }] }))});`,
    );
    const byFile = irqflow(['bench', '--json', '--filter', 'packages/a/'], { IRQFLOW_BENCH_ROOT: fake });
    expect(byFile.code).toBe(0);
    expect(parseJson<BenchDoc>(byFile.stdout).benchmarks.map((b) => b.name)).toEqual(['x/one']);
  });

  it('no arguments: exit code 2 and the help on stderr, nothing on stdout', () => {
    const r = irqflow([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: irqflow/);
    expect(r.stderr).toMatch(/sweep/);
  });

  it('accepts the kvmtool/QEMU spellings gicv3 and gicv2 for gic-v3 and gic-v2', () => {
    const r = irqflow(['run', '--irqchip', 'gicv3', '--workload', 'ipi-pingpong', '--duration', '2ms', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ irqchip: 'gic-v3', status: 'ok' });
    const v2 = irqflow(['run', '--irqchip', 'gicv2', '--workload', 'ipi-pingpong', '--duration', '2ms', '--json']);
    expect(parseJson<RunDoc>(v2.stdout).irqchip).toBe('gic-v2');
  });

  it('a compare in which nothing ran exits with code 4 and says why', () => {
    const r = irqflow(['compare', '--workload', 'ipi-pingpong', '--profile', 'gicv3-vhe', '--vcpus', '1', '--quiet']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/nothing ran: .*at least 2 vCPUs/);
  });

  it('I/O errors exit with code 3, one line, before anything runs', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const rep = irqflow(['compare', '--workload', 'all', '--report', path.join(file, 'report')]);
    expect(rep.code).toBe(3);
    expect(rep.stdout).toBe('');
    expect(rep.stderr.trim().split('\n')).toHaveLength(1);
    expect(rep.stderr).toMatch(/cannot create --report directory .*a-file\/report: ENOTDIR/);
    const tr = irqflow(['run', '--irqchip', 'pic', '--workload', 'mixed', '--trace', path.join(file, 't.json')]);
    expect(tr.code).toBe(3);
    expect(tr.stderr).toMatch(/cannot write --trace/);
    const sw = irqflow(['sweep', '--irqchip', 'pic', '--workload', 'ipi-pingpong', '--out', path.join(file, 'out')]);
    expect(sw.code).toBe(3);
    expect(sw.stderr).toMatch(/cannot create --out directory/);
  });

  it.each([
    [['run', '--irqchip', 'nope', '--workload', 'mixed'], /unknown irqchip 'nope' \(valid: .*pic/],
    [['compare', '--bogus'], /unknown option '--bogus' \(valid: --workload/],
    [['frobnicate'], /unknown command 'frobnicate' \(valid: list, run, compare, sweep, worker, bench, microbench\)/],
  ])('spawned: exit code 2 and one line for %j', (args, re) => {
    const r = irqflow(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  });

  it.each([
    [['run', '--irqchip', 'pic', '--workload', 'nope'], /unknown workload 'nope' \(valid: ipi-pingpong/],
    [['run', '--irqchip', 'pic', '--workload', 'mixed', '--profile', 'x'], /unknown profile 'x' \(valid: gicv3-vhe/],
    [['run', '--irqchip', 'pic', '--workload', 'mixed', '--vcpus', 'two'], /invalid --vcpus 'two' \(valid: an integer/],
    [['run', '--irqchip', 'pic', '--workload', 'mixed', '--seed', '-1'], /invalid --seed '-1' \(valid: an integer/],
    [['run', '--irqchip', 'pic', '--workload', 'mixed', '--duration', '5parsecs'], /invalid --duration '5parsecs' \(valid:/],
    [['run', '--irqchip', 'pic', '--workload', 'mixed', '--lookahead', 'fast'], /invalid --lookahead 'fast' \(valid: 0 for lockstep/],
    [['compare', '--lookahead', '-5ns'], /invalid --lookahead '-5ns' \(valid:/],
    [['run', '--irqchip', 'pic', '--workload', 'ipi-pingpong', '--vcpus', '1'], /cannot run on 'pic'.*valid irqchips/],
    [['run', '--workload', 'mixed'], /--irqchip.*not specified \(valid: .*pic/],
    [['run', '--irqchip', 'pic'], /--workload.*not specified \(valid: ipi-pingpong/],
    [['compare', '--workload', 'nope'], /unknown workload 'nope' \(valid: .*all/],
    [['compare', '--profile', 'nope'], /unknown profile 'nope'/],
    [['list', '--yaml'], /unknown option '--yaml' \(valid: --json/],
    [['bench', '--filter'], /argument missing/],
    [['run', '--workload', 'mixed', '--irqchip'], /--irqchip <name>' argument missing \(valid: gic-v3, gic-v2, .*rvic, pic\)/],
    [['run', '--irqchip', 'pic', '--workload'], /--workload <name>' argument missing \(valid: ipi-pingpong/],
    [
      ['run', '--irqchip', 'gic-v2', '--workload', 'ipi-pingpong', '--vcpus', '9'],
      /gic-v2 supports at most 8 vCPUs \(valid irqchips: (?!.*gic-v2).*gic-v3/,
    ],
    [['sweep', '--out', '/tmp/x', '--irqchip', 'gic-v3,nope'], /unknown irqchip 'nope' \(valid: gic-v3/],
    [['sweep', '--out', '/tmp/x', '--vcpus', '2,x'], /invalid --vcpus 'x'/],
    [['sweep', '--irqchip', 'pic'], /--out <dir>' not specified/],
    [['worker'], /--queue <url>' not specified/],
    [['sweep', '--out', '/tmp/x', '--queue', 'http://h:1'], /invalid --queue 'http:\/\/h:1' \(valid: redis:\/\/HOST:PORT/],
  ])('in-process: exit code 2 and one line for %j', async (args, re) => {
    const err: string[] = [];
    const outp: string[] = [];
    const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => (outp.push(String(s)), true));
    try {
      expect(await main(args)).toBe(2);
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
    expect(outp.join('')).toBe('');
    expect(err.join('').trim().split('\n')).toHaveLength(1);
    expect(err.join('')).toMatch(re);
  });
});
