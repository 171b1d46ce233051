/**
 * The vPE's choice of the vLPI it presents (v4/vpe.ts over the heaps of v4/vpt.ts; Arm IHI 0069, 5.3) against
 * a brute-force reference — the walk over the virtual pending table the model used to do: lowest priority value,
 * ties to the lowest vINTID, only enabled vLPIs, only what has arrived by the vCPU's clock (hppi), or everything
 * (the doorbell's whole-table question). Random sequences drive it through the paths that really change what is
 * pending and how it is configured: passthrough vectors (forwarded host interrupts), ITS INT, CLEAR, MOVI (VMOVI
 * to the other vPE), DISCARD, property-table writes made visible by INV / INVALL, arrival times re-stamped by a
 * snapshot restore, residency (load/put), acknowledges, and the vCPU clock moving on (and sometimes back).
 * Then: the selection's work does not grow with the number pending (a work counter, not a timing).
 */
import fc from 'fast-check';
import { VirtualPendingTable } from '../../src/v4/vpt';
import { passthrough, v4Vm, type V4TestVm } from './support';
import type { Vpe } from '@irqflow/vgic';

const N = 24; // events 0..N-1 of device 1 → LPIs 8192..
const LPI = 8192;

type Op =
  | { op: 'raise'; e: number }
  | { op: 'int'; e: number }
  | { op: 'clear'; e: number }
  | { op: 'ack'; cpu: number }
  | { op: 'config'; e: number; prio: number; on: boolean }
  | { op: 'invall'; es: number[]; prio: number; on: boolean }
  | { op: 'movi'; e: number; cpu: number }
  | { op: 'discard'; e: number }
  | { op: 'restamp'; e: number; dt: number }
  | { op: 'tick'; cpu: number; dt: number }
  | { op: 'residency'; cpu: number; on: boolean };

const ev = fc.integer({ min: 0, max: N - 1 });
const cpu = fc.integer({ min: 0, max: 1 });
// few distinct priorities, so ties (→ lowest vINTID) are common
const prio = fc.constantFrom(0x00, 0x10, 0x10, 0xa0, 0xa0, 0xfc);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: ev.map((e) => ({ op: 'raise' as const, e })) },
  { weight: 2, arbitrary: ev.map((e) => ({ op: 'int' as const, e })) },
  { weight: 1, arbitrary: ev.map((e) => ({ op: 'clear' as const, e })) },
  { weight: 5, arbitrary: cpu.map((c) => ({ op: 'ack' as const, cpu: c })) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('config' as const), e: ev, prio, on: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('invall' as const), es: fc.array(ev, { maxLength: 6 }), prio, on: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('movi' as const), e: ev, cpu }) },
  { weight: 1, arbitrary: ev.map((e) => ({ op: 'discard' as const, e })) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('restamp' as const), e: ev, dt: fc.integer({ min: -300, max: 3000 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      cpu,
      dt: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 0, max: 1500 }) },
        { weight: 1, arbitrary: fc.integer({ min: -2000, max: 0 }) },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('residency' as const), cpu, on: fc.boolean() }) },
);

/** A 2-vCPU GICv4.1 VM, N events of device 1 mapped to LPIs in collection 0 (vCPU 0), each forwarded. */
function setup(): { t: V4TestVm; raise: (e: number) => void; vpes: Vpe[] } {
  const t = v4Vm('4.1', 2);
  for (let e = 0; e < N; e++) t.g.prop(LPI + e, 0xa0, true);
  t.g.mapd(1, 5);
  t.g.mapc(0, 0);
  t.g.mapc(1, 1);
  for (let e = 0; e < N; e++) t.g.mapti(1, e, LPI + e, 0);
  const { pt } = passthrough(
    t,
    1,
    Array.from({ length: N }, (_, e) => e),
  );
  const vpes = [t.v4!.vpe(0)!, t.v4!.vpe(1)!];
  for (const p of vpes) p.load();
  return { t, raise: (e) => pt.raise(e), vpes };
}

/** The walk: the best (vINTID, priority) among `vpe`'s pending vLPIs that have arrived by `clock`. */
function reference(t: V4TestVm, vpe: Vpe, clock: number): { id: number; prio: number } {
  let id = -1;
  let prio = 0x100;
  for (const [i, at] of vpe.saveArrivals().vlpis) {
    if (at > clock || !t.v4!.vlpiEnabled(i)) continue;
    const p = t.v4!.vlpiPriority(i);
    if (p < prio || (p === prio && i < id)) {
      id = i;
      prio = p;
    }
  }
  return { id, prio };
}

