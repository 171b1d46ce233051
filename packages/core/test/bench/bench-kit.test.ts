/**
 * core's bench kit (src/bench-kit.ts): the row format every benchmark prints, warm-up and interleaving, the
 * shared minimal loop and the options. Nothing here asserts a speed.
 */
import { benchArgs, benchRow, formatRows, interleaved, minimalIrqRate, printBench, spread, warmUp } from '../../src';

describe('bench kit', () => {
  it('spread: min, median (upper of an even count) and max, input untouched', () => {
    const xs = [5, 1, 4, 2];
    expect(spread(xs)).toEqual({ min: 1, median: 4, max: 5 });
    expect(xs).toEqual([5, 1, 4, 2]);
    expect(spread([3])).toEqual({ min: 3, median: 3, max: 3 });
    expect(() => spread([])).toThrow(RangeError);
  });

  it('benchRow: value = median, ratio = value / baseline, better and min/median/max', () => {
    expect(benchRow('x', 'ns/irq', 'lower', [30, 10, 20], 5)).toEqual({
      name: 'x',
      value: 20,
      unit: 'ns/irq',
      baseline: 5,
      ratio: 4,
      better: 'lower',
      min: 10,
      median: 20,
      max: 30,
    });
  });

  it('warmUp repeats until three results agree, and gives up at maxMs', () => {
    let i = 0;
    const settling = () => [100, 50, 10, 10, 10, 10][Math.min(i++, 5)];
    expect(warmUp(settling, { minMs: 0 })).toBe(5); // 50, 10, 10, 10: the last three agree at the fifth
    // a result that never settles: warmUp stops once maxMs of (here simulated) clock has passed, not before
    let j = 0;
    const noisy = () => (j++ % 2 ? 1 : 100);
    let now = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const n = warmUp(
        () => {
          now += 10; // each measurement "takes" 10 ms
          return noisy();
        },
        { minMs: 0, maxMs: 100 },
      );
      expect(n).toBe(10);
    } finally {
      clock.mockRestore();
    }
  });

  it('interleaved: both warmed up, then model and reference alternate', () => {
    const log: string[] = [];
    const r = interleaved(
      () => (log.push('m'), 1),
      () => (log.push('r'), 2),
      { reps: 3, warmUp: { minMs: 0, maxMs: 0 } },
    );
    expect(log.slice(-6).join('')).toBe('mrmrmr');
    expect(r).toEqual({ model: [1, 1, 1], reference: [2, 2, 2] });
  });

  it('the minimal loop runs and reports a rate', () => {
    expect(minimalIrqRate(10_000)).toBeGreaterThan(0);
  });

  it('benchArgs: --json, --quick, --filter NAME and --filter=NAME', () => {
    expect(benchArgs([])).toEqual({ json: false, quick: false, filter: undefined });
    expect(benchArgs(['--json', '--quick', '--filter', 'gic'])).toEqual({ json: true, quick: true, filter: 'gic' });
    expect(benchArgs(['--filter=v4.1']).filter).toBe('v4.1');
  });

  it('printBench: one JSON line with the rows (filtered) and extra keys; the table names which way is better', () => {
    const rows = [benchRow('a one', 'irq/s', 'higher', [1], 2), benchRow('b two', 'ns/irq', 'lower', [3], 1)];
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    try {
      printBench({ json: true, quick: false, filter: 'two' }, rows, { simulated: [1] });
    } finally {
      spy.mockRestore();
    }
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0])).toEqual({ benchmarks: [rows[1]], simulated: [1] });
    const table = formatRows(rows);
    expect(table).toMatch(/a one .*higher is better/);
    expect(table).toMatch(/b two .*\[3\.00 – 3\.00\] ns\/irq .*lower is better/);
  });
});
