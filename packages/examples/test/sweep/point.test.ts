/** A sweep point that cannot run still gives a complete row: its inputs, status error, the reason, zero metrics. */
import { noMetrics, runPoint, type SweepPoint } from '../../src/sweep/point';

const point: SweepPoint = { irqchip: 'gic-v3', workload: 'nope', profile: 'gicv3-vhe', vcpus: 2, lrs: null, seed: 1, durationNs: 1000 };

describe('sweep point rows without a measurement', () => {
  it('an unknown workload is an error row with every metric zero (results.jsonl field order kept)', () => {
    const row = runPoint(point);
    expect(JSON.stringify(row)).toBe(
      JSON.stringify({
        ...point,
        status: 'error',
        sent: 0,
        interrupts: 0,
        exits: 0,
        exitsPerInterrupt: 0,
        simNsPerInterrupt: 0,
        exitsByReason: {},
        message: "unknown workload 'nope'",
      }),
    );
  });

  it('noMetrics gives a fresh exitsByReason each time (rows never share one)', () => {
    const a = noMetrics();
    const b = noMetrics();
    expect(a).toEqual(b);
    expect(a.exitsByReason).not.toBe(b.exitsByReason);
  });
});
