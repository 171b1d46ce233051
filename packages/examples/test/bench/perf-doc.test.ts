/**
 * scripts/perf-doc.js: rewrites the marked tables of a performance doc from `node scripts/bench.js --json` output
 * (one JSON document per suite per line), leaving the prose alone. Fixture rows in, markdown out; nothing timed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const script = path.join(root, 'scripts', 'perf-doc.js');

const row = (name: string, unit: string, better: string, min: number, median: number, max: number, baseline: number) => ({
  name,
  value: median,
  unit,
  baseline,
  ratio: median / baseline,
  better,
  min,
  median,
  max,
});

/** What bench.js --json prints: one document per suite, one per line. */
const BENCH_OUTPUT = [
  { benchmarks: [row('interrupts inject→vector→ack→EOI', 'irq/s', 'higher', 900_000, 1_070_000, 1_230_000, 38_800_000)] },
  {
    benchmarks: [
      // gic-v4.1 printed first: the table still puts gic-v3 first
      row('scaling gic-v4.1 pending SPIs 16 vs 1', 'ns/irq', 'lower', 500, 670, 700, 1000),
      row('scaling gic-v4.1 pending SPIs 988 vs 1', 'ns/irq', 'lower', 500, 1200, 1300, 1000),
      row('scaling gic-v3 pending SPIs 16 vs 1', 'ns/irq', 'lower', 500, 600, 700, 750),
      row('scaling gic-v3 pending SPIs 988 vs 1', 'ns/irq', 'lower', 40_000, 41_250, 50_000, 750),
    ],
  },
  {
    benchmarks: [
      row('model/ipi-pingpong/gic-v3', 'irq/s', 'higher', 200_000, 237_000, 250_000, 35_000_000),
      row('model/virtio-msi/gic-v3', 'irq/s', 'higher', 240_000, 251_000, 260_000, 38_000_000),
      row('model/ipi-pingpong/pic', 'irq/s', 'higher', 160_000, 165_000, 170_000, 43_000_000),
    ],
  },
  {
    benchmarks: [
      row('passthrough busy gicv3-vhe exits/irq (gic-v4 vs gic-v3)', 'exits', 'lower', 0, 0, 0, 1),
      row('passthrough busy gicv3-vhe ns/irq (gic-v4 vs gic-v3)', 'ns', 'lower', 48, 48, 48, 622),
    ],
  },
]
  .map((d) => JSON.stringify(d))
  .join('\n');

const DOC = `# Perf

Prose before, kept.

<!-- perf-doc:begin rows -->
| old | table |
|---|---|
| typed | by hand |
<!-- perf-doc:end rows -->

Between the tables, kept.

<!-- perf-doc:begin scaling -->
old scaling
<!-- perf-doc:end scaling -->

<!-- perf-doc:begin workloads -->
old workloads
<!-- perf-doc:end workloads -->

<!-- perf-doc:begin passthrough -->
old passthrough
<!-- perf-doc:end passthrough -->

<!-- perf-doc:begin qemu -->
old qemu, no rows for it in the input
<!-- perf-doc:end qemu -->

Prose after, kept.
`;

function perfDoc(args: string[], files: { json?: string; doc?: string } = {}): { code: number; out: string; doc: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perf-doc-'));
  const json = path.join(dir, 'bench.json');
  const doc = path.join(dir, 'doc.md');
  const out = path.join(dir, 'out.md');
  fs.writeFileSync(json, files.json ?? BENCH_OUTPUT);
  fs.writeFileSync(doc, files.doc ?? DOC);
  const r = spawnSync(process.execPath, [script, ...args.map((a) => a.replace('$JSON', json).replace('$DOC', doc).replace('$OUT', out))], {
    encoding: 'utf8',
  });
  return {
    code: r.status ?? -1,
    out: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '',
    doc: fs.readFileSync(doc, 'utf8'),
    stderr: r.stderr,
  };
}

/** The lines between a kind's markers. */
function table(md: string, kind: string): string[] {
  const m = new RegExp(`<!-- perf-doc:begin ${kind} -->\\n([\\s\\S]*?)<!-- perf-doc:end ${kind} -->`).exec(md);
  expect(m).not.toBeNull();
  return m![1].trim().split('\n');
}

