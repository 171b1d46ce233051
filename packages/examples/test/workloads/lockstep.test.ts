/**
 * Results never depend on scheduling (core's run loop: causal signals, conservative lookahead): every workload
 * on every controller gives the same counters and the same trace under exact lockstep (`lookaheadNs: 0`) and
 * the default lookahead, and the same trace however `vm.run()` is sliced. Traces are compared in canonical
 * order (TraceBuffer.canonicalEvents: by time, vCPU, kind, payload), byte for byte through their digest; the
 * buffer's own order is execution order, which is scheduling's business.
 */
import { createHypervisor, runWorkload, WORKLOADS, type RunWorkloadOptions, type WorkloadResult } from '@irqflow/examples';

jest.setTimeout(120_000);

const { hv } = createHypervisor({ traceCapacity: 2_000_000 });
const chips = hv.irqchipDescriptors.map((d) => d.name);

function traced(opts: RunWorkloadOptions & { workload: string }): { r: Omit<WorkloadResult, 'vm'>; digest: string } {
  hv.trace.clear();
  const w = WORKLOADS.find((x) => x.name === opts.workload)!;
  const { vm: _vm, ...r } = runWorkload(hv, w, { ...opts, trace: true });
  void _vm;
  expect(hv.trace.dropped).toBe(0);
  // each run is a VM of its own: its id is left out, everything else is compared as text, byte for byte
  const text = hv.trace
    .canonicalEvents()
    .map((e) => `${e.t} ${e.vcpu} ${e.kind} ${e.a} ${e.b}`)
    .join('\n');
  return { r, digest: text };
}

describe.each(chips)('%s', (irqchip) => {
  it.each(WORKLOADS.map((w) => w.name))('%s: lockstep and the default lookahead agree (counters and trace)', (workload) => {
    const ahead = traced({ irqchip, workload });
    const lockstep = traced({ irqchip, workload, lookaheadNs: 0 });
    if (ahead.r.status === 'unsupported') {
      // the controller cannot run this workload: in lockstep neither
      expect(lockstep.r.status).toBe('unsupported');
      return;
    }
    expect(ahead.r.status).toBe('ok');
    expect(lockstep.r).toEqual(ahead.r);
    expect(lockstep.digest).toBe(ahead.digest);
  });

  it.each(['gicv3-vhe-kunpeng', 'gicv2-nonvhe'])('mixed under %s: lockstep and the default lookahead agree', (profile) => {
    const ahead = traced({ irqchip, workload: 'mixed', profile });
    const lockstep = traced({ irqchip, workload: 'mixed', profile, lookaheadNs: 0 });
    expect(ahead.r.status).toBe('ok');
    expect(lockstep.r).toEqual(ahead.r);
    expect(lockstep.digest).toBe(ahead.digest);
  });

  // every workload under the other profiles too (each has its own default lookahead, its ipiLatency): short runs
  it.each(['gicv3-vhe-kunpeng', 'gicv2-nonvhe', 'phytium-s2500', 'seattle-split'])(
    'every workload under %s (100 µs): lockstep and the default lookahead agree',
    (profile) => {
      let ran = 0;
      for (const w of WORKLOADS) {
        const ahead = traced({ irqchip, workload: w.name, profile, durationNs: 100_000 });
        const lockstep = traced({ irqchip, workload: w.name, profile, durationNs: 100_000, lookaheadNs: 0 });
        expect(lockstep.r).toEqual(ahead.r);
        expect(lockstep.digest).toBe(ahead.digest);
        if (ahead.r.status === 'unsupported') continue;
        // the run did something (a short run may end before the measured phase counts interrupts)
        expect(ahead.digest.split('\n').length).toBeGreaterThan(50);
        ran++;
      }
      expect(ran).toBeGreaterThan(0);
    },
  );

  it.each([undefined, 0])('mixed: the trace does not depend on how run() is sliced (lookahead %s)', (lookaheadNs) => {
    const one = traced({ irqchip, workload: 'mixed', lookaheadNs, durationNs: 700_000, runSliceNs: 700_000 });
    expect(one.r.status).toBe('ok');
    for (const runSliceNs of [10_000, 1_337]) {
      const sliced = traced({ irqchip, workload: 'mixed', lookaheadNs, durationNs: 700_000, runSliceNs });
      expect(sliced.r).toEqual(one.r);
      expect(sliced.digest).toBe(one.digest);
    }
  });
});
