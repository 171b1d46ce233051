/** The trace buffer: off by default and silent, bounded, digestible; and its Chrome trace export. */
import { GuestAsm, Hypervisor, toChromeTrace, TraceBuffer, TraceKind } from '../../src';
import { runWorkload } from '../support/workload';

describe('TraceBuffer', () => {
  it('is off by default: a run records no events', () => {
    const hv = new Hypervisor();
    expect(hv.trace.on).toBe(false);
    const r = runWorkload({ trace: false, irqs: 5 });
    expect(r.result.reason).toBe('shutdown');
    expect(r.hv.trace.length).toBe(0);
  });

  it('when on, records exits, blocks, wakes, kicks, IRQs taken, acks and EOIs', () => {
    const r = runWorkload({ trace: true, irqs: 5 });
    const kinds = new Set(r.hv.trace.events().map((e) => e.kind));
    for (const k of [
      TraceKind.Exit,
      TraceKind.Block,
      TraceKind.Wake,
      TraceKind.Kick,
      TraceKind.IrqTaken,
      TraceKind.Ack,
      TraceKind.Eoi,
      TraceKind.Inject,
    ])
      expect(kinds.has(k)).toBe(true);
  });

  it('keeps at most its capacity and counts the rest as dropped', () => {
    const t = new TraceBuffer(3);
    for (let i = 0; i < 5; i++) t.emit(TraceKind.Custom, 0, 0, i, i, 0);
    expect(t.length).toBe(3);
    expect(t.dropped).toBe(2);
    expect(t.at(2)).toEqual({ kind: TraceKind.Custom, vm: 0, vcpu: 0, t: 2, a: 2, b: 0, c: 0 });
    const d = t.digest();
    t.clear();
    expect(t.length).toBe(0);
    expect(t.digest()).not.toBe(d);
  });

  it('the digest depends on every field', () => {
    const mk = (b: number): string => {
      const t = new TraceBuffer(4);
      t.emit(TraceKind.Ack, 1, 2, 3, 4, b);
      return t.digest();
    };
    expect(mk(5)).toBe(mk(5));
    expect(mk(5)).not.toBe(mk(6));
    const withC = (c: number): string => {
      const t = new TraceBuffer(4);
      t.emit(TraceKind.Inject, 1, 2, 3, 4, 5, c);
      return t.digest();
    };
    expect(withC(1)).not.toBe(withC(2));
  });
});

describe('Chrome trace export', () => {
  it('one process per VM, one thread per vCPU, X events for exits with µs timestamps', () => {
    const hv = new Hypervisor();
    hv.trace.on = true;
    const vms = [hv.createVm({ name: 'alpha' }), hv.createVm({ name: 'beta' })];
    for (const vm of vms) {
      for (let i = 0; i < 2; i++) {
        const v = vm.createVcpu();
        const a = new GuestAsm();
        a.label('main')
          .work(3000 * (i + 1))
          .movi(0, 0x80000000)
          .hvc()
          .movi(0, 0x84000002)
          .hvc();
        v.setProgram(a.build());
      }
      vm.run();
    }
    const names = new Map(vms.map((v) => [v.id, v.name]));
    const ct = toChromeTrace(hv.trace, names);
    expect(ct.displayTimeUnit).toBe('ns');
    const meta = ct.traceEvents.filter((e) => e.ph === 'M');
    const procs = meta.filter((e) => e.name === 'process_name');
    expect(procs.map((e) => [e.pid, e.args?.name])).toEqual([
      [1, 'alpha'],
      [2, 'beta'],
    ]);
    const threads = meta.filter((e) => e.name === 'thread_name').map((e) => `${e.pid}:${e.tid}:${String(e.args?.name)}`);
    expect(threads.sort()).toEqual(['1:1:vcpu0', '1:2:vcpu1', '2:1:vcpu0', '2:2:vcpu1']);
    const exits = ct.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'exit');
    expect(exits).toHaveLength(8); // two HVCs per vCPU
    // the guest ran between the two exits of each vCPU: one "guest" slice each, from the first exit's end
    const guest = ct.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'guest');
    expect(guest).toHaveLength(4);
    expect(guest[0].ts).toBeCloseTo(exits[0].ts + exits[0].dur!, 9);
    const first = exits.find((e) => e.pid === 1 && e.tid === 1)!;
    expect(first.name).toBe('exit:hvc');
    expect(first.ts).toBeCloseTo(3001 / 3 / 1000, 9); // work(3000) + movi at 3 GHz, in µs
    expect(first.dur).toBeCloseTo(0.306, 6);
    expect(JSON.parse(JSON.stringify(ct))).toEqual(ct);
  });
});

describe('TraceBuffer memory', () => {
  it('a new hypervisor holds no trace memory until something is traced', () => {
    const before = process.memoryUsage().arrayBuffers;
    const hvs = Array.from({ length: 4 }, () => new Hypervisor());
    const grown = process.memoryUsage().arrayBuffers - before;
    // the eager buffer was 37 bytes × 1,000,000 events = 37 MB per hypervisor
    expect(grown).toBeLessThan(1 << 20);
    for (const hv of hvs) expect(hv.trace.allocatedBytes).toBe(0);
  });

  it('grows on demand, keeps every event across growth, and stops at the capacity', () => {
    const t = new TraceBuffer(10_000);
    for (let i = 0; i < 12_000; i++) t.emit(TraceKind.Custom, 1, i & 7, i, i * 2, -i, i + 1);
    expect(t.length).toBe(10_000);
    expect(t.dropped).toBe(2_000);
    expect(t.allocatedBytes).toBe(10_000 * 45);
    expect(t.at(0)).toEqual({ kind: TraceKind.Custom, vm: 1, vcpu: 0, t: 0, a: 0, b: -0, c: 1 });
    expect(t.at(4095)).toEqual({ kind: TraceKind.Custom, vm: 1, vcpu: 7, t: 4095, a: 8190, b: -4095, c: 4096 });
    expect(t.at(9999)).toEqual({ kind: TraceKind.Custom, vm: 1, vcpu: 7, t: 9999, a: 19998, b: -9999, c: 10_000 });
  });

  it('the digest does not depend on how the buffer grew', () => {
    const fill = (t: TraceBuffer): string => {
      for (let i = 0; i < 5000; i++) t.emit(TraceKind.Ack, 0, 1, i, i, 0);
      return t.digest();
    };
    const reused = new TraceBuffer(8192);
    fill(reused);
    reused.clear();
    expect(fill(reused)).toBe(fill(new TraceBuffer(8192)));
    expect(reused.allocatedBytes).toBe(8192 * 45); // a cleared buffer keeps what it grew to
  });
});