describe('scripts/perf-doc.js', () => {
  it("rewrites each marked table from the rows and keeps the prose and the doc's own file", () => {
    const r = perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT']);
    expect(r.stderr).toMatch(/regenerated rows, scaling, workloads, passthrough; no rows for qemu \(kept as it was\)/);
    expect(r.code).toBe(0);
    for (const kept of [
      '# Perf',
      'Prose before, kept.',
      'Between the tables, kept.',
      'Prose after, kept.',
      'old qemu, no rows for it in the input',
    ])
      expect(r.out).toContain(kept);
    expect(r.out).not.toMatch(/typed \| by hand|old scaling|old workloads|old passthrough/);

    expect(table(r.out, 'rows')).toEqual([
      '| benchmark | median | min – max | baseline | ratio | better |',
      '|---|---:|---:|---:|---:|---|',
      '| interrupts inject→vector→ack→EOI | 1.07 M irq/s | 900 k – 1.23 M | 38.8 M irq/s | 0.0276 | higher |',
    ]);
    expect(table(r.out, 'scaling')).toEqual([
      '| family: ns/irq at each point / at the reference point (median of repetitions) | gic-v3 | gic-v4.1 |',
      '|---|---|---|',
      '| pending SPIs 16 / 988 vs 1 | 0.800 / 55.0 | 0.670 / 1.20 |',
    ]);
    expect(table(r.out, 'workloads')).toEqual([
      '| controller | ipi-pingpong (irq/s, median [min – max]) | ratio | virtio-msi (irq/s, median [min – max]) | ratio |',
      '|---|---:|---:|---:|---:|',
      '| gic-v3 | 237 k [200 k – 250 k] | 0.00677 | 251 k [240 k – 260 k] | 0.00661 |',
      '| pic | 165 k [160 k – 170 k] | 0.00384 | – | – |',
    ]);
    expect(table(r.out, 'passthrough')).toEqual([
      '| profile | guest | exits/irq gic-v4 | exits/irq gic-v3 | sim ns/irq gic-v4 | sim ns/irq gic-v3 | ns ratio |',
      '|---|---|---:|---:|---:|---:|---:|',
      '| gicv3-vhe | busy | 0.00 | 1.00 | 48.0 | 622 | 0.0772 |',
    ]);
    expect(r.doc).toBe(DOC); // --out names another file: the input doc is untouched
  });

  it('the QEMU table takes the peer figures the suite prints beside its rows; a single JSON document is input too', () => {
    const q = row('qemu peer: SGI ping-pong, 2 vCPUs, vs QEMU TCG single-threaded', 'irq/s', 'higher', 155_000, 166_000, 182_000, 68_000);
    const doc = { benchmarks: [q], qemu: [{ name: q.name, median: 68_000, min: 59_000, max: 75_000, interrupts: 20_000 }] };
    const r = perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT'], { json: JSON.stringify(doc, null, 2) });
    expect(r.code).toBe(0);
    expect(table(r.out, 'qemu')).toEqual([
      '| shape | irqflow (median, min – max) | QEMU (median, min – max) | irqflow / QEMU |',
      '|---|---|---|---:|',
      '| SGI ping-pong, 2 vCPUs, vs QEMU TCG single-threaded | 166 k irq/s (155 k – 182 k) | 68.0 k irq/s (59.0 k – 75.0 k) | 2.44 |',
    ]);
    expect(table(r.out, 'rows')).toEqual(['| old | table |', '|---|---|', '| typed | by hand |']); // no rows for it: kept
  });

  it('refuses a doc without markers, an unclosed marker, an unknown kind and input without rows (exit 2)', () => {
    expect(perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT'], { doc: '# no markers\n' })).toMatchObject({ code: 2, out: '' });
    const unclosed = perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT'], { doc: '<!-- perf-doc:begin rows -->\n| x |\n' });
    expect(unclosed.code).toBe(2);
    expect(unclosed.stderr).toMatch(/without a matching end/);
    const unknown = perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT'], {
      doc: '<!-- perf-doc:begin nope -->\n<!-- perf-doc:end nope -->\n',
    });
    expect(unknown.stderr).toMatch(/unknown table kind nope/);
    expect(perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT'], { json: '{"benchmarks":[]}' }).stderr).toMatch(/no benchmark rows/);
    expect(perfDoc([]).stderr).toMatch(/usage: node scripts\/perf-doc\.js/);
  });

  it('docs/guides/performance.md carries every kind of marker, and only the marked tables change', () => {
    const real = fs.readFileSync(path.join(root, 'docs', 'guides', 'performance.md'), 'utf8');
    const r = perfDoc(['$JSON', '--doc', '$DOC', '--out', '$OUT'], { doc: real });
    expect(r.code).toBe(0);
    for (const kind of ['rows', 'workloads', 'scaling', 'qemu', 'passthrough']) expect(real).toContain(`<!-- perf-doc:begin ${kind} -->`);
    const strip = (md: string) => md.replace(/<!-- perf-doc:begin (\S+) -->\n[\s\S]*?<!-- perf-doc:end \1 -->/g, '<$1>');
    expect(strip(r.out)).toBe(strip(real));
    expect(r.out).toContain('| interrupts inject→vector→ack→EOI | 1.07 M irq/s |');
  });
});
