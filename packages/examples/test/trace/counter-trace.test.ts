/**
 * Counter tracks of the controllers without list registers: rVIC samples its delivery list (pending and
 * unmasked interrupts) and the pic its bank's pending interrupts, per vCPU at every guest entry, through the
 * same TraceKind.Counter samples the GIC emits (gic-trace.test.ts). Every IRQ exception a vCPU takes follows a
 * sample that showed something pending on it; a vCPU that has taken everything shows zero.
 */
import { toChromeTrace, type ChromeTraceEvent } from '@irqflow/core';
import { createHypervisor, findWorkload, runWorkload } from '@irqflow/examples';

function traceOf(irqchip: string, workload: string): { events: ChromeTraceEvent[]; interrupts: number } {
  const { hv } = createHypervisor({ traceCapacity: 2_000_000 });
  const r = runWorkload(hv, findWorkload(workload)!, { irqchip, trace: true, keepVm: true });
  expect(r.status).toBe('ok');
  expect(hv.trace.dropped).toBe(0);
  const ct = toChromeTrace(hv.trace, new Map([[r.vm!.id, r.vm!.name]]));
  void r.vm!.destroy();
  return { events: ct.traceEvents, interrupts: r.interrupts };
}

describe.each(['rvic', 'pic'])('%s ipi-pingpong trace counters', (irqchip) => {
  const { events, interrupts } = traceOf(irqchip, 'ipi-pingpong');
  const samples = events.filter((e) => e.ph === 'C');

  it('samples pending interrupts per vCPU (no LR counter: the controller has no list registers)', () => {
    expect(interrupts).toBeGreaterThan(0);
    expect([...new Set(samples.map((e) => e.name))].sort()).toEqual(['vcpu0 pending interrupts', 'vcpu1 pending interrupts']);
    for (const e of samples) expect(e.cat).toBe('counter');
    const values = new Set(samples.map((e) => e.args!.value as number));
    expect(values.has(0)).toBe(true);
    expect([...values].some((v) => v > 0)).toBe(true);
  });

  it('every IRQ exception follows a sample that showed an interrupt pending on that vCPU', () => {
    const irqs = events.filter((e) => e.ph === 'X' && e.name === 'irq');
    expect(irqs.length).toBe(interrupts);
    for (const irq of irqs) {
      const name = `vcpu${irq.tid - 1} pending interrupts`;
      let last: ChromeTraceEvent | undefined;
      for (const s of samples) if (s.name === name && s.ts <= irq.ts && (last === undefined || s.ts >= last.ts)) last = s;
      expect(last).toBeDefined();
      expect(last!.args!.value as number).toBeGreaterThanOrEqual(1);
    }
  });
});
