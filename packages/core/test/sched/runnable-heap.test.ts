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

describe('RunnableHeap over many vCPUs of which few are runnable', () => {
  it('peek and secondClock agree with a sorted reference while the runnable count grows and shrinks (ties by index)', () => {
    const cmd = fc.oneof(
      fc.record({ op: fc.constantFrom('add' as const, 'remove' as const), i: fc.integer({ min: 0, max: 63 }) }),
      fc.record({ op: fc.constant('set' as const), i: fc.integer({ min: 0, max: 63 }), clock: fc.integer({ min: 0, max: 5 }) }),
      // a burst: many become runnable at once, or all but a few leave (the tree doubles / halves)
      fc.record({ op: fc.constant('addAll' as const), i: fc.integer({ min: 0, max: 63 }) }),
      fc.record({ op: fc.constant('removeAll' as const), i: fc.integer({ min: 0, max: 63 }) }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 120 }), (cmds) => {
        const h = new RunnableHeap<Schedulable>();
        const vs: Schedulable[] = Array.from({ length: 64 }, (_, index) => ({ clock: index % 3, index, heapPos: -1 }));
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
          } else if (c.op === 'addAll') {
            for (let i = c.i; i < 64; i++) {
              h.add(vs[i]);
              inSet.add(i);
            }
          } else {
            for (let i = 0; i < 64; i++) {
              if (i === c.i || i === (c.i + 7) % 64) continue;
              h.remove(vs[i]);
              inSet.delete(i);
            }
          }
          const sorted = [...inSet].map((i) => vs[i]).sort((a, b) => a.clock - b.clock || a.index - b.index);
          expect(h.size).toBe(sorted.length);
          expect(h.peek()).toBe(sorted[0]);
          expect(h.secondClock()).toBe(sorted.length > 1 ? sorted[1].clock : Infinity);
          vs.forEach((v, i) => expect(h.has(v)).toBe(inSet.has(i)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('walks as few levels with 2 of 512 vCPUs runnable as with 2 of 2 (the leaves are the runnable vCPUs)', () => {
    const h = new RunnableHeap<Schedulable>();
    const vs: Schedulable[] = Array.from({ length: 512 }, (_, index) => ({ clock: 100, index, heapPos: -1 }));
    vs.forEach((v) => h.add(v));
    expect(h.peek()).toBe(vs[0]); // all tied: the lowest index
    for (let i = 0; i < 510; i++) h.remove(vs[i]);
    // the leaf position is the tree's width plus the slot: the width follows the 2 runnable, not the 512 created
    expect(Math.max(vs[510].heapPos, vs[511].heapPos)).toBeLessThan(8);
    expect(h.peek()).toBe(vs[510]);
    vs[510].clock = 101;
    h.update(vs[510]);
    expect(h.peek()).toBe(vs[511]);
    expect(h.secondClock()).toBe(101);
  });
});
