/** The runnable-vCPU heap: min by (clock, index), updates and removals, checked against a sorted model. */
import fc from 'fast-check';
import { RunnableHeap, type Schedulable } from '../../src';

type Cmd = { op: 'add' | 'remove'; i: number } | { op: 'set'; i: number; clock: number };

describe('RunnableHeap', () => {
  it('peek and secondClock agree with a sorted reference under random add / remove / clock changes', () => {
    const cmd = fc.oneof(
      fc.record({ op: fc.constantFrom('add' as const, 'remove' as const), i: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ op: fc.constant('set' as const), i: fc.integer({ min: 0, max: 7 }), clock: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 150 }), (cmds: Cmd[]) => {
        const h = new RunnableHeap<Schedulable>();
        const vs: Schedulable[] = Array.from({ length: 8 }, (_, index) => ({ clock: 0, index, heapPos: -1 }));
        const inSet = new Set<number>();
        for (const c of cmds) {
          if (c.op === 'add') {
            h.add(vs[c.i]);
            inSet.add(c.i);
          } else if (c.op === 'remove') {
            h.remove(vs[c.i]);
            inSet.delete(c.i);
          } else if (c.op === 'set') {
            vs[c.i].clock = c.clock;
            h.update(vs[c.i]);
          }
          const sorted = [...inSet].map((i) => vs[i]).sort((a, b) => a.clock - b.clock || a.index - b.index);
          expect(h.size).toBe(sorted.length);
          expect(h.peek()).toBe(sorted[0]);
          expect(h.secondClock()).toBe(sorted.length > 1 ? sorted[1].clock : Infinity);
          vs.forEach((v, i) => expect(h.has(v)).toBe(inSet.has(i)));
        }
      }),
    );
  });
});

describe('RunnableHeap while the running vCPU advances in place', () => {
  // The running vCPU's clock grows during its slice without an update; a vCPU woken mid-slice is added, then
  // the runner is updated at slice end. The vCPU furthest behind must still be chosen (the scheduler's
  // causality rule). A binary heap sifting the woken vCPU past the stale root broke this.
  it('still yields the true minimum after add during a slice and update at its end', () => {
    const h = new RunnableHeap<Schedulable>();
    const runner: Schedulable = { clock: 0, index: 0, heapPos: -1 };
    const behind: Schedulable = { clock: 10, index: 1, heapPos: -1 };
    const woken: Schedulable = { clock: 15, index: 2, heapPos: -1 };
    h.add(runner);
    h.add(behind);
    runner.clock = 30; // advanced during its slice
    h.add(woken);
    h.update(runner); // slice end
    expect(h.peek()).toBe(behind);
    expect(h.secondClock()).toBe(15);
  });
});
