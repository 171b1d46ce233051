/**
 * A controller that lives outside irqflow reaches every command through `--plugin`: the fixture
 * test/fixtures/my-chip.js ("mine", no imports) is copied into a temporary directory and loaded from there by
 * path (relative to the working directory, or absolute) and by package name; `npx irqflow` works from a
 * checkout. Modules that are missing or export no plugin give one line and exit code 2.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { IrqflowPlugin } from '@irqflow/core';
import { createHypervisor, findWorkload, loadPlugin, PluginLoadError, runWorkload, setProcessPluginModules } from '@irqflow/examples';
import { buildProgram } from '../../src/cli';
import { parseJson, type CompareDoc, type ListDoc, type PackageJson, type RunDoc, type SweepRow } from '../support/cli-json';
import { ensureBuilt, irqflow, ROOT } from '../support/spawn-cli';

jest.setTimeout(120_000);

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'my-chip.js');

describe('--plugin: a controller from outside the project', () => {
  let tmp: string;
  beforeAll(() => {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irqflow-plugin-'));
    fs.copyFileSync(FIXTURE, path.join(tmp, 'my-chip.js'));
    fs.writeFileSync(path.join(tmp, 'empty.js'), 'module.exports = { notAPlugin: 1 };\n');
    fs.writeFileSync(path.join(tmp, 'broken.js'), "throw new Error('boom at load');\n");
    const pkg = path.join(tmp, 'node_modules', 'my-chip-pkg');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'my-chip-pkg', version: '1.0.0', main: 'index.js' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), "module.exports = { default: require('../../my-chip.js').plugin };\n");
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('npx irqflow --version and run --plugin ./my-chip.js from a temporary directory', () => {
    const bin = parseJson<PackageJson>(fs.readFileSync(path.join(ROOT, 'packages', 'examples', 'package.json'), 'utf8')).bin.irqflow;
    expect(fs.statSync(path.join(ROOT, 'packages', 'examples', bin)).mode & 0o111).not.toBe(0);
    const npx = (args: string[], cwd: string) =>
      spawnSync('npx', ['--prefix', ROOT, 'irqflow', ...args], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, CI: '1' },
        timeout: 120_000,
      });
    const v = npx(['--version'], ROOT);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(
      parseJson<PackageJson>(fs.readFileSync(path.join(ROOT, 'packages', 'examples', 'package.json'), 'utf8')).version,
    );
    const r = npx(['run', '--plugin', './my-chip.js', '--irqchip', 'mine', '--workload', 'ipi-pingpong', '--json'], tmp);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = parseJson<RunDoc>(r.stdout);
    expect(doc).toMatchObject({ irqchip: 'mine', workload: 'ipi-pingpong', status: 'ok', sent: 400, interrupts: 400 });
    expect(doc.traps['mine.ACK']).toBe(400);
  });

  it('compare --plugin (absolute path) runs the third-party controller next to the built-in ones', () => {
    const r = irqflow([
      'compare',
      '--plugin',
      path.join(tmp, 'my-chip.js'),
      '--workload',
      'ipi-pingpong',
      '--profile',
      'gicv3-vhe',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const chips = parseJson<CompareDoc>(r.stdout).rows.map((x) => x.irqchip);
    expect(chips).toEqual(expect.arrayContaining(['gic-v3', 'rvic', 'pic', 'mine']));
  });

  it('sweep --plugin: worker threads load the controller too', () => {
    const r = irqflow(
      [
        'sweep',
        '--plugin',
        './my-chip.js',
        '--irqchip',
        'mine',
        '--workload',
        'ipi-pingpong',
        '--vcpus',
        '2',
        '--seeds',
        '2',
        '--jobs',
        '2',
        '--out',
        'sw',
        '--json',
      ],
      { cwd: tmp },
    );
    expect(r.code).toBe(0);
    expect(parseJson<unknown>(r.stdout)).toMatchObject({ points: 2, ok: 2 });
    const rows = fs
      .readFileSync(path.join(tmp, 'sw', 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => parseJson<SweepRow>(l));
    expect(rows.map((x) => [x.irqchip, x.seed, x.interrupts])).toEqual([
      ['mine', 1, 400],
      ['mine', 2, 400],
    ]);
  });

  it('a package name resolves from the working directory; list shows its controller', () => {
    const r = irqflow(['list', '--json', '--plugin', 'my-chip-pkg'], { cwd: tmp });
    expect(r.code).toBe(0);
    expect(parseJson<ListDoc>(r.stdout).irqchips.map((d) => d.name)).toContain('mine');
    expect(parseJson<ListDoc>(r.stdout).plugins).toContain('my-chip');
  });

  it.each([
    [['./missing.js'], /--plugin '\.\/missing\.js': no such module/],
    [['./empty.js'], /--plugin '\.\/empty\.js': .*exports no IrqflowPlugin \(expected a default export or an export named 'plugin'/],
    [['./broken.js'], /--plugin '\.\/broken\.js': loading .* failed: boom at load/],
    [['no-such-package-xyz'], /--plugin 'no-such-package-xyz': package not found/],
  ])('%j: exit code 2, one line', (spec, re) => {
    const r = irqflow(['run', '--plugin', ...spec, '--irqchip', 'mine', '--workload', 'ipi-pingpong'], { cwd: tmp });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  });
});

describe('loadPlugin and optional capabilities (in-process)', () => {
  it('loads the default export or `plugin`, and names what is wrong otherwise', () => {
    expect(loadPlugin(FIXTURE).name).toBe('my-chip');
    expect(() => loadPlugin(path.join(__dirname, 'nope.js'))).toThrow(PluginLoadError);
  });

  it('a controller without IPIs runs the workloads that need none; ones that need IPIs are unsupported', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain-JS fixture loaded by path, as the CLI loads plugins
    const { noIpiPlugin } = require(FIXTURE) as { noIpiPlugin: IrqflowPlugin };
    const { hv } = createHypervisor({ traceCapacity: 1 }, [noIpiPlugin]);
    const r = runWorkload(hv, findWorkload('virtio-msi')!, { irqchip: 'mine-noipi' });
    expect(r.message).toBeUndefined();
    expect(r).toMatchObject({ status: 'ok', path: 'spi-irqfd', interrupts: 200 });
    expect(runWorkload(hv, findWorkload('ipi-pingpong')!, { irqchip: 'mine-noipi' }).status).toBe('unsupported');
    expect(typeof hv.irqchip('mine-noipi').setup).toBe('function');
  });
});

describe('--plugin reaches every command, also ones that only call createHypervisor()', () => {
  afterEach(() => setProcessPluginModules([]));

  it("before a command's action runs, its --plugin modules become the process defaults", async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await buildProgram(['list', '--json', '--plugin', FIXTURE]).parseAsync(['list', '--json', '--plugin', FIXTURE], { from: 'user' });
    } finally {
      out.mockRestore();
    }
    expect(createHypervisor({ traceCapacity: 1 }).hv.irqchip('mine').name).toBe('mine');
    setProcessPluginModules([]);
    expect(() => createHypervisor({ traceCapacity: 1 }).hv.irqchip('mine')).toThrow(/unknown irqchip/);
  });

  it('compare --seed changes the arrival times and so the numbers', () => {
    const run = (seed: string) =>
      parseJson<CompareDoc>(
        irqflow(['compare', '--workload', 'ipi-pingpong', '--profile', 'gicv3-vhe', '--seed', seed, '--json']).stdout,
      ).rows.find((r) => r.irqchip === 'gic-v3');
    expect(run('1')?.simNsPerInterrupt).not.toBe(run('2')?.simNsPerInterrupt);
  });
});
