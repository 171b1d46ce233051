/**
 * Traces of the GIC controllers: every delivered interrupt of a gic-v3 IPI ping-pong has inject, acknowledge
 * and EOI events (with INTID and vCPU as named arguments), LR load/fold and deactivate events; blocked and
 * guest time are duration slices that nest properly on each vCPU track (as Perfetto requires); flow arrows
 * run from each kick and IPI send to the IRQ it causes; counters sample pending interrupts and LRs in use;
 * an MSI workload shows ITS commands and MSI translations.
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
  expect(JSON.parse(JSON.stringify(ct))).toEqual(ct);
  return { events: ct.traceEvents, interrupts: r.interrupts };
}

const named = (ev: ChromeTraceEvent[], name: string): ChromeTraceEvent[] => ev.filter((e) => e.name === name && e.ph === 'i');

describe('gic-v3 ipi-pingpong trace', () => {
  const { events, interrupts } = traceOf('gic-v3', 'ipi-pingpong');

  it('has inject, ack and EOI for every delivered interrupt, with intid and vcpu named', () => {
    expect(interrupts).toBe(400);
    for (const k of ['inject', 'ack', 'eoi', 'deactivate']) {
      const l = named(events, k);
      expect(l.length).toBe(interrupts);
      for (const e of l) {
        expect(e.args).toMatchObject({ intid: 0, vcpu: e.tid - 1 });
      }
    }
    // every IPI inject names the sending vCPU, the other one of the pair
    for (const e of named(events, 'inject')) expect(e.args!.source).toBe(`vcpu${(e.tid - 1) ^ 1}`);
    expect(named(events, 'lr-load').length).toBeGreaterThanOrEqual(interrupts);
    expect(named(events, 'lr-fold').length).toBe(named(events, 'lr-load').length);
    expect(named(events, 'lr-load')[0].args).toEqual(expect.objectContaining({ intid: 0, lr: 0 }));
  });

  it('blocked and guest time are duration slices, properly nested per track', () => {
    const blocked = events.filter((e) => e.ph === 'X' && e.name === 'blocked');
    expect(blocked.length).toBeGreaterThan(0);
    for (const b of blocked) expect(b.dur!).toBeGreaterThan(0);
    expect(events.filter((e) => e.ph === 'X' && e.name === 'guest').length).toBeGreaterThan(interrupts);
    const byTrack = new Map<string, ChromeTraceEvent[]>();
    for (const e of events) if (e.ph === 'X') byTrack.set(`${e.pid}:${e.tid}`, [...(byTrack.get(`${e.pid}:${e.tid}`) ?? []), e]);
    const eps = 1e-9;
    for (const list of byTrack.values()) {
      list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
      const open: number[] = [];
      for (const e of list) {
        while (open.length && open[open.length - 1] <= e.ts + eps) open.pop();
        if (open.length) expect(e.ts + e.dur!).toBeLessThanOrEqual(open[open.length - 1] + eps);
        open.push(e.ts + e.dur!);
      }
    }
  });

  it('flows go from every kick and IPI send to a later IRQ on the target vCPU', () => {
    const starts = new Map(events.filter((e) => e.ph === 's').map((e) => [e.id!, e]));
    const ends = new Map(events.filter((e) => e.ph === 'f').map((e) => [e.id!, e]));
    expect(starts.size).toBeGreaterThan(0);
    for (const [id, f] of ends) {
      const s = starts.get(id)!;
      expect(s).toBeDefined();
      expect(f.bp).toBe('e');
      expect(f.ts).toBeGreaterThanOrEqual(s.ts);
      expect(events.some((e) => e.ph === 'X' && e.name === 'irq' && e.tid === f.tid && e.ts === f.ts)).toBe(true);
    }
    for (const cause of ['kick', 'ipi-send']) {
      const cs = events.filter((e) => e.ph === 'X' && e.name === cause);
      expect(cs.length).toBeGreaterThan(0);
      for (const c of cs) {
        const s = [...starts.values()].find((x) => x.tid === c.tid && x.ts === c.ts)!;
        expect(s).toBeDefined();
        const f = ends.get(s.id!)!;
        expect(f).toBeDefined();
        expect(`vcpu${f.tid - 1}`).toBe(c.args!.target);
      }
    }
  });

  it('samples pending interrupts and LRs in use per vCPU', () => {
    const counters = new Set(events.filter((e) => e.ph === 'C').map((e) => e.name));
    expect([...counters].sort()).toEqual(['vcpu0 LRs in use', 'vcpu0 pending interrupts', 'vcpu1 LRs in use', 'vcpu1 pending interrupts']);
    expect(events.some((e) => e.ph === 'C' && e.name === 'vcpu1 LRs in use' && (e.args!.value as number) > 0)).toBe(true);
  });
});

describe('gic-v3 virtio-msi trace', () => {
  it('shows the ITS commands the guest driver issues and each MSI translation', () => {
    const { events, interrupts } = traceOf('gic-v3', 'virtio-msi');
    const cmds = named(events, 'its-command').map((e) => e.args!.command);
    expect(cmds).toEqual(expect.arrayContaining(['MAPD', 'MAPC', 'MAPTI', 'SYNC']));
    const tr = named(events, 'msi-translate');
    expect(tr.length).toBe(interrupts);
    for (const e of tr) {
      expect(e.args).toEqual({
        devid: 0,
        eventid: expect.any(Number) as unknown,
        intid: 8192 + (e.args!.eventid as number),
        vcpu: e.tid - 1,
      });
    }
    expect(events.filter((e) => e.ph === 'X' && e.name === 'msi').length).toBe(interrupts);
    expect(named(events, 'ack').length).toBe(interrupts);
  });
});

describe('gic-v2 trace', () => {
  it('has inject, ack, EOI and deactivate for every IPI (GICC accesses)', () => {
    const { events, interrupts } = traceOf('gic-v2', 'ipi-pingpong');
    for (const k of ['inject', 'ack', 'eoi', 'deactivate']) expect(named(events, k).length).toBe(interrupts);
  });
});
