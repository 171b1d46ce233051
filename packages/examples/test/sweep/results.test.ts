/**
 * The sweep's result files and progress bar, in-process: CSV columns (exit reasons and cost-breakdown items
 * flattened, quoting), the torn-line tolerance of resume, the plan's order, and a bar only on a terminal.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Progress } from '../../src/cli/progress';
import { planPoints } from '../../src/sweep/plan';
import type { SweepRow } from '../../src/sweep/point';
import { pointKey } from '../../src/sweep/point';
import { readFinished, toCsv, writeFinal } from '../../src/sweep/results';

const row = (over: Partial<SweepRow>): SweepRow => ({
  irqchip: 'gic-v3',
  workload: 'ipi-pingpong',
  profile: 'gicv3-vhe',
  vcpus: 2,
  lrs: null,
  seed: 1,
  durationNs: 1e9,
  status: 'ok',
  sent: 400,
  interrupts: 400,
  exits: 802,
  exitsPerInterrupt: 2.005,
  simNsPerInterrupt: 660.25,
  exitsByReason: { sysreg: 400, wfi: 402 },
  ...over,
});

describe('sweep results', () => {
  it('CSV: one column per exit reason and per cost-breakdown item; missing items are empty; text is quoted', () => {
    const csv = toCsv([
      row({ costBreakdown: { trap: 100, lr: 5 } }),
      row({ seed: 2, status: 'mismatch', message: 'a, "b"', exitsByReason: { hvc: 3 } }),
    ])
      .trim()
      .split('\n');
    const head = csv[0].split(',');
    expect(head.slice(-5)).toEqual(['exits.hvc', 'exits.sysreg', 'exits.wfi', 'cost.lr', 'cost.trap']);
    expect(csv[1].endsWith(',0,400,402,5,100')).toBe(true);
    expect(csv[2]).toContain('"a, ""b"""');
    expect(csv[2].endsWith(',3,0,0,,')).toBe(true);
  });

  it('resume ignores a torn last line; the final files are in plan order', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irqflow-results-'));
    try {
      const points = planPoints({
        irqchips: ['a', 'b'],
        workloads: ['w'],
        profiles: ['p'],
        vcpus: [2, 4],
        lrs: [null],
        seeds: 2,
        durationNs: 1,
      });
      expect(points.map((p) => `${p.irqchip}${p.vcpus}s${p.seed}`)).toEqual([
        'a2s1',
        'a2s2',
        'a4s1',
        'a4s2',
        'b2s1',
        'b2s2',
        'b4s1',
        'b4s2',
      ]);
      const rows = points.map((p) => row(p));
      fs.writeFileSync(
        path.join(dir, 'results.jsonl'),
        [rows[3], rows[0]].map((r) => JSON.stringify(r)).join('\n') + '\n' + JSON.stringify(rows[5]).slice(0, 30),
      );
      const done = readFinished(dir);
      expect([...done.keys()]).toEqual([pointKey(points[3]), pointKey(points[0])]);
      const out = writeFinal(dir, points, done);
      expect(out.map((r) => r.seed + r.irqchip + r.vcpus)).toEqual(['1a2', '2a4']);
      expect(fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8')).toBe(
        [rows[0], rows[3]].map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('progress bar', () => {
  const tty = process.stderr.isTTY;
  const ci = process.env.CI;
  afterEach(() => {
    process.stderr.isTTY = tty;
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('draws on stderr only on a terminal, outside CI and without --quiet', () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (writes.push(String(s)), true));
    try {
      delete process.env.CI;
      process.stderr.isTTY = true;
      const p = new Progress(false, 0);
      p.update(0.5, '6/12 points');
      p.done();
      expect(writes[0]).toMatch(/^\r\[#{15}\.{15}\] {2}50% 6\/12 points/);
      writes.length = 0;
      new Progress(true, 0).update(0.5, 'quiet');
      process.stderr.isTTY = false;
      new Progress(false, 0).update(0.5, 'pipe');
      process.stderr.isTTY = true;
      process.env.CI = '1';
      new Progress(false, 0).update(0.5, 'ci');
      expect(writes).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