function apply(t: V4TestVm, raise: (e: number) => void, vpes: Vpe[], o: Op): void {
  const v = (c: number) => t.vm.vcpus[c];
  switch (o.op) {
    case 'raise':
      raise(o.e);
      break;
    case 'int':
      t.g.int(1, o.e);
      break;
    case 'clear':
      t.g.clear(1, o.e);
      break;
    case 'ack': {
      const p = vpes[o.cpu];
      const id = p.hppi();
      if (id >= 0) p.acknowledge(id);
      break;
    }
    case 'config':
      t.g.prop(LPI + o.e, o.prio, o.on);
      t.g.inv(1, o.e);
      break;
    case 'invall':
      for (const e of o.es) t.g.prop(LPI + e, o.prio, o.on);
      t.g.invall(0);
      t.g.invall(1);
      break;
    case 'movi':
      t.g.movi(1, o.e, o.cpu);
      break;
    case 'discard':
      t.g.discard(1, o.e);
      break;
    case 'restamp':
      for (const p of vpes) p.restoreArrivals({ vlpis: [[LPI + o.e, p.vcpu.clock + o.dt]], sgis: [] });
      break;
    case 'tick':
      v(o.cpu).clock = Math.max(0, v(o.cpu).clock + o.dt);
      break;
    case 'residency':
      if (o.on) vpes[o.cpu].load();
      else vpes[o.cpu].put();
      break;
  }
}

describe('vPE selection of the vLPI it presents', () => {
  it('chooses what a walk over the virtual pending table chooses, after every step of random sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const { t, raise, vpes } = setup();
        for (const o of ops) {
          apply(t, raise, vpes, o);
          for (const p of vpes) {
            // hppi: what the CPU interface sees at the vCPU's clock (nothing while not resident)
            const want = p.resident ? reference(t, p, p.vcpu.clock) : { id: -1, prio: 0x100 };
            expect([p.hppi(), p.hppiPrio]).toEqual([want.id, want.prio]);
            // the vCPU's own pending check, at its clock, then the doorbell's question over the whole table
            p.hasPending(true);
            expect(p.hppiPrio).toBe(reference(t, p, p.vcpu.clock).prio);
            p.hasPending(false);
            expect(p.hppiPrio).toBe(reference(t, p, Infinity).prio);
          }
        }
      }),
      { numRuns: 150, seed: 17 },
    );
  });

  it('a disabled vLPI stays pending and is presented once INV enables it; a priority change re-orders', () => {
    const { t, raise, vpes } = setup();
    const p = vpes[0];
    t.g.prop(LPI + 3, 0xa0, false);
    t.g.inv(1, 3);
    raise(3);
    raise(5);
    p.vcpu.clock += 10_000;
    expect(p.hppi()).toBe(LPI + 5);
    t.g.prop(LPI + 3, 0xa0, true);
    t.g.inv(1, 3);
    expect(p.hppi()).toBe(LPI + 3); // tie at 0xa0: the lower vINTID
    t.g.prop(LPI + 5, 0x10, true);
    t.g.inv(1, 5);
    expect([p.hppi(), p.hppiPrio]).toEqual([LPI + 5, 0x10]);
  });
});

describe('vPE selection cost', () => {
  /** Entries the table looks at per acknowledge cycle with `k` pending vLPIs of one priority (the bench shape). */
  function visitsPerAck(k: number): number {
    const t = new VirtualPendingTable();
    const key = (id: number) => 0xa0 * 2 ** 32 + id;
    for (let j = 0; j < k; j++) t.add(LPI + j, 0, key(LPI + j));
    let clock = 0;
    const cycle = (): void => {
      clock += 100;
      t.nextArrival(clock);
      const id = t.idOf(t.bestArrived(clock));
      t.remove(id); // acknowledged
      t.bestArrived(clock); // the next evaluation of vIRQ
      t.add(id, clock + 150, key(id)); // raised again, arrives later
      t.bestAll(); // and the doorbell's question
    };
    for (let i = 0; i < 2 * k + 100; i++) cycle(); // past the first compactions
    const v0 = t.visited;
    const n = 4 * k + 1000;
    for (let i = 0; i < n; i++) cycle();
    return (t.visited - v0) / n;
  }

  it('looks at no more entries per acknowledge with 4096 pending than with 16 (amortised; a walk would look at all)', () => {
    const small = visitsPerAck(16);
    const big = visitsPerAck(4096);
    expect(small).toBeLessThan(16);
    expect(big).toBeLessThan(small * 1.5);
  });

  it('through the vPE: a vIRQ evaluation and acknowledge cost the same with 4 or 4096 vLPIs pending', () => {
    const work = (k: number): number => {
      const t = v4Vm('4.1', 1);
      for (let e = 0; e < k; e++) t.g.prop(LPI + e, 0xa0, true);
      t.g.mapd(1, 12, 0x4c00_0000); // 4096 events
      t.g.mapc(0, 0);
      for (let e = 0; e < k; e++) t.g.mapti(1, e, LPI + e, 0);
      const p = t.v4!.vpe(0)!;
      p.load();
      for (let e = 0; e < k; e++) p.setVlpiPending(LPI + e);
      expect(p.pendingVlpis).toHaveLength(k);
      p.vcpu.clock += 100_000;
      p.hppi(); // every entry has arrived: each moves once into the arrived index (O(1) per entry)
      const w0 = p.selectionWork;
      for (let i = 0; i < 200; i++) {
        const id = p.hppi();
        p.acknowledge(id);
        p.setVlpiPending(id);
        p.vcpu.clock += 1_000;
      }
      return (p.selectionWork - w0) / 200;
    };
    const small = work(4);
    expect(work(4096)).toBeLessThanOrEqual(small * 1.5);
  });
});
